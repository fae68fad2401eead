using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using FashionMnist;
using Microsoft.CodeAnalysis;
using QuantGen.Compiler;
using QuantGen.Compiler.Calibration;
using QuantGen.Compiler.Ir;
using QuantGen.Testing;

namespace QuantGen.Accuracy;

/// <summary>How a model is built: the generator's Precision and whether it is handed the calibration file.</summary>
public enum Variant
{
    /// <summary><c>Precision = QuantGen.Precision.Float32</c>.</summary>
    Fp32,

    /// <summary>INT8 with the committed calibration file, or with the model's own Q/DQ scales (QDQ models).</summary>
    Int8Static,

    /// <summary>INT8 without a calibration file: activations quantized per call from their own range (QG0021).</summary>
    Int8Dynamic,
}

/// <summary>One generated class run over the test set, or why it could not be.</summary>
public sealed class VariantResult
{
    public required Variant Variant { get; init; }

    /// <summary>Argmax of the logits per test image; empty when <see cref="Error"/> is set.</summary>
    public required int[] Predictions { get; init; }

    public required int Correct { get; init; }

    /// <summary>Bytes of constant data the generated code embeds, from its "// Weights:" header line.</summary>
    public long? WeightBytes { get; init; }

    /// <summary>What the same header says the float32 model's weights take.</summary>
    public long? FloatWeightBytes { get; init; }

    /// <summary>The generator's diagnostics, "QG0021 (Warning)", sorted.</summary>
    public required IReadOnlyList<string> Diagnostics { get; init; }

    /// <summary>The QG0022 message (nodes kept in float), when the generator reported one.</summary>
    public string? FloatNodes { get; init; }

    /// <summary>
    /// The generated kernels ("QConv '/features/features.0/Conv'"), in graph order, and which of them compute in float
    /// (read from the generated code: see <see cref="GeneratedKernel"/>).
    /// </summary>
    public required IReadOnlyList<GeneratedKernel> Kernels { get; init; }

    /// <summary>Why there is no result (an error diagnostic, a compile error, an exception).</summary>
    public string? Error { get; init; }

    public TimeSpan Elapsed { get; init; }

    /// <summary>Of <see cref="Elapsed"/>, the time spent running the test set (the rest is generating and compiling).</summary>
    public TimeSpan RunElapsed { get; init; }

    public bool HasDiagnostic(string id) => Diagnostics.Any(d => d.StartsWith(id + " ", StringComparison.Ordinal));
}

/// <summary>
/// One kernel method of the generated code, from the comment the emitter writes above it
/// (<c>// QConv '/features/features.0/Conv': 1x1x28x28 -> ...</c>) and its signature. It computes in float when its first
/// input is a <c>ReadOnlySpan&lt;float&gt;</c>, except the Quantize/Dequantize steps that convert at the edges.
/// </summary>
public sealed record GeneratedKernel(string Op, string Node, bool Float);

/// <summary>INT8 static built with a calibration file computed by one method.</summary>
public sealed record MethodResult(CalibrationMethod Method, VariantResult Result);

/// <summary>INT8 static with one group of integer nodes kept in float (KeepFloat), the rest INT8.</summary>
public sealed record SensitivityResult(SensitivityGroup Group, VariantResult Result);

/// <summary>Every variant of one sample model, ONNX Runtime and PyTorch's number on the same test set.</summary>
public sealed class ModelResult
{
    public required SampleModel Model { get; init; }
    public required int ImageCount { get; init; }
    public required VariantResult Fp32 { get; init; }
    public required VariantResult Int8Static { get; init; }

    /// <summary>Null for QDQ models: their scales are in the graph, there is nothing dynamic to compare.</summary>
    public VariantResult? Int8Dynamic { get; init; }

    public required int[] OrtPredictions { get; init; }
    public required int OrtCorrect { get; init; }

    /// <summary>The committed calibration file (null for QDQ models).</summary>
    public CalibrationFile? Calibration { get; init; }

    /// <summary>INT8 static with each calibration method on the committed 512 training images (empty for QDQ models).</summary>
    public IReadOnlyList<MethodResult> Methods { get; init; } = Array.Empty<MethodResult>();

    /// <summary>INT8 static with each group of integer nodes kept in float in turn (only models that measure it).</summary>
    public IReadOnlyList<SensitivityResult> Sensitivity { get; init; } = Array.Empty<SensitivityResult>();

    /// <summary>PyTorch's top-1 on the 10,000 test images at export time (reference.json), when recorded.</summary>
    public double? TorchTop1 { get; init; }

    public IEnumerable<VariantResult> Variants => Int8Dynamic == null ? new[] { Fp32, Int8Static } : new[] { Fp32, Int8Static, Int8Dynamic };

