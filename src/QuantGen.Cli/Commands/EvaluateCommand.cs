using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using QuantGen.Cli.Evaluation;
using QuantGen.Cli.Data;
using QuantGen.Cli.Npy;
using QuantGen.Compiler;
using QuantGen.Compiler.Calibration;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Execution;
using QuantGen.Compiler.Ir;

namespace QuantGen.Cli.Commands;

/// <summary>
/// <c>quantgen evaluate MODEL.onnx --data X.npy [--labels Y.npy]</c>: FP32 in ONNX Runtime against INT8 as the build
/// compiles it (the compiler's reference executor on the quantized graph, bit-exact with the generated code): top-1 of
/// both, their agreement, output SQNR and per-layer SQNR, streamed one sample at a time; optionally a plot and a
/// search for the fewest KeepFloat nodes that keep the top-1 drop within a budget.
/// </summary>
internal static partial class EvaluateCommand
{
    public const string Help =
        """
        quantgen evaluate: how much accuracy INT8 costs, and where.

        Usage:
          quantgen evaluate MODEL.onnx --data X.npy [--labels Y.npy] [--calibration PATH]
                            [--keep-float NODE,...] [--budget POINTS] [--samples N] [--scale S]
                            [--plot PATH.svg|PATH.png] [--dim NAME=SIZE ...]
          quantgen evaluate MODEL.onnx --data NAME=PATH --data NAME=PATH ...   (several inputs)

          MODEL.onnx         The model. FP32 runs it in ONNX Runtime; INT8 runs the graph the build
                             generates code for, on QuantGen's reference executor (bit-exact with
                             the generated Predict).
          --data X.npy       Test inputs: NumPy .npy, first axis = sample, as for calibrate: float32
                             or uint8 (with --scale) for float inputs, int64/int32/uint8 for
                             integer inputs (token ids); --data NAME=PATH per input for several.
          --labels Y.npy     Class indices, one per sample: int64, int32 or uint8, shape (N,) or
                             (N, 1). Without labels, INT8 is compared with FP32 only (agreement).
                             Top-1 is taken over the first output's last axis; an output with
                             several rows per sample (a language model's [1, T, V] logits) is
                             compared row by row, without labels.
          --calibration P    The calibration file. Default: the model's path with .calib.json, as
                             the build; without one, evaluates dynamic INT8, as the build does.
          --keep-float N,... Nodes to keep in float, as the attribute's KeepFloat (ONNX node names;
                             quantgen inspect lists them).
          --budget POINTS    Find the fewest KeepFloat nodes that bring the top-1 drop (with labels;
                             else the top-1 disagreement with FP32) within POINTS, e.g. 0.5, and
                             print the attribute to paste.
          --samples N        Use the first N samples. Default: all of them.
          --scale S          Required for uint8 data of a float input, refused otherwise: each value
                             is divided by S.
          --plot PATH        Draw per-layer SQNR to PATH (.svg or .png).
          --dim NAME=SIZE    The size of a named free input dimension, as the attribute's
                             Dimensions give it (--dim sequence=128); repeatable.

        SQNR = 10 log10(sum x^2 / sum (x - x_int8)^2) over all samples, x the FP32 value and x_int8
        the INT8 value dequantized; per layer against QuantGen's float reference (which matches
        ONNX Runtime to 1e-4), the output against ONNX Runtime.
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

        var options = EvaluateOptions.Parse(args);
        CalibrateCommand.RequireFile(options.Model, "model");
        if (options.Labels != null) CalibrateCommand.RequireFile(options.Labels, "labels file");
        if (options.Calibration != null) CalibrateCommand.RequireFile(options.Calibration, "calibration file");

        byte[] model = CalibrateCommand.ReadModel(options.Model);
        var externalData = CalibrateCommand.ExternalData(options.Model);
        var floatGraph = CalibrateCommand.Prepare(model, options.Model, options.Dimensions);
        var inputs = CalibrateCommand.ModelInputs(floatGraph, options.Model);
        var scores = ScoredOutput(floatGraph, options.Model);
        long samples, available;
        string sources;
        using (var files = OpenInputs(options, inputs))
        {
            (samples, available) = (files.Samples, files.Available);
            sources = files.Describe();
        }
        int classes = scores.Shape![^1], rowsPerSample = scores.Length / classes;
        int[]? labels = options.Labels == null ? null : ReadLabels(options.Labels, available, rowsPerSample, scores);
        string? calibration = ReadCalibration(options, model);
        CheckKeepFloat(options.KeepFloat, floatGraph);

        var int8 = BuildInt8(model, options, externalData, calibration, options.KeepFloat);
        if (labels != null && labels.Take((int)samples).Select((label, index) => (label, index)).FirstOrDefault(l => l.label >= classes) is { label: > 0 } outOfRange)
            throw new CliException(ExitCodes.BadData, string.Create(CultureInfo.InvariantCulture,
                $"{options.Labels}: label {outOfRange.index + 1} is {outOfRange.label}, but the model's first output '{floatGraph.Outputs[0]}' scores {classes} classes (0 to {classes - 1})"));

        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"evaluating {options.Model} on {samples} samples: {sources}{(options.Labels != null ? "; labels " + options.Labels : "; no labels: INT8 against FP32 only")}"));
        if (rowsPerSample > 1)
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"top-1 per row: the first output '{scores.Name}' {Shapes.Format(scores.Shape!)} holds {rowsPerSample} rows of {classes} scores per sample (a language model's positions)"));
        stdout.WriteLine("FP32: ONNX Runtime " + OrtEnv.Instance().GetVersionString() + "; INT8: " + int8.Description
            + (int8.IsDynamic ? $"; as the build without {options.CalibrationPath} (QG0021): quantgen calibrate writes it, for static INT8" : ""));
        if (options.KeepFloat.Count > 0)
            stdout.WriteLine("kept in float: " + string.Join(", ", options.KeepFloat));

        // The tensors measured per layer: each one INT8 holds in uint8, and each output of an integer kernel (with dynamic
        // INT8 those return float), by the names they have in the float graph.
        var producers = new Dictionary<string, Node>(StringComparer.Ordinal);
        foreach (var node in floatGraph.Nodes)
            foreach (var o in node.Outputs)
                if (o.Length > 0) producers[o] = node;
        var quantizedNodes = new HashSet<string>(int8.Report.QuantizedNodes, StringComparer.Ordinal);
        var tracked = int8.Report.QuantizedTensors.Keys
            .Concat(floatGraph.Nodes.Where(n => quantizedNodes.Contains(n.Name)).SelectMany(n => n.Outputs))
            .Where(n => floatGraph.Find(n) is { Type: DataType.Float } v && !v.IsConstant)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        var layers = tracked.ToDictionary(t => t, _ => new SqnrAccumulator(), StringComparer.Ordinal);

        // FP32 values of intermediate tensors come from ONNX Runtime itself, asked to output them; if it refuses the edited
        // model, from QuantGen's float reference (equal to ONNX Runtime to 1e-4, and slower).
        var intermediates = tracked.Where(t => !floatGraph.Outputs.Contains(t) && !floatGraph.Inputs.Contains(t)).ToList();
        using var ort = LoadOnnxRuntime(model, options.Model, inputs, floatGraph.Outputs, intermediates, out string? fallback);
        if (fallback != null)
            stdout.WriteLine($"per-layer FP32 values from QuantGen's float reference: ONNX Runtime does not load the model with its intermediate tensors as outputs ({fallback})");
        var output = new SqnrAccumulator();

        // A graph input's FP32 value is the sample itself.
        var inputIndices = inputs.Select((v, i) => (v.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);

        // Top-1 per row of the first output: one row per sample for a classifier, one per position for a language model.
        long rows = samples * rowsPerSample;
        var fp32Top1 = new int[rows];
        var int8Top1 = new int[rowsPerSample];
        long fp32Correct = 0, int8Correct = 0, agree = 0;
        var progress = new ProgressReporter(stdout, terminal, samples, "evaluating", "samples");
        long i = 0;
        foreach (var sample in ReadSamples(options, inputs))
        {
            float[] reference = RunOnnxRuntime(ort, sample, options.Model, i);
            var floatValues = fallback == null ? null : ReferenceExecutor.Run(floatGraph, sample);
            var int8Values = RunInt8(int8, sample, options.Model, i);
            float[] quantized = int8.Outputs(int8Values);
            if (quantized.Length != reference.Length)
                throw new CliException(ExitCodes.ModelError, $"{options.Model}: ONNX Runtime returns {reference.Length} output values, QuantGen {quantized.Length}");
            output.Add(reference, quantized);
            foreach (var (name, accumulator) in layers)
            {
                float[]? f = floatValues != null ? floatValues[name].Floats
                    : ort.Values.TryGetValue(name, out var v) ? v
                    : inputIndices.TryGetValue(name, out int inputIndex) ? sample[inputIndex].Floats : null;
                if (f != null && int8.ValueOf(int8Values, name) is { } q && f.Length == q.Length)
                    accumulator.Add(f, q);
            }

            var fp32Rows = fp32Top1.AsSpan((int)(i * rowsPerSample), rowsPerSample);
            Top1.ArgMaxRows(reference, classes, fp32Rows);
            Top1.ArgMaxRows(quantized, classes, int8Top1);
            for (int r = 0; r < rowsPerSample; r++)
            {
                if (fp32Rows[r] == int8Top1[r]) agree++;
                if (labels != null)
                {
                    if (fp32Rows[r] == labels[i]) fp32Correct++;
                    if (int8Top1[r] == labels[i]) int8Correct++;
                }
            }
            i++;
            progress.Report(i);
        }

        var floatNodes = new HashSet<string>(int8.Report.FloatNodes.Select(f => f.Node), StringComparer.Ordinal);
        var folded = new HashSet<string>(int8.Report.FoldedQdqNodes, StringComparer.Ordinal);
        var layerRows = tracked.Select(t => Row(t, layers, floatGraph, int8.Graph, producers, quantizedNodes, floatNodes, folded, int8.IsDynamic))
            .OrderBy(r => r.Sqnr).ThenBy(r => r.Tensor, StringComparer.Ordinal).ToList();
        double drop = labels != null ? Top1.Percent(fp32Correct - int8Correct, rows) : 100 - Top1.Percent(agree, rows);
        WriteSummary(stdout, rows, labels != null, fp32Correct, int8Correct, agree, output, drop);
        WriteLayers(stdout, layerRows, int8.Report.FloatNodes);

        if (options.Plot != null)
        {
            try
            {
                SqnrPlot.Write(options.Plot, $"{Path.GetFileName(options.Model)}: per-layer SQNR over {samples} samples", layerRows);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CliException(ExitCodes.Unexpected, $"cannot write {options.Plot}: {e.Message}");
            }
            catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or BadImageFormatException)
            {
                // The tool carries SkiaSharp's native library only for the platforms ONNX Runtime runs on (QuantGen.Cli.csproj).
                throw new CliException(ExitCodes.Unexpected, $"cannot draw {options.Plot}: SkiaSharp's native library does not load on this platform ({e.GetType().Name}: {e.Message}); the report above is complete without the plot");
            }
            stdout.WriteLine($"wrote {options.Plot}");
        }

        if (options.Budget is double budget)
            Search(stdout, terminal, options, inputs, model, externalData, calibration, layerRows, labels, fp32Top1, samples, classes, budget, drop);
        return ExitCodes.Success;
    }

    private static LayerError Row(string tensor, Dictionary<string, SqnrAccumulator> layers, Graph floatGraph, Graph int8Graph, Dictionary<string, Node> producers,
        HashSet<string> quantizedNodes, HashSet<string> floatNodes, HashSet<string> foldedQdq, bool dynamic)
    {
        var errors = layers[tensor];
        if (!producers.TryGetValue(tensor, out var node))
            return new LayerError(tensor, null, "input", "graph input, quantized", false, errors.Sqnr, errors.Elements);
        // MaxPool and views carry their input's uint8 values and grid: not integer kernels, but not float either.
        // Views are not in the report's float list, so ask the INT8 graph what the node reads.
        var int8Node = int8Graph.Nodes.FirstOrDefault(n => n.Name == node.Name);
        bool readsUInt8 = int8Node is { Inputs.Count: > 0 } && int8Graph.Find(int8Node.Inputs[0]) is { Type: DataType.UInt8 };
        string how = quantizedNodes.Contains(node.Name) ? "integer kernel"
            : foldedQdq.Contains(node.Name) ? "the model's QuantizeLinear/DequantizeLinear, folded"
            : dynamic ? "float, quantized on each call"
            : readsUInt8 && !floatNodes.Contains(node.Name) ? "passes uint8 through"
            : "float, quantized after";
        // The worst measured runtime input: the error the node inherits (weights are constants, quantized per channel inside it).
        double? input = node.Inputs
            .Where(n => n.Length > 0 && floatGraph.Find(n) is { IsConstant: false } && layers.ContainsKey(n))
            .Select(n => (double?)layers[n].Sqnr)
            .Min();
        return new LayerError(tensor, node.Name, node.OpType, how, quantizedNodes.Contains(node.Name), errors.Sqnr, errors.Elements, input);
    }

    private static void WriteSummary(TextWriter stdout, long samples, bool labelled, long fp32Correct, long int8Correct, long agree, SqnrAccumulator output, double drop)
    {
        var c = CultureInfo.InvariantCulture;
        stdout.WriteLine();
        if (labelled)
        {
            stdout.WriteLine(string.Format(c, "top-1 FP32 (ONNX Runtime)  {0,7:0.00}%  ({1}/{2})", Top1.Percent(fp32Correct, samples), fp32Correct, samples));
            stdout.WriteLine(string.Format(c, "top-1 INT8 (QuantGen)      {0,7:0.00}%  ({1}/{2}), drop {3:0.00} points", Top1.Percent(int8Correct, samples), int8Correct, samples, drop));
        }
        stdout.WriteLine(string.Format(c, "top-1 agreement            {0,7:0.00}%  ({1}/{2})", Top1.Percent(agree, samples), agree, samples));
        stdout.WriteLine("output SQNR                " + FormatDb(output.Sqnr, 7) + (double.IsFinite(output.Sqnr) ? " dB" : ""));
    }

    private static void WriteLayers(TextWriter stdout, IReadOnlyList<LayerError> rows, IReadOnlyList<(string Node, string OpType, string Reason)> floatNodes)
    {
        stdout.WriteLine();
        stdout.WriteLine($"per-layer SQNR, INT8 dequantized vs FP32, worst first ({rows.Count} quantized tensors):");
        stdout.WriteLine("  (own: the SQNR the node would have with exact inputs, from the noise it adds to what it inherits; - adds none)");
        stdout.WriteLine("  SQNR dB   own dB  tensor  <-  node (op)");
        foreach (var r in rows)
            stdout.WriteLine($"  {FormatDb(r.Sqnr, 7)}  {(double.IsPositiveInfinity(r.OwnSqnr) ? "-" : FormatDb(r.OwnSqnr, 0)),7}  {r.Tensor}  <-  {(r.Node == null ? "graph input" : $"{r.Node} ({r.OpType}, {r.How})")}");
        if (floatNodes.Count > 0)
        {
            stdout.WriteLine($"nodes in float ({floatNodes.Count}):");
            foreach (var f in floatNodes)
                stdout.WriteLine($"  {f.Node} ({f.OpType}): {f.Reason}");
        }
    }

    private static string FormatDb(double db, int width) =>
        (double.IsPositiveInfinity(db) ? "exact" : double.IsNegativeInfinity(db) ? "-inf" : db.ToString("0.0", CultureInfo.InvariantCulture)).PadLeft(width);

    /// <summary>
    /// The KeepFloat search: candidates are the integer nodes, the one that adds the most noise first (lowest own SQNR),
    /// then the lowest output SQNR.
    /// </summary>
    private static void Search(TextWriter stdout, bool terminal, EvaluateOptions options, IReadOnlyList<Value> inputs, byte[] model,
        Func<string, byte[]?> externalData, string? calibration, IReadOnlyList<LayerError> rows, int[]? labels, int[] fp32Top1,
        long samples, int classes, double budget, double drop)
    {
        var c = CultureInfo.InvariantCulture;
        string measure = labels != null ? "top-1 drop vs FP32" : "top-1 disagreement with FP32";
        stdout.WriteLine();
        stdout.WriteLine(string.Format(c, "KeepFloat search: budget {0:0.##} points of {1}; now {2:0.00}", budget, measure, drop));
        var candidates = rows.Where(r => r.Quantized && r.Node != null)
            .OrderBy(r => r.OwnSqnr).ThenBy(r => r.Sqnr)
            .Select(r => r.Node!).Distinct(StringComparer.Ordinal).ToList();

        var result = KeepFloatSearch.Run(candidates, budget, drop,
            added =>
            {
                var keep = options.KeepFloat.Concat(added).ToList();
                var int8 = BuildInt8(model, options, externalData, calibration, keep);
                var progress = terminal ? new ProgressReporter(stdout, true, samples, "  measuring", "samples") : null;
                // Labels come with one row per sample (checked before); without them every row counts.
                int rowsPerSample = fp32Top1.Length / (int)samples;
                var top = new int[rowsPerSample];
                long hits = 0, i = 0;
                foreach (var sample in ReadSamples(options, inputs))
                {
                    Top1.ArgMaxRows(int8.Outputs(RunInt8(int8, sample, options.Model, i)), classes, top);
                    for (int r = 0; r < rowsPerSample; r++)
                        if (labels != null ? top[r] == labels[i] : top[r] == fp32Top1[i * rowsPerSample + r]) hits++;
                    i++;
                    progress?.Report(i);
                }
                if (labels == null) return 100 - Top1.Percent(hits, fp32Top1.Length);
                long fp32Hits = 0;
                for (long j = 0; j < samples; j++)
                    if (fp32Top1[j] == labels[j]) fp32Hits++;
                return Top1.Percent(fp32Hits - hits, samples);
            },
            step => stdout.WriteLine(string.Format(c, "  {0,-50} {1,6:0.00}", step.Action, step.Drop)));

        if (result.Added.Count == 0 && result.WithinBudget)
        {
            stdout.WriteLine(string.Format(c, "within budget already: no node needs to stay float ({0:0.00} <= {1:0.##})", result.Drop, budget));
            return;
        }
        if (!result.WithinBudget)
        {
            stdout.WriteLine(string.Format(c, "no KeepFloat set reaches the budget: with every integer node in float the {0} is still {1:0.00} points (FP32 in QuantGen's reference against ONNX Runtime, or the samples are too few)", measure, result.Drop));
            return;
        }
        var keepAll = options.KeepFloat.Concat(result.Added).ToList();
        stdout.WriteLine(string.Format(c, "KeepFloat {0} node{1} brings the {2} to {3:0.00} points (<= {4:0.##}):",
            result.Added.Count, result.Added.Count == 1 ? "" : "s", measure, result.Drop, budget));
        stdout.WriteLine("  " + Attribute(options, keepAll));
    }

    /// <summary>The attribute to paste: the model by file name (the build accepts a unique file-name match), the calibration when not the default.</summary>
    internal static string Attribute(EvaluateOptions options, IReadOnlyList<string> keepFloat)
    {
        string text = $"[QuantGen.OnnxModel({CSharp.StringLiteral(Path.GetFileName(options.Model))}";
        if (options.Calibration != null && Path.GetFullPath(options.Calibration) != Path.GetFullPath(CalibrationFile.DefaultPathFor(options.Model)))
            text += ", Calibration = " + CSharp.StringLiteral(Path.GetFileName(options.Calibration));
        return text + ", KeepFloat = new[] { " + string.Join(", ", keepFloat.Select(CSharp.StringLiteral)) + " })]";
    }

    private static QuantizedModel BuildInt8(byte[] model, EvaluateOptions options, Func<string, byte[]?> externalData, string? calibration, IReadOnlyList<string> keepFloat)
    {
        try
        {
            return QuantizedModel.Build(model, options.Model, externalData, calibration, options.CalibrationPath, keepFloat, options.Dimensions);
        }
        catch (ModelCompileException e)
        {
            throw CalibrateCommand.ModelFailure($"{options.Model}: QuantGen cannot compile this model to INT8", e.Diagnostics);
        }
    }

    private static Dictionary<string, Tensor> RunInt8(QuantizedModel int8, IReadOnlyList<Tensor> sample, string modelPath, long index)
    {
        try
        {
            return int8.Run(sample);
        }
        catch (ModelCompileException e)
        {
            throw CalibrateCommand.ModelFailure($"{modelPath}: QuantGen's INT8 reference fails on sample {index + 1}", e.Diagnostics);
        }
    }

    /// <param name="fallback">Why ONNX Runtime could not output <paramref name="intermediates"/> (then it outputs none); null when it does.</param>
    private static OnnxRuntimeModel LoadOnnxRuntime(byte[] model, string path, IReadOnlyList<Value> inputs, IReadOnlyList<string> outputs,
        IReadOnlyList<string> intermediates, out string? fallback)
    {
        fallback = null;
        if (intermediates.Count > 0)
        {
            try
            {
                return new OnnxRuntimeModel(model, inputs, outputs, intermediates);
            }
            catch (Exception e) when (e is OnnxRuntimeException or InvalidDataException)
            {
                fallback = e.Message.Split('\n')[0];
            }
        }
        try
        {
            return new OnnxRuntimeModel(model, inputs, outputs, Array.Empty<string>());
        }
        catch (OnnxRuntimeException e)
        {
            throw new CliException(ExitCodes.ModelError, $"{path}: ONNX Runtime cannot load the model (the FP32 reference): {e.Message}");
        }
    }

    private static float[] RunOnnxRuntime(OnnxRuntimeModel ort, IReadOnlyList<Tensor> sample, string modelPath, long index)
    {
        try
        {
            return ort.Run(sample);
        }
        catch (OnnxRuntimeException e)
        {
            throw new CliException(ExitCodes.ModelError, $"{modelPath}: ONNX Runtime fails on sample {index + 1} (the FP32 reference): {e.Message}");
        }
    }
}
