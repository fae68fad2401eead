using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using QuantGen.Cli.Commands;

namespace QuantGen.Cli;

/// <summary>Entry point of the <c>quantgen</c> tool: picks the command; each command lives in its own file under Commands/.</summary>
public static class Program
{
    private const string Usage =
        """
        quantgen: tools for QuantGen, which compiles ONNX models into C# at build time.

        Usage:
          quantgen calibrate MODEL.onnx --data X.npy [--method minmax|percentile|entropy|mse]
                             [--percentile 99.99] [--samples N] [--batch B] [--scale S]
                             [--engine onnxruntime|reference] [--output PATH]
                                Compute the calibration file an INT8 build reads
                                (MODEL.calib.json by default).
          quantgen calibrate --help
                                The options of calibrate.
          quantgen evaluate MODEL.onnx --data X.npy [--labels Y.npy] [--calibration PATH]
                            [--keep-float NODE,...] [--budget POINTS] [--plot PATH.svg]
                                FP32 (ONNX Runtime) against INT8 (as the build compiles it):
                                top-1, agreement, output and per-layer SQNR; --budget finds
                                the fewest KeepFloat nodes that keep the top-1 drop within it.
          quantgen evaluate --help
                                The options of evaluate.
          quantgen inspect MODEL.onnx [--calibration PATH]
                                What QuantGen makes of a model: inputs, outputs, operators,
                                support, parameters, weight bytes (FP32 and INT8), MACs per
                                layer, workspace, and the nodes INT8 keeps in float.
          quantgen inspect --help
                                The options of inspect.
          quantgen export MODEL.onnx [--calibration PATH] [--output PATH] [--keep-float N1,N2]
                                Write the INT8 model QuantGen builds as a QDQ ONNX model
                                (MODEL.int8.onnx by default) with QuantGen's own scales,
                                zero points and int8 weights, for ONNX Runtime.
          quantgen export --help
                                The options of export.
          quantgen --version    Print the version.
          quantgen --help       Print this help.

        calibrate runs the FP32 model in ONNX Runtime, in batches; evaluate compares it with
        INT8 as the build compiles it. To compile a model, add the
        QuantGen package to your project: the compilation itself happens in the build.
        """;

    public static int Main(string[] args) =>
        Run(args, Console.Out, Console.Error, terminal: !Console.IsOutputRedirected);

    /// <summary>Runs the tool with the given writers; what <see cref="Main"/> does, and what tests call.</summary>
    /// <param name="terminal">Whether stdout is a terminal (progress is then one line updated in place).</param>
    /// <returns>The exit code (see --help).</returns>
    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, bool terminal = false)
    {
        try
        {
            if (args.Count == 0)
                throw CliException.Usage("no command: try quantgen calibrate MODEL.onnx --data X.npy");
            switch (args[0])
            {
                case "--version" when args.Count == 1:
                    stdout.WriteLine(Version);
                    return ExitCodes.Success;
                case "--help" or "-h" or "-?" when args.Count == 1:
                    stdout.WriteLine(Usage);
                    stdout.WriteLine();
                    stdout.WriteLine(ExitCodes.Table);
                    return ExitCodes.Success;
                case "calibrate":
                    return CalibrateCommand.Run(args.Skip(1).ToArray(), stdout, terminal);
                case "inspect":
                    return InspectCommand.Run(args.Skip(1).ToArray(), stdout);
                case "export":
                    return ExportCommand.Run(args.Skip(1).ToArray(), stdout);
                case "evaluate":
                    return EvaluateCommand.Run(args.Skip(1).ToArray(), stdout, terminal);
                default:
                    throw CliException.Usage($"unknown command or option '{args[0]}'");
            }
        }
        catch (CliException e)
        {
            stderr.WriteLine("quantgen: " + e.Message);
            foreach (string line in e.Details)
                stderr.WriteLine("  " + line);
            if (e.HelpHint != null)
                stderr.WriteLine($"Run '{e.HelpHint}' for usage.");
            return e.ExitCode;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            stderr.WriteLine("quantgen: unexpected error, please report it with the command line: " + e);
            return ExitCodes.Unexpected;
        }
    }

    /// <summary>The package version, without the source-revision suffix ("0.1.0", not "0.1.0+3f2a...").</summary>
    private static string Version
    {
        get
        {
            string? informational = typeof(Program).Assembly
                .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
            if (string.IsNullOrEmpty(informational))
                return typeof(Program).Assembly.GetName().Version?.ToString(3) ?? "unknown";
            int plus = informational.IndexOf('+', StringComparison.Ordinal);
            return plus < 0 ? informational : informational[..plus];
        }
    }
}
