using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Quantization;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Quantization.QuantTestKit;

namespace QuantGen.Compiler.Tests.Quantization;

/// <summary>
/// QuantizeLinear/DequantizeLinear on the float path (exact ONNX semantics, against ONNX Runtime) and QDQ models on the
/// INT8 path: the model's own int8 weights and activation scales are used as they are, with no calibration.
/// </summary>
public class QdqTests
{
    private static readonly Dictionary<string, (float, float)> NoCalibration = new();

    private static byte[] Raw(sbyte[] values) => values.Select(v => (byte)v).ToArray();

    private static OnnxModelBuilder Scalar(OnnxModelBuilder b, string name, float value) => b.Initializer(name, Array.Empty<long>(), new[] { value });

    private static OnnxModelBuilder ZeroPoint(OnnxModelBuilder b, string name, int type, params int[] values) =>
        b.RawInitializer(name, type, values.Length == 1 ? Array.Empty<long>() : new long[] { values.Length }, values.Select(v => (byte)v).ToArray());

    /// <summary>x → QuantizeLinear → DequantizeLinear, plus the quantized tensor itself as a second output.</summary>
    private static byte[] RoundTripModel(long opset, int zeroType, float[] scales, int[] zeros, long? axis, long[] shape)
    {
        var b = new OnnxModelBuilder(opset).Input("x", shape);
        if (scales.Length == 1) Scalar(b, "s", scales[0]);
        else b.Initializer("s", new long[] { scales.Length }, scales);
        ZeroPoint(b, "z", zeroType, zeros);
        var attrs = axis == null ? Array.Empty<OnnxAttribute>() : new[] { OnnxAttribute.Int("axis", axis.Value) };
        return b.Node("q", "QuantizeLinear", new[] { "x", "s", "z" }, new[] { "xq" }, attrs)
            .Node("dq", "DequantizeLinear", new[] { "xq", "s", "z" }, new[] { "y" }, attrs)
            .Output("y", shape)
            .TypedOutput("xq", zeroType, shape.Cast<object>().ToArray())
            .ToBytes();
    }

    public static IEnumerable<object[]> RoundTrips() => new[]
    {
        new object[] { 10L, OnnxModelBuilder.ElementType.UInt8, new[] { 0.02f }, new[] { 128 }, null!, new long[] { 2, 3, 5 } },
        new object[] { 13L, OnnxModelBuilder.ElementType.UInt8, new[] { 0.05f }, new[] { 0 }, null!, new long[] { 40 } },
        new object[] { 13L, OnnxModelBuilder.ElementType.Int8, new[] { 0.013f }, new[] { -7 }, null!, new long[] { 1, 4, 6 } },
        new object[] { 13L, OnnxModelBuilder.ElementType.Int8, new[] { 0.01f, 0.1f, 0.02f, 1f }, new[] { 0, -128, 127, 3 }, 1L, new long[] { 2, 4, 3 } },
        new object[] { 13L, OnnxModelBuilder.ElementType.UInt8, new[] { 0.01f, 0.03f }, new[] { 10, 250 }, -1L, new long[] { 3, 2 } },
        new object[] { 19L, OnnxModelBuilder.ElementType.UInt8, new[] { 0.04f, 0.01f, 0.2f }, new[] { 1, 2, 3 }, 0L, new long[] { 3, 7 } },
    };

