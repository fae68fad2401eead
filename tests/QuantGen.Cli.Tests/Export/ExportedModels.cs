using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FashionMnist;
using QuantGen.Compiler;
using QuantGen.Compiler.Execution;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Quantization;

namespace QuantGen.Cli.Tests.Export;

/// <summary>The calibrated sample models, the committed test images, and QuantGen's INT8 reference for them.</summary>
internal static class ExportedModels
{
    public static readonly string[] Calibrated = { "fashion_cnn", "fashion_mlp", "fashion_resnet" };

    private static readonly Lazy<FashionMnistData> s_test = new(() => FashionMnistData.FromFiles(
        Path.Combine(AppContext.BaseDirectory, "Data", "t10k-images-idx3-ubyte.slice1000.gz"),
        Path.Combine(AppContext.BaseDirectory, "Data", "t10k-labels-idx1-ubyte.slice1000.gz")));

    /// <summary>The 1,000 committed Fashion-MNIST test images (pixel / 255) and their labels.</summary>
    public static FashionMnistData TestImages => s_test.Value;

    public static string ModelPath(string name) => Path.Combine(AppContext.BaseDirectory, "Models", name + ".onnx");

    public static string CalibrationPath(string name) => Path.Combine(AppContext.BaseDirectory, "Models", name + ".calib.json");

    /// <summary>
    /// The INT8 graph exactly as the build makes it (<see cref="ModelCompiler.Compile"/>'s steps: prepare, resolve the
    /// calibration, quantize), built here without the exporter so the comparison does not trust it.
    /// </summary>
    public static (Graph Graph, QuantizationReport Report) BuildInt8(string name, IReadOnlyList<string>? keepFloat = null)
    {
        byte[] model = File.ReadAllBytes(ModelPath(name));
        var options = new CompilerOptions
        {
            ModelPath = ModelPath(name),
            CalibrationJson = File.ReadAllText(CalibrationPath(name)),
            CalibrationPath = CalibrationPath(name),
            KeepFloat = keepFloat ?? Array.Empty<string>(),
        };
        var graph = ModelCompiler.Prepare(model, options.ModelPath);
        var setup = QuantizationSetup.Resolve(graph, model, options, new List<Compiler.Diagnostics.ModelDiagnostic>());
        if (setup.Ranges == null) throw new InvalidOperationException($"{name}: the committed calibration file does not apply");
        var report = ModelCompiler.Quantize(graph, options with { CalibrationRanges = setup.Ranges, KeepFloat = setup.KeepFloat.ToList() });
        return (graph, report);
    }

    /// <summary>QuantGen's INT8 answer for one image: the reference executor over the INT8 graph (the generated code's numbers).</summary>
    public static float[] RunReference(Graph int8, float[] image)
    {
        var input = int8[int8.Inputs[0]];
        return ReferenceExecutor.RunOutputs(int8, new[] { Tensor.FromFloats(input.Shape!, image) })[0].AsFloats();
    }

    public static int ArgMax(IReadOnlyList<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Count; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }
}
