using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Text;
using System.Threading;

namespace QuantGen.Package.Tests;

/// <summary>The output and exit code of one command.</summary>
public sealed record CommandResult(string Command, int ExitCode, string Output)
{
    /// <summary>For assertion messages: the command and what it printed.</summary>
    public override string ToString() => $"$ {Command}\n(exit code {ExitCode})\n{Output}";
}

/// <summary>Runs the dotnet CLI (or any program) and captures what it prints.</summary>
public static class DotNet
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(10);

    public static CommandResult Run(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] arguments) =>
        Exec("dotnet", workingDirectory, environment, arguments);

    public static CommandResult Exec(string program, string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);

        // The test host runs under `dotnet test`, whose MSBuild settings must not leak into the child builds.
        foreach (string name in new List<string>(KeysOf(start.Environment)))
        {
            if (name.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || name.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
                start.Environment.Remove(name);
        }
        // No build nodes or build server left behind holding the redirected output open.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        if (environment != null)
        {
            foreach (var pair in environment) start.Environment[pair.Key] = pair.Value;
        }

        var output = new StringBuilder();
        var outputClosed = new ManualResetEventSlim(); // not disposed: a late handler may still set it
        var errorClosed = new ManualResetEventSlim();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(output, e.Data, outputClosed);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data, errorClosed);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        string command = program + " " + string.Join(" ", arguments);
        // WaitForExit(timeout) returns when the process ends; the output is then read to its end, but only
        // for a while, in case something the command started (a build server) still holds the pipe open.
        if (!process.WaitForExit((int)DefaultTimeout.TotalMilliseconds))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{command}' did not finish in {DefaultTimeout}.\n{output}");
        }
        outputClosed.Wait(TimeSpan.FromSeconds(30));
        errorClosed.Wait(TimeSpan.FromSeconds(30));
        lock (output) return new CommandResult(command, process.ExitCode, output.ToString());
    }

    private static void Append(StringBuilder output, string? line, ManualResetEventSlim closed)
    {
        if (line == null)
        {
            closed.Set();
            return;
        }
        lock (output) output.AppendLine(line);
    }

    private static IEnumerable<string> KeysOf(IDictionary<string, string?> environment)
    {
        foreach (var pair in environment) yield return pair.Key;
    }
}
