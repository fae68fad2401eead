using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Testing;
using Xunit;
using Xunit.Abstractions;
using static QuantGen.Compiler.Tests.Quantization.QuantTestKit;

namespace QuantGen.Compiler.Tests.Quantization;

/// <summary>
/// A one-head causal self-attention block (Q, K, V projections; Q x K^T; scale; an additive -10000 mask; Softmax;
/// softmax x V; output projection) through the calibrated INT8 compiler: both activation x activation MatMuls become
/// QMatMul, the mask Add and Softmax stay float (the scores' own scale never sees the mask's -10000), the generated
/// code equals its INT8 reference, and the output stays near float.
/// </summary>
public class AttentionQuantizationTests
{
    private const int S = 8, H = 16;
    private readonly ITestOutputHelper _output;

    public AttentionQuantizationTests(ITestOutputHelper output) => _output = output;

    private static float[] CausalMask()
    {
        var mask = new float[S * S];
        for (int i = 0; i < S; i++)
            for (int j = i + 1; j < S; j++)
                mask[i * S + j] = -10000f;
        return mask;
    }

    internal static byte[] AttentionBlock() => new OnnxModelBuilder(opset: 17)
        .Input("x", 1, S, H)
        .Initializer("wq", new long[] { H, H }, OnnxModelBuilder.RandomFloats(H * H, 1, 0.4f))
        .Initializer("wk", new long[] { H, H }, OnnxModelBuilder.RandomFloats(H * H, 2, 0.4f))
        .Initializer("wv", new long[] { H, H }, OnnxModelBuilder.RandomFloats(H * H, 3, 0.4f))
        .Initializer("wo", new long[] { H, H }, OnnxModelBuilder.RandomFloats(H * H, 4, 0.4f))
        .Initializer("scale", new long[0], new[] { 1f / MathF.Sqrt(H) })
        .Initializer("mask", new long[] { 1, S, S }, CausalMask())
        .Node("q_proj", "MatMul", new[] { "x", "wq" }, new[] { "q" })
        .Node("k_proj", "MatMul", new[] { "x", "wk" }, new[] { "k" })
        .Node("v_proj", "MatMul", new[] { "x", "wv" }, new[] { "v" })
        .Node("k_t", "Transpose", new[] { "k" }, new[] { "kt" }, OnnxAttribute.Ints("perm", 0, 2, 1))
        .Node("scores", "MatMul", new[] { "q", "kt" }, new[] { "s" })
        .Node("scaled", "Mul", new[] { "s", "scale" }, new[] { "s_scaled" })
        .Node("masked", "Add", new[] { "s_scaled", "mask" }, new[] { "s_masked" })
        .Node("probs", "Softmax", new[] { "s_masked" }, new[] { "p" }, OnnxAttribute.Int("axis", -1))
        .Node("context", "MatMul", new[] { "p", "v" }, new[] { "c" })
        .Node("out_proj", "MatMul", new[] { "c", "wo" }, new[] { "y" })
        .Output("y", 1, S, H)
        .ToBytes();

    internal static IEnumerable<float[]> Samples(int count, int seed0) =>
        Enumerable.Range(seed0, count).Select(s => OnnxModelBuilder.RandomFloats(S * H, s, 1.5f));