    [Theory]
    [MemberData(nameof(RoundTrips))]
    public void QuantizeLinear_and_DequantizeLinear_match_OnnxRuntime_exactly(long opset, int zeroType, float[] scales, int[] zeros, long? axis, long[] shape)
    {
        var model = RoundTripModel(opset, zeroType, scales, zeros, axis, shape);
        int n = (int)shape.Aggregate(1L, (a, v) => a * v);
        var random = new Random(9);
        // Values around the grid, exact ties (k + 0.5 steps) and far outside both ends.
        var x = Enumerable.Range(0, n).Select(i => (i % 5) switch
        {
            0 => (float)(random.NextDouble() * 6 - 3),
            1 => (random.Next(-20, 20) + 0.5f) * scales[0],
            2 => (float)(random.NextDouble() * 2000 - 1000),
            _ => (float)(random.NextDouble() * 0.5 - 0.25),
        }).ToArray();
        var expected = OnnxRuntime(model, x, shape.Select(d => (int)d).ToArray());

        var run = GeneratorHarness.RunModel(model);
        Assert.True(run.AllDiagnostics.Count == 0, string.Join("\n", run.AllDiagnostics));
        var graph = ModelCompiler.Prepare(model, "model.onnx");
        using (var loaded = LoadedModel.Load(run, graph))
        {
            var actual = loaded.Run(x);
            Assert.Equal((float[])expected[0], (float[])actual[0]);
            Assert.Equal(expected[1].Cast<object>().Select(Convert.ToInt32), actual[1].Cast<object>().Select(Convert.ToInt32));
        }
        // The reference folds the same computation when the input is a constant.
        var reference = Reference(graph, x);
        Assert.Equal((float[])expected[0], reference[0].Floats!);
        Assert.Equal(expected[1].Cast<object>().Select(Convert.ToInt64), reference[1].Longs!);
    }

    [Fact]
    public void Dequantized_int8_weights_fold_and_remember_their_int8_values()
    {
        var w = new sbyte[] { -128, -1, 0, 1, 127, 5 };
        var model = new OnnxModelBuilder(13).Input("x", 2, 3)
            .RawInitializer("w", OnnxModelBuilder.ElementType.Int8, new long[] { 3, 2 }, Raw(w))
            .Initializer("ws", new long[] { 2 }, new[] { 0.5f, 0.25f })
            .Node("dq", "DequantizeLinear", new[] { "w", "ws" }, new[] { "wf" }, OnnxAttribute.Int("axis", 1))
            .Node("mm", "MatMul", new[] { "x", "wf" }, new[] { "y" })
            .Output("y", 2, 2).ToBytes();
        var graph = ModelCompiler.Prepare(model, "model.onnx");
        Assert.Equal(new[] { "MatMul" }, graph.Nodes.Select(n => n.OpType));
        var folded = graph["wf"].Constant!;
        Assert.Equal(new[] { -64f, -0.25f, 0f, 0.25f, 63.5f, 1.25f }, folded.Floats);
        var hint = WeightHint.Of(folded);
        Assert.NotNull(hint);
        Assert.Equal(w, hint!.Values);
        Assert.Equal(1, hint.Axis);
        Assert.Equal(new[] { 0.5f, 0.25f }, hint.Scales);
        // MatMul's channels are B's columns: the hint transposes into one row per output channel.
        var perChannel = hint.ToPerChannel(1)!;
        Assert.Equal(new sbyte[] { -128, 0, 127, -1, 1, 5 }, perChannel.Values);
        Assert.Null(hint.ToPerChannel(0));

        // uint8 weights with zero point 128 are the same symmetric grid: q - 128. Another zero point is not symmetric.
        foreach (var (zero, symmetric) in new[] { (128, true), (100, false) })
        {
            var u8 = new OnnxModelBuilder(13).Input("x", 2, 3)
                .RawInitializer("w", OnnxModelBuilder.ElementType.UInt8, new long[] { 3, 2 }, new byte[] { 0, 127, 128, 129, 255, 133 })
                .Initializer("ws", Array.Empty<long>(), new[] { 0.5f });
            ZeroPoint(u8, "wz", OnnxModelBuilder.ElementType.UInt8, zero)
                .Node("dq", "DequantizeLinear", new[] { "w", "ws", "wz" }, new[] { "wf" })
                .Node("mm", "MatMul", new[] { "x", "wf" }, new[] { "y" })
                .Output("y", 2, 2);
            var g = ModelCompiler.Prepare(u8.ToBytes(), "model.onnx");
            var h = WeightHint.Of(g["wf"].Constant!);
            Assert.Equal(symmetric, h != null);
            if (symmetric) Assert.Equal(new sbyte[] { -128, -1, 0, 1, 127, 5 }, h!.Values);
        }
    }