    public double Top1(int correct) => 100.0 * correct / ImageCount;

    /// <summary>Percentage of images where <paramref name="a"/> and <paramref name="b"/> predict the same class.</summary>
    public double Agreement(int[] a, int[] b)
    {
        if (a.Length != ImageCount || b.Length != ImageCount) return double.NaN;
        int same = 0;
        for (int i = 0; i < a.Length; i++)
            if (a[i] == b[i]) same++;
        return 100.0 * same / ImageCount;
    }
}

/// <summary>
/// Generates each sample model through the real generator (in-process, <see cref="GeneratorHarness"/>), compiles and
/// loads it, and runs the full Fashion-MNIST test set through the generated Predict (in parallel: it is thread-safe).
/// </summary>
public static class AccuracyEvaluator
{
    public const int FullTestSetCount = 10_000;

    /// <summary>The full test set from dataset-fashion-mnist; the committed 1,000-image slice is not enough here.</summary>
    public static FashionMnistData LoadFullTestSet()
    {
        string images = Path.Combine(FashionMnistData.DebianDirectory, "t10k-images-idx3-ubyte.gz");
        string labels = Path.Combine(FashionMnistData.DebianDirectory, "t10k-labels-idx1-ubyte.gz");
        if (!File.Exists(images) || !File.Exists(labels))
            throw new InvalidOperationException(
                $"The accuracy suite needs the full Fashion-MNIST test set ({images} and {labels}), which is not installed: " +
                "run `apt-get install dataset-fashion-mnist` and try again.");
        var data = FashionMnistData.FromFiles(images, labels);
        if (data.Count != FullTestSetCount)
            throw new InvalidOperationException($"{images} holds {data.Count} images, expected the full {FullTestSetCount}: reinstall with `apt-get install --reinstall dataset-fashion-mnist`.");
        return data;
    }

    public static ModelResult Evaluate(SampleModel model, FashionMnistData data, Action<string>? log = null)
    {
        var bytes = File.ReadAllBytes(model.OnnxPath);
        var graph = ModelCompiler.Prepare(bytes, model.OnnxFile);
        string? calibrationJson = model.CalibrationPath is { } path ? File.ReadAllText(path) : null;

        VariantResult Run(Variant variant)
        {
            var result = EvaluateVariant(model, variant, bytes, graph, calibrationJson, data);
            log?.Invoke($"{model.Name} {variant}: " + (result.Error ?? $"top-1 {100.0 * result.Correct / data.Count:F2}%") + $" ({result.Elapsed.TotalSeconds:F1} s, of which {result.RunElapsed.TotalSeconds:F1} s running)");
            return result;
        }

        var fp32 = Run(Variant.Fp32);
        var int8 = Run(Variant.Int8Static);
        var dynamic = model.HasQdq ? null : Run(Variant.Int8Dynamic);
        var methods = model.HasQdq ? Array.Empty<MethodResult>() : EvaluateMethods(model, bytes, graph, calibrationJson!, int8, data, log);
        var sensitivity = new List<SensitivityResult>();
        if (model.MeasuresSensitivity)
        {
            foreach (var group in SensitivityGroups.Of(bytes, "Models/" + model.OnnxFile, calibrationJson!))
            {
                var result = EvaluateVariant(model, Variant.Int8Static, bytes, graph, calibrationJson, data, "Keep" + sensitivity.Count, group.Nodes);
                log?.Invoke($"{model.Name} INT8 with {group.Kind} in float: " + (result.Error ?? $"top-1 {100.0 * result.Correct / data.Count:F2}%"));
                sensitivity.Add(new SensitivityResult(group, result));
            }
        }

        var watch = Stopwatch.StartNew();
        var ort = RunOnnxRuntime(bytes, data);
        log?.Invoke($"{model.Name} ONNX Runtime: top-1 {100.0 * ort.Correct / data.Count:F2}% ({watch.Elapsed.TotalSeconds:F1} s)");

        return new ModelResult
        {
            Model = model,
            ImageCount = data.Count,
            Fp32 = fp32,
            Int8Static = int8,
            Int8Dynamic = dynamic,
            OrtPredictions = ort.Predictions,
            OrtCorrect = ort.Correct,
            Calibration = calibrationJson == null ? null : CalibrationFile.Read(calibrationJson),
            Methods = methods,
            Sensitivity = sensitivity,
            TorchTop1 = ReadTorchTop1(model.ReferencePath),
        };
    }

