using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using QuantGen.Cli.Npy;
using QuantGen.Compiler;
using QuantGen.Compiler.Calibration;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Compiler.Ir;

namespace QuantGen.Cli.Commands;

/// <summary>
/// <c>quantgen calibrate MODEL.onnx --data X.npy</c>: runs the samples through the compiler's in-process
/// <see cref="Calibrator"/> (QuantGen's float reference on the optimized graph, one sample at a time, read one at
/// a time from the .npy file) and writes the calibration file the build reads (docs/calibration.md).
/// </summary>
internal static class CalibrateCommand
{
    public const string Help =
        """
        quantgen calibrate: compute the calibration file (the range of every activation) that a
        model's INT8 build reads.

        Usage:
          quantgen calibrate MODEL.onnx --data X.npy [--method minmax|percentile]
                             [--percentile 99.99] [--samples N] [--scale S] [--output PATH]

          MODEL.onnx         The model, the same file the build compiles: the calibration file
                             records its SHA-256, and the build ignores the file once the model changes.
          --data X.npy       Representative inputs (a few hundred): NumPy .npy, first axis = sample,
                             C order, float32 ('<f4') or uint8 ('|u1', with --scale). Each sample
                             holds as many values as the model's input at batch 1: for a 1x1x28x28
                             input, shape (N, 1, 28, 28), (N, 28, 28) and (N, 784) all fit.
          --method M         minmax (default): the smallest and largest value seen.
                             percentile: the range clipped at a percentile of |x| (--percentile).
                             entropy and mse are not available yet (exit code 6).
          --percentile P     The percentile of |x| kept by --method percentile, in (0, 100].
                             Default 99.99.
          --samples N        Use the first N samples. Default: all of them.
          --scale S          Required for uint8 data, refused for float32: each value is divided
                             by S (--scale 255 maps pixels 0..255 to [0, 1]).
          --output PATH, -o  Where to write. Default: the model's path with .calib.json instead of
                             .onnx (Models/fashion.onnx -> Models/fashion.calib.json), the file
                             the build looks for next to the model.

        Calibration runs in this process on QuantGen's own float reference of the optimized graph,
        one sample at a time, for models with one float input. ONNX Runtime-based calibration
        (faster on large models), the entropy and mse methods and models with several inputs come
        in a later release.
        """;