    [Fact]
    public void Unsupported_forms_are_reported_not_crashes()
    {
        var perAxisBefore13 = new OnnxModelBuilder(10).Input("x", 2, 2)
            .Initializer("s", new long[] { 2 }, new[] { 0.1f, 0.2f })
            .Node("q", "QuantizeLinear", new[] { "x", "s" }, new[] { "y" })
            .TypedOutput("y", OnnxModelBuilder.ElementType.UInt8, 2L, 2L).ToBytes();
        Assert.Contains("opset 13", Compiler.Tests.Ops.OpCheck.Fails(perAxisBefore13, "QG0006", "q"));

        var runtimeScale = new OnnxModelBuilder(13).Input("x", 2, 2).Input("s")
            .Node("q", "QuantizeLinear", new[] { "x", "s" }, new[] { "y" })
            .TypedOutput("y", OnnxModelBuilder.ElementType.UInt8, 2L, 2L).ToBytes();
        Compiler.Tests.Ops.OpCheck.Fails(runtimeScale, "QG0005", "q");

        var blocked = new OnnxModelBuilder(21).Input("x", 2, 2)
            .Initializer("s", new long[] { 2, 1 }, new[] { 0.1f, 0.2f })
            .Node("q", "QuantizeLinear", new[] { "x", "s" }, new[] { "y" }, OnnxAttribute.Int("block_size", 2))
            .TypedOutput("y", OnnxModelBuilder.ElementType.UInt8, 2L, 2L).ToBytes();
        Compiler.Tests.Ops.OpCheck.Fails(blocked, "QG0005", "q");
    }

    // ---- A QDQ model: every tensor covered by the model's own Q/DQ, weights in three styles. ----

    private const float InputScale = 2f / 255f;
    private const int InputZero = 128;
    private const float OutputScale = 0.05f;
    private const int OutputZero = 120;

    private sealed record QdqModel(byte[] Bytes, sbyte[] W1, sbyte[] W2, sbyte[] W3, float[] W2Scales);

    private static OnnxModelBuilder Pair(OnnxModelBuilder b, string x, string y, float scale, int type, int zero)
    {
        Scalar(b, y + "_s", scale);
        ZeroPoint(b, y + "_z", type, zero);
        return b.Node(y + "_q", "QuantizeLinear", new[] { x, y + "_s", y + "_z" }, new[] { y + "_i" })
            .Node(y + "_dq", "DequantizeLinear", new[] { y + "_i", y + "_s", y + "_z" }, new[] { y });
    }

