using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Compiler.Execution;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Quantization;

namespace QuantGen.Cli.Evaluation;

/// <summary>
/// The INT8 graph exactly as the build makes it (<see cref="ModelCompiler.Prepare"/>, <see cref="QuantizationSetup"/>,
/// <see cref="ModelCompiler.Quantize"/>: the same calibration and KeepFloat resolution as <see cref="ModelCompiler.Compile"/>),
/// run on the compiler's reference executor, whose integer operators are bit-exact with the generated code. What it
/// measures is therefore what a user's Predict returns, without compiling C#.
/// </summary>
internal sealed class QuantizedModel
{
    private QuantizedModel(Graph graph, QuantizationReport report, string description, bool dynamic)
    {
        Graph = graph;
        Report = report;
        Description = description;
        IsDynamic = dynamic;
    }

    public Graph Graph { get; }

    public QuantizationReport Report { get; }

    /// <summary>How activations are quantized ("static, calibrated by minmax over 512 samples (...)", "dynamic ...").</summary>
    public string Description { get; }

    /// <summary>Whether activations are quantized on each call (no calibration, and no Q/DQ scales in the model).</summary>
    public bool IsDynamic { get; }

    /// <param name="calibrationJson">The calibration file's text, or null for dynamic INT8 (what the build does without one).</param>
    /// <exception cref="ModelCompileException">The model does not compile, or a KeepFloat name is not a node of it.</exception>
    /// <param name="dimensions">"name=size" entries for named free input dimensions: the attribute's Dimensions.</param>
    public static QuantizedModel Build(byte[] model, string modelPath, Func<string, byte[]?> externalData,
        string? calibrationJson, string calibrationPath, IReadOnlyList<string> keepFloat, IReadOnlyList<string> dimensions)
    {
        var graph = ModelCompiler.Prepare(model, modelPath, externalData, dimensions);
        var options = new CompilerOptions
        {
            ModelPath = modelPath,
            CalibrationJson = calibrationJson,
            CalibrationPath = calibrationPath,
            KeepFloat = keepFloat,
            Dimensions = dimensions,
        };
        var diagnostics = new List<ModelDiagnostic>();
        var setup = QuantizationSetup.Resolve(graph, model, options, diagnostics);
        var report = ModelCompiler.Quantize(graph, options with { CalibrationRanges = setup.Ranges, KeepFloat = setup.KeepFloat.ToList() });
        return new QuantizedModel(graph, report, setup.Description, setup.Ranges == null);
    }

    /// <summary>Runs one sample (a tensor per input, in model order); every value of the INT8 graph by name.</summary>
    public Dictionary<string, Tensor> Run(IReadOnlyList<Tensor> inputs) => ReferenceExecutor.Run(Graph, inputs);

    /// <summary>
    /// The value of the float tensor <paramref name="name"/> as INT8 computes it: its uint8 form dequantized when the
    /// quantized graph holds one, else the float value the graph computed under that name (dynamic INT8's integer
    /// kernels return float).
    /// </summary>
    public float[]? ValueOf(Dictionary<string, Tensor> values, string name)
    {
        if (Report.QuantizedTensors.TryGetValue(name, out var q) && values.TryGetValue(q.Values, out var u8))
        {
            var (scale, zeroPoint) = q.Params is { } p
                ? (p.Scale, p.ZeroPoint)
                : (values[q.DynamicParams!].Floats![0], (int)values[q.DynamicParams!].Floats![1]);
            var codes = u8.Longs!;
            var result = new float[codes.Length];
            // (q - z) * s in float, as QuantParams.Dequantize and the generated Dequantize compute it.
            for (int i = 0; i < codes.Length; i++)
                result[i] = (codes[i] - zeroPoint) * scale;
            return result;
        }
        return values.TryGetValue(name, out var t) && t.Type == DataType.Float ? t.Floats : null;
    }

    /// <summary>The graph's outputs, concatenated in model order.</summary>
    public float[] Outputs(Dictionary<string, Tensor> values) =>
        Graph.Outputs.SelectMany(o => values[o].AsFloats()).ToArray();
}
