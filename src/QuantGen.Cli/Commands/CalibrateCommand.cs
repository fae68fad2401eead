using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using QuantGen.Cli.Calibration;
using QuantGen.Cli.Data;
using QuantGen.Compiler;
using QuantGen.Compiler.Calibration;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Compiler.Ir;

namespace QuantGen.Cli.Commands;

/// <summary>
/// <c>quantgen calibrate MODEL.onnx --data X.npy</c>: runs the samples, a batch at a time read from the .npy files,
/// through the FP32 model in ONNX Runtime (<see cref="OnnxRuntimeCalibration"/>) or, with <c>--engine reference</c>,
/// QuantGen's own float reference (<see cref="Calibrator"/>), and writes the calibration file the build reads
/// (docs/calibration.md). Both engines feed one <see cref="CalibrationAccumulator"/>, so the methods and the file
/// are the same whichever computes the tensors.
/// </summary>
internal static class CalibrateCommand
{
    public const string Help =
        """
        quantgen calibrate: compute the calibration file (the range of every activation) that a
        model's INT8 build reads.

        Usage:
          quantgen calibrate MODEL.onnx --data X.npy [--method minmax|percentile|entropy|mse]
                             [--percentile 99.99] [--samples N] [--batch B] [--scale S]
                             [--engine onnxruntime|reference] [--output PATH] [--dim NAME=SIZE ...]
          quantgen calibrate MODEL.onnx --data NAME=PATH --data NAME=PATH ...   (several inputs)

          MODEL.onnx         The model, the same file the build compiles: the calibration file
                             records its SHA-256, and the build ignores the file once the model changes.
          --data X.npy       Representative inputs (a few hundred): NumPy .npy, first axis = sample,
                             C order; float32 ('<f4') or uint8 ('|u1', with --scale) for float
                             inputs, int64 ('<i8'), int32 or uint8 for integer inputs (token ids,
                             attention masks). Each sample holds as many values as the model's
                             input at batch 1: for a 1x1x28x28 input, shape (N, 1, 28, 28),
                             (N, 28, 28) and (N, 784) all fit.
          --data NAME=PATH   One per input for a model with several inputs; plain paths take the
                             inputs left in model order. Sample k of every file is one model run.
          --method M         mse (default): the range with the least expected squared error
                             (clipping plus rounding).
                             minmax: the smallest and largest value seen.
                             percentile: the range clipped at a percentile of |x| (--percentile).
                             entropy: the range whose 8-bit version loses the least information
                             (KL divergence, after TensorRT's calibrator).
                             percentile, entropy and mse read a 2048-bin histogram per tensor.
          --percentile P     The percentile of |x| kept by --method percentile, in (0, 100].
                             Default 99.99.
          --samples N        Use the first N samples. Default: all of them.
          --batch B          Samples per ONNX Runtime run when the model's batch dimension is free
                             (a fixed batch of 1 runs one at a time). Default 32.
          --engine E         onnxruntime (default): the FP32 model in ONNX Runtime, every calibrated
                             tensor an extra output. reference: QuantGen's own float reference of
                             the optimized graph, one sample at a time (slower; what the library's
                             Calibrator computes, byte for byte).
          --scale S          Required for uint8 data of a float input, refused otherwise: each value
                             is divided by S (--scale 255 maps pixels 0..255 to [0, 1]).
          --dim NAME=SIZE    The size of a named free input dimension, as the attribute's
                             Dimensions give it (--dim sequence=128 for token ids); repeatable.
          --output PATH, -o  Where to write. Default: the model's path with .calib.json instead of
                             .onnx (Models/fashion.onnx -> Models/fashion.calib.json), the file
                             the build looks for next to the model.

        Memory is one batch of inputs and tensors plus fixed-size statistics per tensor, whatever
        the number of samples.
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
        RequireFile(options.Model, "model");
        byte[] model = ReadModel(options.Model);
        var graph = Prepare(model, options.Model, options.Dimensions);
        var inputs = ModelInputs(graph, options.Model);
        using var data = InputFiles.Open(inputs, options.AllData, options.Scale, options.Samples, "calibrate");

        var settings = new CalibratorSettings { Percentile = options.Percentile };
        var accumulator = new CalibrationAccumulator(Calibrator.CalibratedTensors(graph), options.Method, settings);
        var engine = options.Engine;
        CalibrationGraph? ortGraph = null;
        if (engine == CalibrationEngine.OnnxRuntime)
        {
            ortGraph = CalibrationGraph.Create(model, accumulator.TensorNames);
            if (ortGraph.Missing.Count > 0)
            {
                // Only QuantGen's reference computes tensors that exist only in its optimized graph.
                stdout.WriteLine($"note: {ortGraph.Missing.Count} tensor(s) of QuantGen's optimized graph are not in the model ({string.Join(", ", ortGraph.Missing.Take(3))}{(ortGraph.Missing.Count > 3 ? ", ..." : "")}): calibrating with QuantGen's float reference instead of ONNX Runtime");
                engine = CalibrationEngine.Reference;
            }
        }

        string sources = data.Describe();
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"calibrating {options.Model} with {CalibrationNames.Of(options.Method)} on {data.Samples} samples: {sources}"));
        var progress = new ProgressReporter(stdout, terminal, data.Samples, "calibrating", "samples");

        if (engine == CalibrationEngine.OnnxRuntime)
            RunOnnxRuntime(options, ortGraph!, data, accumulator, progress, stdout);
        else
            RunReference(options, graph, data, accumulator, progress);

        var file = accumulator.Finish(ModelHash.Sha256Hex(model), Path.GetFileName(options.Model));
        string output = options.OutputPath;
        OutputFile.Write(output, file.Write());
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {output}: {CalibrationNames.Of(file.Method)}, {file.Samples} samples, {file.Tensors.Count} tensors"));
        return ExitCodes.Success;
    }

    private static string FirstLine(string text)
    {
        int end = text.IndexOf('\n', StringComparison.Ordinal);
        return end < 0 ? text : text.Substring(0, end);
    }

    private static void RunOnnxRuntime(CalibrateOptions options, CalibrationGraph graph, InputFiles data,
        CalibrationAccumulator accumulator, ProgressReporter progress, TextWriter stdout)
    {
        OnnxRuntimeCalibration runtime;
        try
        {
            runtime = new OnnxRuntimeCalibration(graph);
        }
        catch (OnnxRuntimeException e)
        {
            throw new CliException(ExitCodes.ModelError, $"{options.Model}: ONNX Runtime cannot load the model: {e.Message}",
                new[] { "--engine reference calibrates with QuantGen's own float reference instead" });
        }
        using (runtime)
        {
            try
            {
                runtime.Run(data, accumulator, options.Batch, done => progress.Report(done));
                if (runtime.BatchFallback != null)
                    stdout.WriteLine($"note: the model declares a free batch dimension but ONNX Runtime could not run a batch of several samples, so it ran one sample per run ({FirstLine(runtime.BatchFallback)})");
            }
            catch (OnnxRuntimeException e)
            {
                throw new CliException(ExitCodes.ModelError, $"{options.Model}: ONNX Runtime fails on the data: {e.Message}",
                    new[] { "--engine reference calibrates with QuantGen's own float reference instead" });
            }
        }
    }

    /// <summary>QuantGen's own float reference, one sample at a time: for models ONNX Runtime cannot run as they are.</summary>
    private static void RunReference(CalibrateOptions options, Graph graph, InputFiles data,
        CalibrationAccumulator accumulator, ProgressReporter progress)
    {
        var calibrator = new Calibrator(graph, accumulator);
        long i = 0;
        foreach (var sample in data.ReadSamples())
        {
            try
            {
                calibrator.Observe(sample);
            }
            catch (ModelCompileException e)
            {
                throw ModelFailure($"{options.Model}: QuantGen's float reference fails on sample {i + 1}", e.Diagnostics);
            }
            progress.Report(++i);
        }
    }

    internal static void RequireFile(string path, string what)
    {
        if (File.Exists(path)) return;
        throw new CliException(ExitCodes.FileNotFound, Directory.Exists(path)
            ? $"{what} '{path}' is a directory, not a file"
            : $"{what} not found: {path}");
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
    /// <param name="dimensions">--dim entries ("sequence=128"): the attribute's Dimensions.</param>
    internal static Graph Prepare(byte[] model, string path, IReadOnlyList<string> dimensions)
    {
        try
        {
            return ModelCompiler.Prepare(model, path, ExternalData(path), dimensions);
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

    /// <summary>The graph inputs, which must be float, int64 or int32 with known shapes (what .npy files feed).</summary>
    internal static IReadOnlyList<Value> ModelInputs(Graph graph, string path)
    {
        var inputs = graph.Inputs.Select(n => graph[n]).ToList();
        var unsupported = inputs.Where(v => !InputBatch.Supports(v.Type)).ToList();
        if (unsupported.Count > 0)
            throw new CliException(ExitCodes.ModelError,
                $"{path}: .npy files feed float, int64 and int32 inputs; {string.Join(", ", unsupported.Select(v => v.ToString()))} {(unsupported.Count == 1 ? "is" : "are")} not one of them");
        foreach (var input in inputs)
        {
            if (input.Shape == null || input.Shape.Any(d => d <= 0))
                throw new CliException(ExitCodes.ModelError, $"{path}: the shape of input '{input.Name}' is not known after shape inference");
        }
        return inputs;
    }
}
