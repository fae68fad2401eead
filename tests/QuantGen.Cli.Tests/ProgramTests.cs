using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Xunit;

namespace QuantGen.Cli.Tests;

public class ProgramTests
{
    [Fact]
    public void Version_is_the_package_version()
    {
        var result = CliResult.Run("--version");
        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?\n$", result.Out);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public void Help_shows_the_commands_and_the_exit_codes(string option)
    {
        var result = CliResult.Run(option);
        Assert.Equal(0, result.ExitCode);
        foreach (string text in new[] { "quantgen calibrate MODEL.onnx --data X.npy", "quantgen inspect MODEL.onnx [--calibration PATH]", "quantgen --version", "runs the FP32 model in ONNX Runtime", "quantgen evaluate MODEL.onnx", "Exit codes:", "2  usage error", "5  the model does not load" })
            Assert.Contains(text, result.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new string[0], "no command")]
    [InlineData(new[] { "calibrat" }, "unknown command or option 'calibrat'")]
    [InlineData(new[] { "--version", "x" }, "unknown command or option '--version'")]
    public void Unknown_commands_are_usage_errors(string[] args, string said)
    {
        var result = CliResult.Run(args);
        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Equal("", result.Out);
        Assert.StartsWith("quantgen: " + said, result.Error, StringComparison.Ordinal);
        Assert.EndsWith("Run 'quantgen --help' for usage.\n", result.Error, StringComparison.Ordinal);
    }

    /// <summary>The built tool as a process: exit codes reach the shell, stdout is redirected so progress is plain lines.</summary>
    [Fact]
    public void The_built_tool_calibrates_and_returns_its_exit_codes()
    {
        using var folder = new TempFolder();
        string model = folder.CopyModel();
        string data = folder.Write("calib.npy", NpyWriter.UInt8(new long[] { 4, 1, 28, 28 }, Samples.Pixels(4)));

        var ok = Quantgen("calibrate", model, "--data", data, "--scale", "255");
        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.Contains("wrote " + Path.Combine(folder.Path, "fashion_cnn.calib.json") + ": mse, 4 samples, ", ok.Out, StringComparison.Ordinal);
        Assert.True(File.Exists(folder.File("fashion_cnn.calib.json")));

        var missing = Quantgen("calibrate", folder.File("missing.onnx"), "--data", data);
        Assert.True(missing.ExitCode == ExitCodes.FileNotFound, missing.ToString());
        Assert.Equal("", missing.Out);
        Assert.Single(missing.Error.TrimEnd('\n').Split('\n'));
    }

    private static CliResult Quantgen(params string[] args)
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "quantgen.dll"));
        foreach (string arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return new CliResult(process.ExitCode, stdout.Replace("\r\n", "\n", StringComparison.Ordinal), stderr.Result.Replace("\r\n", "\n", StringComparison.Ordinal));
    }
}
