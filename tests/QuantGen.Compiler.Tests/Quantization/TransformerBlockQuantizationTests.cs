using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Quantization.QuantTestKit;

namespace QuantGen.Compiler.Tests.Quantization;

/// <summary>
/// A one-head encoder block built from the transformer ops (Split, activation x activation MatMul, Softmax,
/// LayerNormalization, ReduceMax, ReduceSum) through the INT8 compiler: the float-only ops stay float between the
/// quantized MatMuls, the generated code matches its own reference, and the result stays near float.
/// </summary>
public class TransformerBlockQuantizationTests
{
    private const int S = 8, H = 32;

    private static byte[] EncoderBlock() => new OnnxModelBuilder(opset: 17)
        .Input("x", 1, S, H)
        .Initializer("w_qkv", new long[] { H, 3 * H }, OnnxModelBuilder.RandomFloats(H * 3 * H, 1, 0.3f))
        .Initializer("w_out", new long[] { H, H }, OnnxModelBuilder.RandomFloats(H * H, 2, 0.3f))
        .Initializer("gamma", new long[] { H }, OnnxModelBuilder.RandomFloats(H, 3, 1f).Select(v => v + 1f).ToArray())
        .Initializer("beta", new long[] { H }, OnnxModelBuilder.RandomFloats(H, 4, 0.2f))
        .Initializer("scale", new long[0], new[] { 1f / MathF.Sqrt(H) })
        .Initializer("split", new long[] { 3 }, new long[] { H, H, H })
        .Initializer("seq_axis", new long[] { 1 }, new long[] { 1 })
        .Node("qkv", "MatMul", new[] { "x", "w_qkv" }, new[] { "qkv_out" })
        .Node("split_qkv", "Split", new[] { "qkv_out", "split" }, new[] { "q", "k", "v" }, OnnxAttribute.Int("axis", -1))
        .Node("k_t", "Transpose", new[] { "k" }, new[] { "kt" }, OnnxAttribute.Ints("perm", 0, 2, 1))
        .Node("scores", "MatMul", new[] { "q", "kt" }, new[] { "s" })
        .Node("scaled", "Mul", new[] { "s", "scale" }, new[] { "s_scaled" })
        .Node("probs", "Softmax", new[] { "s_scaled" }, new[] { "p" }, OnnxAttribute.Int("axis", -1))
        .Node("context", "MatMul", new[] { "p", "v" }, new[] { "c" })
        .Node("out_proj", "MatMul", new[] { "c", "w_out" }, new[] { "o" })
        .Node("residual", "Add", new[] { "o", "x" }, new[] { "r" })
        .Node("ln", "LayerNormalization", new[] { "r", "gamma", "beta" }, new[] { "h" })
        .Node("pool_max", "ReduceMax", new[] { "h", "seq_axis" }, new[] { "y_max" }, OnnxAttribute.Int("keepdims", 0))
        .Node("pool_sum", "ReduceSum", new[] { "h", "seq_axis" }, new[] { "y_sum" }, OnnxAttribute.Int("keepdims", 0))
        .Output("y_max", 1, H).Output("y_sum", 1, H)
        .ToBytes();

    private static IEnumerable<float[]> Samples(int count, int seed0) =>
        Enumerable.Range(seed0, count).Select(s => OnnxModelBuilder.RandomFloats(S * H, s, 2f));

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_block_compiles_to_INT8_and_stays_near_float(bool calibrated)
    {
        var model = EncoderBlock();
        var floatGraph = ModelCompiler.Prepare(model, "model.onnx");
        var ranges = calibrated ? Ranges(floatGraph, Samples(16, 100)) : null;
        var result = ModelCompiler.Compile(model, GeneratedModel.Options(Precision.Int8, ranges));
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == Diagnostics.ModelDiagnosticSeverity.Error);
        var graph = ModelCompiler.Prepare(model, "model.onnx");
        var report = ModelCompiler.Quantize(graph, GeneratedModel.Options(Precision.Int8, ranges));
        foreach (var op in new[] { "LayerNormalization", "Softmax", "ReduceMax", "ReduceSum", "Split" })
            Assert.Contains(graph.Nodes, n => n.OpType == op);
        Assert.Contains("out_proj", report.QuantizedNodes);

        using var generated = GeneratedModel.Load(result.Files, graph);
        double worst = 0;
        foreach (var x in Samples(4, 500))
        {
            var reference = Reference(graph, x);
            var actual = generated.Run(x);
            var exact = Reference(floatGraph, x);
            for (int o = 0; o < 2; o++)
            {
                var a = (float[])actual[o];
                var r = reference[o].Floats!;
                float range = exact[o].Floats!.Max(Math.Abs);
                for (int i = 0; i < a.Length; i++)
                    Assert.True(Math.Abs(a[i] - r[i]) <= 1e-4f * range, $"output {o}[{i}]: generated {a[i]}, reference {r[i]}");
                worst = Math.Max(worst, exact[o].Floats!.Zip(a, (e, v) => Math.Abs(e - v) / range).Max());
            }
        }
        Assert.True(worst < 0.1, $"INT8 is {worst:P1} of the output range away from float");
    }

    [Fact]
    public void The_fused_QKV_product_is_split_in_uint8_and_its_parts_reach_the_attention_QMatMuls_without_conversions()
    {
        var model = EncoderBlock();
        var floatGraph = ModelCompiler.Prepare(model, "model.onnx");
        var graph = ModelCompiler.Prepare(model, "model.onnx");
        var report = ModelCompiler.Quantize(graph, GeneratedModel.Options(Precision.Int8, Ranges(floatGraph, Samples(16, 100))));
        var split = Assert.Single(Nodes(graph, "Split"));
        Assert.Equal(DataType.UInt8, graph[split.Inputs[0]].Type);
        Assert.All(split.Outputs, o => Assert.Equal(DataType.UInt8, graph[o].Type));
        Assert.DoesNotContain(report.FloatNodes, f => f.OpType is "Split" or "Transpose");
        // Up to Q x K^T, one Quantize (the graph input) and no Dequantize: q and k^T stay on the QKV product's grid.
        var upToScores = graph.Nodes.TakeWhile(n => n.OpType != "QMatMul").ToList();
        Assert.DoesNotContain(upToScores, n => n.OpType == "Dequantize");
        Assert.Single(upToScores, n => n.OpType == "Quantize");
        // v reaches probabilities x V as it is: that QMatMul's B is a Split output.
        Assert.Contains(Nodes(graph, "QMatMul"), m => split.Outputs.Contains(m.Inputs[1]));
    }
}