    /// <summary>
    /// x → Q/DQ → Conv (int8 initializer + per-channel DQ) + Relu → Q/DQ → Conv (float weights through per-channel Q/DQ, as
    /// PyTorch exports fake quantization) → Q/DQ int8 → Add (residual) + Relu → Q/DQ → Concat → Q/DQ → AveragePool →
    /// Q/DQ → GlobalAveragePool → Q/DQ → Flatten → Gemm (int8 per-tensor weights) → Q/DQ → logits.
    /// </summary>
    private static QdqModel BuildQdqModel()
    {
        var random = new Random(77);
        const int U8 = OnnxModelBuilder.ElementType.UInt8, I8 = OnnxModelBuilder.ElementType.Int8;
        var b = new OnnxModelBuilder(13).Input("x", 1, 3, 8, 8);
        Pair(b, "x", "xq", InputScale, U8, InputZero);

        var w1 = Enumerable.Range(0, 8 * 3 * 9).Select(_ => (sbyte)random.Next(-128, 128)).ToArray();
        var w1s = Enumerable.Range(0, 8).Select(i => 0.002f + 0.0005f * i).ToArray();
        b.RawInitializer("w1", I8, new long[] { 8, 3, 3, 3 }, Raw(w1)).Initializer("w1_s", new long[] { 8 }, w1s);
        ZeroPoint(b, "w1_z", I8, new int[8]);
        b.Node("w1_dq", "DequantizeLinear", new[] { "w1", "w1_s", "w1_z" }, new[] { "w1f" }, OnnxAttribute.Int("axis", 0));
        b.Initializer("b1", new long[] { 8 }, OnnxModelBuilder.RandomFloats(8, 1, 0.2f));
        b.Node("conv1", "Conv", new[] { "xq", "w1f", "b1" }, new[] { "c1" }, OnnxAttribute.Ints("pads", 1, 1, 1, 1), OnnxAttribute.Ints("kernel_shape", 3, 3));
        b.Node("relu1", "Relu", new[] { "c1" }, new[] { "r1" });
        Pair(b, "r1", "r1q", 3f / 255f, U8, 0);

        var w2f = OnnxModelBuilder.RandomFloats(8 * 8 * 9, 2, 0.15f);
        var w2s = Enumerable.Range(0, 8).Select(c => Enumerable.Range(c * 72, 72).Max(i => Math.Abs(w2f[i])) / 127f).ToArray();
        var w2 = w2f.Select((v, i) => (sbyte)Math.Clamp(Math.Round(v / w2s[i / 72], MidpointRounding.ToEven), -128, 127)).ToArray();
        b.Initializer("w2", new long[] { 8, 8, 3, 3 }, w2f).Initializer("w2_s", new long[] { 8 }, w2s);
        ZeroPoint(b, "w2_z", I8, new int[8]);
        b.Node("w2_q", "QuantizeLinear", new[] { "w2", "w2_s", "w2_z" }, new[] { "w2i" }, OnnxAttribute.Int("axis", 0))
            .Node("w2_dq", "DequantizeLinear", new[] { "w2i", "w2_s", "w2_z" }, new[] { "w2d" }, OnnxAttribute.Int("axis", 0));
        b.Initializer("b2", new long[] { 8 }, OnnxModelBuilder.RandomFloats(8, 3, 0.2f));
        b.Node("conv2", "Conv", new[] { "r1q", "w2d", "b2" }, new[] { "c2" }, OnnxAttribute.Ints("pads", 1, 1, 1, 1));
        Pair(b, "c2", "c2q", 4f / 255f, I8, -10);

        b.Node("add", "Add", new[] { "c2q", "r1q" }, new[] { "sum" }).Node("relu2", "Relu", new[] { "sum" }, new[] { "sr" });
        Pair(b, "sr", "srq", 5f / 255f, U8, 0);
        b.Node("cat", "Concat", new[] { "srq", "r1q" }, new[] { "cat" }, OnnxAttribute.Int("axis", 1));
        Pair(b, "cat", "catq", 5f / 255f, U8, 0);
        b.Node("avg", "AveragePool", new[] { "catq" }, new[] { "avg" }, OnnxAttribute.Ints("kernel_shape", 2, 2), OnnxAttribute.Ints("strides", 2, 2));
        Pair(b, "avg", "avgq", 4f / 255f, U8, 0);
        b.Node("gap", "GlobalAveragePool", new[] { "avgq" }, new[] { "gap" });
        Pair(b, "gap", "gapq", 2f / 255f, U8, 0);
        b.Node("flat", "Flatten", new[] { "gapq" }, new[] { "flat" });

        var w3 = Enumerable.Range(0, 5 * 16).Select(_ => (sbyte)random.Next(-127, 128)).ToArray();
        b.RawInitializer("w3", I8, new long[] { 5, 16 }, Raw(w3));
        Scalar(b, "w3_s", 0.01f);
        ZeroPoint(b, "w3_z", I8, 0);
        b.Node("w3_dq", "DequantizeLinear", new[] { "w3", "w3_s", "w3_z" }, new[] { "w3f" });
        b.Initializer("b3", new long[] { 5 }, OnnxModelBuilder.RandomFloats(5, 4, 0.5f));
        b.Node("fc", "Gemm", new[] { "flat", "w3f", "b3" }, new[] { "fc" }, OnnxAttribute.Int("transB", 1));
        Pair(b, "fc", "logits", OutputScale, U8, OutputZero);
        b.Output("logits", 1, 5);
        return new QdqModel(b.ToBytes(), w1, w2, w3, w2s);
    }

    private static float[] Input(int seed) => OnnxModelBuilder.RandomFloats(3 * 64, seed, 1f);