    /// <summary>
    /// INT8 static with a calibration file from each method, all computed in one pass of QuantGen's float reference over
    /// the committed 512 training images (what the committed files are computed from). The committed file's own method
    /// reuses <paramref name="committed"/>: the test in QuantGen.Generator.Tests keeps that file equal to what it computes.
    /// </summary>
    private static IReadOnlyList<MethodResult> EvaluateMethods(SampleModel model, byte[] bytes, Graph graph, string committedJson,
        VariantResult committed, FashionMnistData data, Action<string>? log)
    {
        var watch = Stopwatch.StartNew();
        var images = FashionMnistData.FromFiles(
            Path.Combine(ModelFiles.RepoRoot, "samples", "FashionMnist", "Data", "train-images-idx3-ubyte.slice512.gz"),
            Path.Combine(ModelFiles.RepoRoot, "samples", "FashionMnist", "Data", "train-labels-idx1-ubyte.slice512.gz"));
        var committedMethod = CalibrationFile.Read(committedJson).Method;
        var methods = Enum.GetValues<CalibrationMethod>();
        var accumulators = methods.ToDictionary(m => m, m => new CalibrationAccumulator(Calibrator.CalibratedTensors(graph), m));
        var calibrator = new Calibrator(graph, CalibrationMethod.MinMax, name => new FanOut(accumulators.Values, name));
        foreach (var image in images.Images)
            calibrator.Observe(image);
        log?.Invoke($"{model.Name}: calibrated with every method on {images.Count} images in {watch.Elapsed.TotalSeconds:F1} s");

        var results = new List<MethodResult>();
        foreach (var method in methods)
        {
            if (method == committedMethod)
            {
                results.Add(new MethodResult(method, committed));
                continue;
            }
            var accumulator = accumulators[method];
            accumulator.AddSamples(images.Count);
            string json = accumulator.Finish(ModelHash.Sha256Hex(bytes), model.OnnxFile).Write();
            var result = EvaluateVariant(model, Variant.Int8Static, bytes, graph, json, data, CalibrationNames.Of(method));
            log?.Invoke($"{model.Name} INT8 {CalibrationNames.Of(method)}: " + (result.Error ?? $"top-1 {100.0 * result.Correct / data.Count:F2}%"));
            results.Add(new MethodResult(method, result));
        }
        return results;
    }

    /// <summary>One tensor's values to every method's collector, so the reference runs once for all methods.</summary>
    private sealed class FanOut(IEnumerable<CalibrationAccumulator> accumulators, string name) : IRangeCollector
    {
        public void Observe(ReadOnlySpan<float> values)
        {
            foreach (var accumulator in accumulators)
                accumulator.Observe(name, values);
        }

        public TensorStatistics? Finish() => null;
    }

    private static VariantResult EvaluateVariant(SampleModel model, Variant variant, byte[] bytes, Graph graph, string? calibrationJson, FashionMnistData data,
        string? suffix = null, IReadOnlyList<string>? keepFloat = null)
    {
        var watch = Stopwatch.StartNew();
        string className = ClassName(model, variant) + (suffix == null ? "" : char.ToUpperInvariant(suffix[0]) + suffix.Substring(1));
        string modelPath = "Models/" + model.OnnxFile;
        var additional = new List<AdditionalText> { ModelFiles.Transport(bytes, modelPath) };
        // The calibration file sits at the model's default calibration path, as in the sample's project.
        if (variant == Variant.Int8Static && calibrationJson != null)
            additional.Add(new InMemoryAdditionalText("/project/Models/" + CalibrationFile.DefaultPathFor(model.OnnxFile), calibrationJson));
        string arguments = (variant == Variant.Fp32 ? ", Precision = QuantGen.Precision.Float32" : "") + SensitivityGroups.KeepFloatArgument(keepFloat);
        string source = $"namespace Tests;\n\n[QuantGen.OnnxModel(\"{modelPath}\"{arguments})]\npublic static partial class {className};\n";

        var run = GeneratorHarness.Run(new[] { source }, additional);
        var diagnostics = run.GeneratorDiagnostics
            .Select(d => $"{d.Id} ({d.Severity})").Distinct().OrderBy(d => d, StringComparer.Ordinal).ToList();
        string? floatNodes = run.GeneratorDiagnostics.FirstOrDefault(d => d.Id == "QG0022")?.GetMessage(CultureInfo.InvariantCulture);
        var (weightBytes, floatWeightBytes) = ParseWeightHeader(run.Sources.Values);
        var kernels = ParseKernels(run.Sources.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => s.Value));

        VariantResult Failed(string error) => new()
        {
            Variant = variant, Predictions = Array.Empty<int>(), Correct = 0, Diagnostics = diagnostics, FloatNodes = floatNodes, Kernels = kernels,
            WeightBytes = weightBytes, FloatWeightBytes = floatWeightBytes, Error = error, Elapsed = watch.Elapsed,
        };

