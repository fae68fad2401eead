using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using QuantGen.Compiler;
using QuantGen.Compiler.Calibration;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Compiler.Export;

namespace QuantGen.Cli.Commands;

/// <summary>
/// <c>quantgen export MODEL.onnx --calibration PATH</c>: writes the INT8 model the build compiles as a QDQ ONNX model
/// (docs/export.md), through the compiler's <see cref="QdqExporter"/>, so ONNX Runtime or any QDQ-aware tool runs
/// QuantGen's own scales, zero points and int8 weights. This file only reads the arguments and files and maps
/// failures to exit codes.
/// </summary>
internal static class ExportCommand
{
    public const string Help =
        """
        quantgen export: write the INT8 model QuantGen builds as a QDQ ONNX model
        (QuantizeLinear/DequantizeLinear around float ops, opset 13 or later), which ONNX Runtime
        runs with its own INT8 kernels.

        Usage:
          quantgen export MODEL.onnx [--calibration PATH] [--output PATH] [--keep-float N1,N2]
                                     [--dim NAME=SIZE ...]

          MODEL.onnx          The model, the same file the build compiles.
          --calibration PATH, -c
                              The calibration file the build reads. Default: the model's path with
                              .calib.json instead of .onnx. It must be for this model (its SHA-256
                              is checked, exit code 7). A model with its own QuantizeLinear/
                              DequantizeLinear needs none.
          --output PATH, -o   Where to write. Default: the model's path with .int8.onnx instead of
                              .onnx (Models/fashion.onnx -> Models/fashion.int8.onnx).
          --keep-float N1,N2  Node names to keep in float, as the attribute's KeepFloat lists them.
          --dim NAME=SIZE     The size of a named free input dimension, as the attribute's
                              Dimensions give it (--dim sequence=128); repeatable. The exported
                              graph has that size.

        The file carries exactly what the generated code uses: the uint8 scale and zero point of every
        activation QuantGen quantizes, the per-channel int8 weights (int8 initializers behind a
        DequantizeLinear on axis 0), and int32 biases at scale s_x * s_w. Nodes QuantGen keeps in
        float stay float. The graph is QuantGen's optimized one (BatchNormalization folded into Conv,
        activations after their Conv), with shapes at batch 1.
        """;

    public static int Run(IReadOnlyList<string> args, TextWriter stdout)
    {
        if (CalibrateOptions.AsksForHelp(args))
        {
            stdout.WriteLine(Help);
            stdout.WriteLine();
            stdout.WriteLine(ExitCodes.Table);
            return ExitCodes.Success;
        }

        var options = ExportOptions.Parse(args);
        CalibrateCommand.RequireFile(options.Model, "model");
        string calibrationPath = options.Calibration ?? CalibrationFile.DefaultPathFor(options.Model);
        if (options.Calibration != null)
            CalibrateCommand.RequireFile(options.Calibration, "calibration file");
        string? calibrationJson = File.Exists(calibrationPath) ? ReadText(calibrationPath) : null;

        byte[] model = CalibrateCommand.ReadModel(options.Model);
        var compilerOptions = new CompilerOptions
        {
            ModelPath = options.Model,
            CalibrationJson = calibrationJson,
            CalibrationPath = calibrationPath,
            KeepFloat = options.KeepFloat,
            Dimensions = options.Dimensions,
        };
        var export = Export(model, compilerOptions, options.Model);

        string output = options.OutputPath;
        OutputFile.Write(output, export.Model);

        var report = export.Report;
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {output}: QDQ, opset {export.Opset}, {export.Model.Length:N0} bytes; {report.Weights.Count} layers with int8 weights, {report.Uint8Params.Count} uint8 tensors, {report.FloatNodes.Count} nodes kept in float"));
        stdout.WriteLine("activations: " + export.Description);
        foreach (var f in report.FloatNodes)
            stdout.WriteLine($"  float: {f.Node} ({f.OpType}: {f.Reason})");
        foreach (var d in export.Diagnostics.Where(d => d.Id != DiagnosticCatalog.FloatNodes.Id))
            stdout.WriteLine("  " + d);
        return ExitCodes.Success;
    }

    private static string ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.FileNotFound, $"cannot read the calibration file {path}: {e.Message}");
        }
    }

    private static QdqExport Export(byte[] model, CompilerOptions options, string path)
    {
        try
        {
            return QdqExporter.Export(model, options, CalibrateCommand.ExternalData(path));
        }
        catch (ModelCompileException e)
        {
            var ids = e.Diagnostics.Select(d => d.Id).ToHashSet();
            if (ids.Contains(DiagnosticCatalog.CalibrationForAnotherModel.Id))
                throw new CliException(ExitCodes.BadCalibration,
                    $"{options.CalibrationPath} was computed for another model (its SHA-256 differs from {path}'s): recalibrate with quantgen calibrate {path} --data X.npy");
            if (ids.Contains(DiagnosticCatalog.UnreadableCalibration.Id))
                throw new CliException(ExitCodes.BadCalibration, $"{options.CalibrationPath} is not a usable calibration file:", e.Diagnostics.Select(d => d.ToString()).ToList());
            if (ids.Contains(DiagnosticCatalog.NoCalibration.Id))
                throw new CliException(ExitCodes.FileNotFound,
                    $"no calibration file for {path} (looked for {options.CalibrationPath}): a QDQ model needs fixed scales; compute them with quantgen calibrate {path} --data X.npy, or pass --calibration PATH");
            throw CalibrateCommand.ModelFailure($"{path}: QuantGen cannot compile this model", e.Diagnostics);
        }
        catch (Exception e) when (e is not OutOfMemoryException and not CliException)
        {
            // The compiler reports these as QG diagnostics in the build; here the message is enough.
            throw new CliException(ExitCodes.ModelError, $"{path}: the model does not load or export: {e.GetType().Name}: {e.Message}");
        }
    }
}