    [Fact]
    public void A_QDQ_model_compiles_in_Float32_and_matches_OnnxRuntime()
    {
        var model = BuildQdqModel().Bytes;
        var run = GeneratorHarness.RunModel(model);
        Assert.True(run.AllDiagnostics.Count == 0, string.Join("\n", run.AllDiagnostics));
        using var loaded = LoadedModel.Load(run, ModelCompiler.Prepare(model, "model.onnx"));
        int exact = 0, total = 0;
        for (int seed = 0; seed < 8; seed++)
        {
            var x = Input(seed);
            var expected = (float[])OnnxRuntime(model, x, new[] { 1, 3, 8, 8 })[0];
            var actual = (float[])loaded.Run(x)[0];
            for (int i = 0; i < expected.Length; i++)
            {
                // Fake quantization turns float summation-order differences into whole steps, rarely: allow one output step.
                Assert.True(Math.Abs(expected[i] - actual[i]) <= OutputScale * 1.01f, $"seed {seed}, logit {i}: {actual[i]} vs ONNX Runtime's {expected[i]}");
                total++;
                if (expected[i] == actual[i]) exact++;
            }
        }
        Assert.True(exact >= total * 9 / 10, $"only {exact} of {total} logits equal ONNX Runtime's");
    }

    private static (Graph Graph, QuantizationReport Report) QuantizedQdq(byte[] model)
    {
        var graph = ModelCompiler.Prepare(model, "model.onnx");
        var report = ModelCompiler.Quantize(graph, GeneratedModel.Options(Precision.Int8, NoCalibration));
        return (graph, report);
    }

    [Fact]
    public void A_QDQ_model_runs_in_INT8_with_the_models_own_weights_and_scales_without_calibration()
    {
        var m = BuildQdqModel();
        var (graph, report) = QuantizedQdq(m.Bytes);
        Assert.True(report.FloatNodes.Count == 0, "float nodes: " + string.Join(", ", report.FloatNodes));
        Assert.Empty(report.IgnoredWeightHints);
        Assert.Equal(new[] { "conv1", "conv2", "fc" }, report.ModelWeightNodes.OrderBy(n => n, StringComparer.Ordinal));
        Assert.Equal(new[] { "Quantize", "QConv", "QConv", "QAdd", "QConcat", "QAveragePool", "QGlobalAveragePool", "Flatten", "QGemm", "Dequantize" },
            graph.Nodes.Select(n => n.OpType));

        // The model's int8 weights, bit for bit: an int8 initializer, a float initializer through Q/DQ, a per-tensor one.
        long[] Weights(string node) => graph[graph.Nodes.Single(n => n.Name == node).Inputs[1]].Constant!.Longs!;
        Assert.Equal(m.W1.Select(v => (long)v), Weights("conv1"));
        Assert.Equal(m.W2.Select(v => (long)v), Weights("conv2"));
        Assert.Equal(m.W3.Select(v => (long)v), Weights("fc"));

        // The input is quantized with the model's scale and zero point; the logits dequantized with the model's.
        var quantize = graph.Nodes.Single(n => n.OpType == "Quantize");
        Assert.Equal(InputScale, quantize.Attributes["scale"].Float);
        Assert.Equal(InputZero, quantize.Attributes["zero_point"].Int);
        var dequantize = graph.Nodes.Single(n => n.OpType == "Dequantize");
        Assert.Equal(OutputScale, dequantize.Attributes["scale"].Float);
        Assert.Equal(OutputZero, dequantize.Attributes["zero_point"].Int);
        Assert.Equal("logits", dequantize.Outputs[0]);

        // An int8 activation (zero point -10) becomes uint8 with zero point 118, same scale: conv2's output and the Add's input.
        var conv2 = graph.Nodes.Single(n => n.Name == "conv2");
        Assert.Equal(118, conv2.Attributes["y_zero_point"].Int);
        Assert.Equal(118, graph.Nodes.Single(n => n.OpType == "QAdd").Attributes["a_zero_point"].Int);

        // The weight scales are the model's: conv2's requantization multiplier is s_x * s_w[c] / s_y.
        var mult = graph[conv2.Inputs[3]].Constant!.Longs!;
        var shift = graph[conv2.Inputs[4]].Constant!.Longs!;
        for (int c = 0; c < 8; c++)
        {
            double real = (double)(3f / 255f) * m.W2Scales[c] / (4f / 255f);
            Assert.Equal(QuantMath.FixedPoint(real), ((int)mult[c], (int)shift[c]));
        }
        Assert.Contains("xq", report.FixedParamTensors);
        Assert.Contains("logits", report.FixedParamTensors);
        Assert.Equal(16, report.FoldedQdqNodes.Count); // 8 activation pairs
    }