    /// <summary>Compiles, checks generated code against the INT8 reference, returns the worst error against float (of the output's range).</summary>
    private double Run(CompilerOptions options, out Graph graph, out QuantGen.Compiler.Quantization.QuantizationReport report, out IReadOnlyList<Diagnostics.ModelDiagnostic> diagnostics)
    {
        var model = AttentionBlock();
        var floatGraph = ModelCompiler.Prepare(model, "model.onnx");
        var result = ModelCompiler.Compile(model, options);
        diagnostics = result.Diagnostics;
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == Diagnostics.ModelDiagnosticSeverity.Error);
        graph = ModelCompiler.Prepare(model, "model.onnx");
        report = ModelCompiler.Quantize(graph, options);
        using var generated = GeneratedModel.Load(result.Files, graph);
        double worst = 0;
        foreach (var x in Samples(8, 500))
        {
            var reference = Reference(graph, x)[0].Floats!;
            var actual = (float[])generated.Run(x)[0];
            var exact = Reference(floatGraph, x)[0].Floats!;
            float range = exact.Max(Math.Abs);
            for (int i = 0; i < actual.Length; i++)
                Assert.True(Math.Abs(actual[i] - reference[i]) <= 1e-5f * range, $"y[{i}]: generated {actual[i]}, reference {reference[i]}");
            worst = Math.Max(worst, exact.Zip(actual, (e, v) => Math.Abs(e - v) / range).Max());
        }
        return worst;
    }

    private static IReadOnlyDictionary<string, (float, float)> Calibrate() =>
        Ranges(ModelCompiler.Prepare(AttentionBlock(), "model.onnx"), Samples(32, 100));

    [Fact]
    public void Both_activation_MatMuls_run_in_INT8_the_mask_and_Softmax_stay_float_and_the_output_stays_near_float()
    {
        var ranges = Calibrate();
        double worst = Run(GeneratedModel.Options(Precision.Int8, ranges), out var graph, out var report, out var diagnostics);
        double floatMatMuls = Run(GeneratedModel.Options(Precision.Int8, ranges) with { KeepFloat = new[] { "scores", "context" } }, out _, out _, out _);
        _output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"worst |INT8 - FP32| / range: {worst:P2} with QMatMul, {floatMatMuls:P2} with both activation MatMuls kept float"));

        var qmatmuls = graph.Nodes.Where(n => n.OpType == "QMatMul").Select(n => n.Name).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { "context", "scores" }, qmatmuls);
        Assert.Contains("scores", report.QuantizedNodes);
        Assert.Contains("context", report.QuantizedNodes);
        // The mask and Softmax stay float, and say why in the QG0022 listing.
        Assert.Contains(report.FloatNodes, f => f.Node == "masked" && f.OpType == "Add");
        Assert.Contains(report.FloatNodes, f => f.Node == "probs" && f.OpType == "Softmax");
        Assert.DoesNotContain(report.FloatNodes, f => f.OpType == "MatMul");
        // K^T is transposed on uint8: no Dequantize/Quantize round trip between the K projection and Q x K^T.
        Assert.Equal(DataType.UInt8, graph[graph.Nodes.Single(n => n.Name == "k_t").Outputs[0]].Type);
        Assert.DoesNotContain(report.FloatNodes, f => f.OpType == "Transpose");
        var listing = diagnostics.Single(d => d.Id == "QG0022").Message;
        Assert.Contains("probs (Softmax", listing);
        Assert.Contains("masked (Add", listing);
        Assert.DoesNotContain("scores (MatMul", listing);
        // The masked scores never get a uint8 grid: only the unmasked ones do.
        Assert.DoesNotContain("s_masked", report.QuantizedTensors.Keys);
        Assert.Contains("s", report.QuantizedTensors.Keys);
        Assert.True(report.QuantizedTensors["s"].Params!.Value.Scale < 0.1f, $"the scores' step is {report.QuantizedTensors["s"].Params!.Value.Scale}");

        // Measured: 6.05 % either way (the error comes from the uint8 Q, K and V the projections write, which a float
        // MatMul would read too); QMatMul must not add to it noticeably.
        Assert.True(worst < 0.1, $"INT8 attention is {worst:P1} of the output range away from float");
        Assert.True(worst <= floatMatMuls + 0.01, $"QMatMul adds error: {worst:P2} against {floatMatMuls:P2} with float MatMuls");
    }

    [Fact]
    public void KeepFloat_keeps_an_activation_MatMul_float_and_an_uncalibrated_operand_keeps_it_float_with_the_reason()
    {
        var ranges = Calibrate();
        Run(GeneratedModel.Options(Precision.Int8, ranges) with { KeepFloat = new[] { "scores" } }, out var graph, out var report, out _);
        Assert.Contains(graph.Nodes, n => n.Name == "scores" && n.OpType == "MatMul");
        Assert.Contains(graph.Nodes, n => n.Name == "context" && n.OpType == "QMatMul");
        Assert.Contains(report.FloatNodes, f => f.Node == "scores" && f.Reason == "listed in KeepFloat");

        var partial = ranges.Where(kv => kv.Key != "v").ToDictionary(kv => kv.Key, kv => kv.Value);
        Run(GeneratedModel.Options(Precision.Int8, partial), out graph, out report, out _);
        Assert.Contains(graph.Nodes, n => n.Name == "context" && n.OpType == "MatMul");
        Assert.Contains(report.FloatNodes, f => f.Node == "context" && f.Reason == "no calibration statistics for its input 1");
        Assert.Contains(graph.Nodes, n => n.Name == "scores" && n.OpType == "QMatMul");
    }
}

/// <summary>An additive mask that arrives as a runtime tensor of the scores' own shape (not a constant, no broadcasting).</summary>
public class RuntimeMaskQuantizationTests
{
    [Fact]
    public void An_Add_of_a_runtime_mask_stays_float_so_the_scores_keep_their_own_grid()
    {
        var model = new OnnxModelBuilder(opset: 17)
            .Input("s", 1, 8, 8).Input("mask", 1, 8, 8)
            .Node("masked", "Add", new[] { "s", "mask" }, new[] { "m" })
            .Node("probs", "Softmax", new[] { "m" }, new[] { "p" }, OnnxAttribute.Int("axis", -1))
            .Output("p", 1, 8, 8)
            .ToBytes();
        var ranges = new Dictionary<string, (float, float)> { ["s"] = (-6f, 6f), ["mask"] = (-10000f, 0f), ["m"] = (-10006f, 6f), ["p"] = (0f, 1f) };
        var graph = ModelCompiler.Prepare(model, "model.onnx");
        var report = ModelCompiler.Quantize(graph, GeneratedModel.Options(Precision.Int8, ranges));
        var kept = Assert.Single(report.FloatNodes, f => f.Node == "masked");
        Assert.Contains("an additive mask?", kept.Reason);
        Assert.DoesNotContain(graph.Nodes, n => n.OpType == "QAdd");

        // Two inputs of comparable ranges (a residual) still add in INT8.
        ranges = new Dictionary<string, (float, float)> { ["s"] = (-6f, 6f), ["mask"] = (-1f, 0.5f), ["m"] = (-7f, 6.5f), ["p"] = (0f, 1f) };
        graph = ModelCompiler.Prepare(model, "model.onnx");
        ModelCompiler.Quantize(graph, GeneratedModel.Options(Precision.Int8, ranges));
        Assert.Contains(graph.Nodes, n => n.OpType == "QAdd" && n.Name == "masked");
    }
}