    public static int Run(IReadOnlyList<string> args, TextWriter stdout, bool terminal)
    {
        if (CalibrateOptions.AsksForHelp(args))
        {
            stdout.WriteLine(Help);
            stdout.WriteLine();
            stdout.WriteLine(ExitCodes.Table);
            return ExitCodes.Success;
        }

        var options = CalibrateOptions.Parse(args);
        if (options.Method is not (CalibrationMethod.MinMax or CalibrationMethod.Percentile))
            throw new CliException(ExitCodes.UnsupportedMethod,
                $"the calibration method '{CalibrationNames.Of(options.Method)}' is not available yet: this version calibrates with minmax or percentile; entropy and mse come in a later release");

        RequireFile(options.Model, "model");
        RequireFile(options.Data, "data file");

        using var reader = OpenData(options);
        var header = reader.Header;
        if (header.Type == NpyDataType.UInt8 && options.Scale == null)
            throw CliException.Usage($"{options.Data} holds uint8 data: pass --scale S to turn it into floats (value / S), e.g. --scale 255 for pixels in [0, 1]", "quantgen calibrate --help");
        if (header.Type == NpyDataType.Float32 && options.Scale != null)
            throw CliException.Usage($"--scale applies to uint8 data; {options.Data} holds float32, which is used as it is", "quantgen calibrate --help");

        byte[] model = ReadModel(options.Model);
        var graph = Prepare(model, options.Model);
        var input = SingleFloatInput(graph, options.Model);
        long samples = CheckSamples(options, header, input);

        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"calibrating {options.Model} (input '{input.Name}' {Shapes.Format(input.Shape!)}) with {CalibrationNames.Of(options.Method)} on {samples} samples of {options.Data} ({header.DescribeType()} {header.FormatShape()})"));

        var settings = new CalibratorSettings { Percentile = options.Percentile };
        var calibrator = new Calibrator(graph, options.Method, settings);
        var progress = new ProgressReporter(stdout, terminal, samples, "calibrating", "samples");
        var sample = new float[input.Length];
        for (long i = 0; i < samples; i++)
        {
            try
            {
                if (!reader.ReadSample(sample))
                    throw new NpyFormatException($"the file ends after {i} samples");
            }
            catch (NpyFormatException e)
            {
                throw new CliException(ExitCodes.BadData, $"{options.Data}: {e.Message}");
            }
            catch (IOException e)
            {
                throw new CliException(ExitCodes.FileNotFound, $"{options.Data}: cannot read the data file: {e.Message}");
            }
            try
            {
                calibrator.Observe(sample);
            }
            catch (ModelCompileException e)
            {
                throw ModelFailure($"{options.Model}: QuantGen's float reference fails on sample {i + 1}", e.Diagnostics);
            }
            progress.Report(i + 1);
        }

        var file = calibrator.Finish(ModelHash.Sha256Hex(model), Path.GetFileName(options.Model));
        string output = options.OutputPath;
        OutputFile.Write(output, file.Write());
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {output}: {CalibrationNames.Of(file.Method)}, {file.Samples} samples, {file.Tensors.Count} tensors"));
        return ExitCodes.Success;
    }

    internal static void RequireFile(string path, string what)
    {
        if (File.Exists(path)) return;
        throw new CliException(ExitCodes.FileNotFound, Directory.Exists(path)
            ? $"{what} '{path}' is a directory, not a file"
            : $"{what} not found: {path}");
    }

    private static NpyReader OpenData(CalibrateOptions options)
    {
        try
        {
            return NpyReader.Open(options.Data, options.Scale ?? 1f);
        }
        catch (NpyFormatException e)
        {
            throw new CliException(ExitCodes.BadData, $"{options.Data}: {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.FileNotFound, $"cannot read the data file {options.Data}: {e.Message}");
        }
    }

    internal static byte[] ReadModel(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.FileNotFound, $"cannot read the model {path}: {e.Message}");
        }
    }

    /// <summary>The optimized graph, as the build sees it; a model that does not load gives its QG diagnostics.</summary>
    private static Graph Prepare(byte[] model, string path)
    {
        try
        {
            return ModelCompiler.Prepare(model, path, ExternalData(path));
        }
        catch (ModelCompileException e)
        {
            throw ModelFailure($"{path}: QuantGen cannot compile this model", e.Diagnostics);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The compiler turns these into QG diagnostics in the build; here the message is enough.
            throw new CliException(ExitCodes.ModelError, $"{path}: the model does not load: {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>Tensors stored beside the model (ONNX external data), read from the model's folder.</summary>
    internal static Func<string, byte[]?> ExternalData(string modelPath)
    {
        string folder = Path.GetDirectoryName(Path.GetFullPath(modelPath)) ?? ".";
        return location =>
        {
            string path = Path.Combine(folder, location);
            return File.Exists(path) ? File.ReadAllBytes(path) : null;
        };
    }

    /// <summary>Exit code 5 with the model's QG diagnostics, one per line under the message.</summary>
    internal static CliException ModelFailure(string message, IReadOnlyList<ModelDiagnostic> diagnostics)
    {
        int errors = diagnostics.Count(d => d.Severity == ModelDiagnosticSeverity.Error);
        return new CliException(ExitCodes.ModelError,
            $"{message} ({(errors == 1 ? "1 error" : errors + " errors")}):",
            diagnostics.Select(d => d.ToString()).ToList());
    }

    private static Value SingleFloatInput(Graph graph, string path)
    {
        if (graph.Inputs.Count != 1 || graph[graph.Inputs[0]].Type != DataType.Float)
            throw new CliException(ExitCodes.ModelError,
                $"{path}: calibrate feeds one float input from one .npy file; this model has {graph.Inputs.Count} inputs ({string.Join(", ", graph.Inputs.Select(n => graph[n].ToString()))}); several inputs come in a later release");
        var input = graph[graph.Inputs[0]];
        if (input.Shape == null || input.Shape.Any(d => d <= 0))
            throw new CliException(ExitCodes.ModelError, $"{path}: the shape of input '{input.Name}' is not known after shape inference");
        return input;
    }

    /// <summary>The number of samples to run, once the .npy's sample size is known to match the model's input.</summary>
    private static long CheckSamples(CalibrateOptions options, NpyHeader header, Value input)
    {
        string expected = "(N, " + string.Join(", ", input.Shape!.Skip(input.Shape!.Length > 1 && input.Shape[0] == 1 ? 1 : 0)) + ")";
        if (header.SampleLength != input.Length)
            throw new CliException(ExitCodes.BadData, string.Create(CultureInfo.InvariantCulture,
                $"{options.Data}: each sample of {header.FormatShape()} holds {header.SampleLength} values, but the model's input '{input.Name}' ({Shapes.Format(input.Shape!)}) needs {input.Length}: save the array with shape {expected}, first axis = sample"));
        if (header.SampleCount == 0)
            throw new CliException(ExitCodes.BadData, $"{options.Data}: the array {header.FormatShape()} holds no samples");
        if (options.Samples is long wanted && wanted > header.SampleCount)
            throw new CliException(ExitCodes.BadData, string.Create(CultureInfo.InvariantCulture,
                $"--samples {wanted}, but {options.Data} holds only {header.SampleCount} samples"));
        return options.Samples ?? header.SampleCount;
    }
}