    [Fact]
    public void A_QDQ_models_INT8_code_matches_its_integer_reference_bit_for_bit_and_stays_near_OnnxRuntime()
    {
        var m = BuildQdqModel();
        var result = ModelCompiler.Compile(m.Bytes, GeneratedModel.Options(Precision.Int8, NoCalibration));
        Assert.True(result.Diagnostics.Count == 0, string.Join("\n", result.Diagnostics));
        var (graph, _) = QuantizedQdq(m.Bytes);
        using var model = GeneratedModel.Load(result.Files, graph);
        for (int seed = 0; seed < 8; seed++)
        {
            var x = Input(seed);
            var reference = Reference(graph, x)[0];
            var actual = (float[])model.Run(x)[0];
            BitExact(reference, actual, $"seed {seed}");
            var fake = (float[])OnnxRuntime(m.Bytes, x, new[] { 1, 3, 8, 8 })[0];
            for (int i = 0; i < fake.Length; i++)
                Assert.True(Math.Abs(fake[i] - actual[i]) <= 4 * OutputScale, $"seed {seed}, logit {i}: INT8 {actual[i]}, fake-quantized float {fake[i]}");
        }
    }

    [Fact]
    public void Without_folding_the_QDQ_model_needs_calibration()
    {
        var m = BuildQdqModel();
        var graph = ModelCompiler.Prepare(m.Bytes, "model.onnx");
        var report = Compiler.Passes.QuantizeGraph.Run(graph, new QuantizationOptions { FoldQdq = false });
        Assert.Empty(report.QuantizedNodes);
        Assert.Contains(report.FloatNodes, f => f.Node == "conv1" && f.Reason.Contains("calibration"));
    }

    [Fact]
    public void A_weight_changed_after_dequantization_is_quantized_again_and_reported()
    {
        // BatchNormalization after the Conv is folded into its weights: they no longer equal the model's int8 values.
        var b = new OnnxModelBuilder(13).Input("x", 1, 2, 5, 5);
        Pair(b, "x", "xq", 0.01f, OnnxModelBuilder.ElementType.UInt8, 128);
        b.RawInitializer("w", OnnxModelBuilder.ElementType.Int8, new long[] { 2, 2, 3, 3 }, Raw(Enumerable.Range(0, 36).Select(i => (sbyte)(i * 7 - 120)).ToArray()))
            .Initializer("ws", new long[] { 2 }, new[] { 0.01f, 0.02f })
            .Node("wdq", "DequantizeLinear", new[] { "w", "ws" }, new[] { "wf" }, OnnxAttribute.Int("axis", 0))
            .Node("conv", "Conv", new[] { "xq", "wf" }, new[] { "c" })
            .Initializer("g", new long[] { 2 }, new[] { 1.5f, 0.5f }).Initializer("beta", new long[] { 2 }, new[] { 0.1f, -0.1f })
            .Initializer("mean", new long[] { 2 }, new[] { 0.2f, 0f }).Initializer("var", new long[] { 2 }, new[] { 1f, 4f })
            .Node("bn", "BatchNormalization", new[] { "c", "g", "beta", "mean", "var" }, new[] { "y" });
        Pair(b, "y", "yq", 0.05f, OnnxModelBuilder.ElementType.UInt8, 100);
        b.Output("yq", 1, 2, 3, 3);
        var model = b.ToBytes();
        var (graph, report) = QuantizedQdq(model);
        Assert.Empty(report.ModelWeightNodes);
        Assert.Contains(graph.Nodes, n => n.OpType == "QConv");

        // A hint given by name that does not match the weights is reported and ignored.
        var prepared = ModelCompiler.Prepare(model, "model.onnx");
        var conv = prepared.Nodes.Single(n => n.OpType == "Conv");
        var wrong = new WeightHint(prepared[conv.Inputs[1]].Shape!, new sbyte[36], new[] { 1f, 1f }, 0);
        var ignored = Compiler.Passes.QuantizeGraph.Run(prepared, new QuantizationOptions { WeightHints = new Dictionary<string, WeightHint> { [conv.Inputs[1]] = wrong } });
        Assert.Contains(ignored.IgnoredWeightHints, h => h.Node == conv.Name && h.Reason.Contains("no longer equal"));
    }