        var errors = run.AllDiagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (errors.Count > 0)
            return Failed(string.Join("; ", errors.Take(3).Select(d => d.Id + ": " + d.GetMessage(CultureInfo.InvariantCulture))));

        try
        {
            using var loaded = LoadedModel.Load(run, graph, className);
            var runWatch = Stopwatch.StartNew();
            var predictions = new int[data.Count];
            Parallel.For(0, data.Count, i => predictions[i] = ArgMax((float[])loaded.Run(data.Images[i])[0]));
            var runElapsed = runWatch.Elapsed;
            return new VariantResult
            {
                Variant = variant,
                Predictions = predictions,
                Correct = CountCorrect(predictions, data),
                WeightBytes = weightBytes,
                FloatWeightBytes = floatWeightBytes,
                Diagnostics = diagnostics,
                FloatNodes = floatNodes,
                Kernels = kernels,
                Elapsed = watch.Elapsed,
                RunElapsed = runElapsed,
            };
        }
        catch (Exception e)
        {
            return Failed(e.GetType().Name + ": " + e.Message);
        }
    }

    private static (int[] Predictions, int Correct) RunOnnxRuntime(byte[] bytes, FashionMnistData data)
    {
        using var ort = new OnnxRuntimeReference(bytes);
        var shape = new[] { new[] { 1, 1, FashionMnistData.ImageSide, FashionMnistData.ImageSide } };
        var predictions = new int[data.Count];
        Parallel.For(0, data.Count, i => predictions[i] = ArgMax(ort.Run(new[] { data.Images[i] }, shape)[0]));
        return (predictions, CountCorrect(predictions, data));
    }

    public static string ClassName(SampleModel model, Variant variant) =>
        string.Concat(model.Name.Split('_').Select(p => char.ToUpperInvariant(p[0]) + p.Substring(1))) + variant;

    // Digits with the group separators of any culture (the emitter formats with N0).
    private static readonly Regex WeightHeader = new(@"^// Weights: ([0-9,. \u00a0\u202f']+) bytes embedded(?: \(the float32 model's: ([0-9,. \u00a0\u202f']+) bytes\))?\.", RegexOptions.Multiline);

    /// <summary>
    /// "// Weights: 40,360 bytes embedded (the float32 model's: 156,968 bytes)." from the generated files; when nothing
    /// shrank (FP32) the line is "// Weights: 156,968 bytes embedded." and both numbers are that one.
    /// </summary>
    public static (long? Embedded, long? Float) ParseWeightHeader(IEnumerable<string> sources)
    {
        foreach (var source in sources)
        {
            var match = WeightHeader.Match(source);
            if (match.Success)
            {
                long embedded = Digits(match.Groups[1].Value);
                return (embedded, match.Groups[2].Success ? Digits(match.Groups[2].Value) : embedded);
            }
        }
        return (null, null);

        static long Digits(string text) => long.Parse(new string(text.Where(char.IsAsciiDigit).ToArray()), CultureInfo.InvariantCulture);
    }

    private static readonly Regex KernelMethod = new(@"^[ \t]*// (\w+) '([^'\n]*)':[^\n]*\n(?:[ \t]*\[[^\n]*\]\n)*[ \t]*(?:\w+ )*static void \w+\((?:scoped )?ReadOnlySpan<(\w+)>", RegexOptions.Multiline);

    private static readonly HashSet<string> ConversionOps = new(StringComparer.Ordinal) { "Quantize", "QuantizeDynamic", "Dequantize" };

    /// <summary>
    /// The kernel methods of the generated files, each with its op, node and whether it computes in float; the
    /// Quantize/Dequantize steps that convert at the edges are left out.
    /// </summary>
    public static IReadOnlyList<GeneratedKernel> ParseKernels(IEnumerable<string> sources) =>
        sources.SelectMany(source => KernelMethod.Matches(source))
            .Where(m => !ConversionOps.Contains(m.Groups[1].Value))
            .Select(m => new GeneratedKernel(m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value == "float"))
            .ToList();

    private static double? ReadTorchTop1(string path)
    {
        if (!File.Exists(path)) return null;
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        return json.RootElement.TryGetProperty("top1_test_10000", out var top1) ? 100.0 * top1.GetDouble() : null;
    }

    private static int CountCorrect(int[] predictions, FashionMnistData data)
    {
        int correct = 0;
        for (int i = 0; i < predictions.Length; i++)
            if (predictions[i] == data.Labels[i]) correct++;
        return correct;
    }

    /// <summary>The first index of the largest logit (ties go to the lower class, as numpy's argmax).</summary>
    public static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }
}