    [Fact]
    public void A_pair_on_a_tensor_read_elsewhere_in_float_keeps_both_readers_right()
    {
        // x is read by the Q/DQ pair and directly by Sigmoid (float): the pair folds; Sigmoid reads the float x, and the
        // Add (float: Sigmoid's output has no parameters) reads exactly the model's dequantized values.
        var b = new OnnxModelBuilder(13).Input("x", 1, 4);
        Pair(b, "x", "xq", 0.02f, OnnxModelBuilder.ElementType.Int8, 0);
        b.Node("sig", "Sigmoid", new[] { "x" }, new[] { "s" })
            .Node("add", "Add", new[] { "xq", "s" }, new[] { "y" })
            .Output("y", 1, 4);
        var model = b.ToBytes();
        var (graph, report) = QuantizedQdq(model);
        Assert.Contains(report.FloatNodes, f => f.Node == "sig");
        Assert.Contains(report.FloatNodes, f => f.Node == "add"); // Sigmoid's output has no parameters
        var x = new[] { -1f, 0.013f, 0.5f, 3f };
        var expected = (float[])OnnxRuntime(model, x, new[] { 1, 4 })[0];
        var actual = Reference(graph, x)[0].Floats!;
        for (int i = 0; i < 4; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6f, $"{i}: {actual[i]} vs ONNX Runtime's {expected[i]}");
        Assert.Contains("xq_q", report.FoldedQdqNodes);
    }

    [Fact]
    public void Conflicting_pairs_and_per_axis_activations_stay_float()
    {
        var b = new OnnxModelBuilder(13).Input("x", 1, 3);
        Pair(b, "x", "a", 0.02f, OnnxModelBuilder.ElementType.UInt8, 10);
        Pair(b, "x", "c", 0.03f, OnnxModelBuilder.ElementType.UInt8, 10);   // a second pair on x with other parameters
        b.Initializer("ps", new long[] { 3 }, new[] { 0.1f, 0.2f, 0.3f });
        b.Node("pq", "QuantizeLinear", new[] { "x", "ps" }, new[] { "pi" }, OnnxAttribute.Int("axis", 1))
            .Node("pdq", "DequantizeLinear", new[] { "pi", "ps" }, new[] { "p" }, OnnxAttribute.Int("axis", 1))
            .Node("add1", "Add", new[] { "a", "c" }, new[] { "s" })
            .Node("add2", "Add", new[] { "s", "p" }, new[] { "y" })
            .Output("y", 1, 3);
        var model = b.ToBytes();
        var (graph, _) = QuantizedQdq(model);
        Assert.Contains(graph.Nodes, n => n.Name == "c_q");     // the conflicting pair is left as float ops
        Assert.Contains(graph.Nodes, n => n.Name == "pq");      // per-axis activations too
        var x = new[] { -0.3f, 0.1f, 0.77f };
        var expected = (float[])OnnxRuntime(model, x, new[] { 1, 3 })[0];
        var actual = Reference(graph, x)[0].Floats!;
        for (int i = 0; i < 3; i++) Assert.Equal(expected[i], actual[i], 4);
    }

    [Fact]
    public void KeepFloat_on_either_half_of_a_pair_keeps_the_pair_as_float_ops()
    {
        var m = BuildQdqModel();
        foreach (var kept in new[] { "r1q_q", "r1q_dq" })
        {
            var graph = ModelCompiler.Prepare(m.Bytes, "model.onnx");
            var report = ModelCompiler.Quantize(graph, GeneratedModel.Options(Precision.Int8, NoCalibration) with { KeepFloat = new[] { kept } });
            Assert.Contains(graph.Nodes, n => n.Name == "r1q_q");
            Assert.Contains(graph.Nodes, n => n.Name == "r1q_dq");
            Assert.DoesNotContain("r1q_q", report.FoldedQdqNodes);
            var x = Input(1);
            var fake = (float[])OnnxRuntime(m.Bytes, x, new[] { 1, 3, 8, 8 })[0];
            var int8 = Reference(graph, x)[0].Floats!;
            for (int i = 0; i < fake.Length; i++)
                Assert.True(Math.Abs(fake[i] - int8[i]) <= 4 * OutputScale, $"{kept} kept: logit {i}: {int8[i]} vs {fake[i]}");
        }
    }
}
