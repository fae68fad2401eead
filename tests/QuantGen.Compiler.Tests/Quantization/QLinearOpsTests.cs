using System;
using System.Linq;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Quantization.QuantTestKit;

namespace QuantGen.Compiler.Tests.Quantization;

/// <summary>
/// The ONNX integer operators (QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger) against ONNX Runtime, exactly:
/// the generated kernels and the reference. Each model quantizes a float input with QuantizeLinear, runs the op, and
/// outputs both its integer result and that result dequantized.
/// </summary>
public class QLinearOpsTests
{
    private const int U8 = OnnxModelBuilder.ElementType.UInt8, I8 = OnnxModelBuilder.ElementType.Int8, I32 = OnnxModelBuilder.ElementType.Int32;

    private static OnnxModelBuilder Scalar(OnnxModelBuilder b, string name, float v) => b.Initializer(name, Array.Empty<long>(), new[] { v });

    private static OnnxModelBuilder Ints(OnnxModelBuilder b, string name, int type, long[] dims, int[] values) => type == I32
        ? b.RawInitializer(name, type, dims, values.SelectMany(BitConverter.GetBytes).ToArray())
        : b.RawInitializer(name, type, dims, values.Select(v => (byte)v).ToArray());

    private static int[] RandomInts(Random r, int count, int type) =>
        Enumerable.Range(0, count).Select(_ => type == U8 ? r.Next(0, 256) : type == I8 ? r.Next(-128, 128) : r.Next(-5000, 5000)).ToArray();

    /// <summary>Generated code and reference equal ONNX Runtime on every output, exactly.</summary>
    private static void Check(byte[] model, long[] inputShape, int seed)
    {
        var random = new Random(seed);
        int n = (int)inputShape.Aggregate(1L, (a, v) => a * v);
        var run = GeneratorHarness.RunModel(model);
        Assert.True(run.AllDiagnostics.Count == 0, string.Join("\n", run.AllDiagnostics));
        var graph = ModelCompiler.Prepare(model, "model.onnx");
        using var loaded = LoadedModel.Load(run, graph);
        for (int trial = 0; trial < 3; trial++)
        {
            var x = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 6 - 3)).ToArray();
            var expected = OnnxRuntime(model, x, inputShape.Select(d => (int)d).ToArray());
            var actual = loaded.Run(x);
            var reference = Reference(graph, x);
            for (int o = 0; o < expected.Length; o++)
            {
                var e = expected[o].Cast<object>().Select(Convert.ToDouble).ToArray();
                Assert.Equal(e, actual[o].Cast<object>().Select(Convert.ToDouble).ToArray());
                Assert.Equal(e, reference[o].Floats?.Select(v => (double)v).ToArray() ?? reference[o].Longs!.Select(v => (double)v).ToArray());
            }
        }
    }

    [Theory]
    [InlineData(U8, I8, true, 1, 0)]
    [InlineData(U8, U8, false, 1, 1)]
    [InlineData(I8, I8, true, 2, 1)]
    [InlineData(U8, I8, false, 4, 1)]   // depthwise
    public void QLinearConv_matches_OnnxRuntime(int xType, int wType, bool perChannel, int group, int pad)
    {
        var r = new Random(xType * 10 + wType + group);
        int c = 4, m = 4 * (group == 4 ? 1 : 2), cg = c / group;
        var b = new OnnxModelBuilder(13).Input("x", 1, c, 6, 5);
        Scalar(b, "xs", 0.03f);
        Ints(b, "xz", xType, Array.Empty<long>(), new[] { xType == U8 ? 120 : -3 });
        b.Node("q", "QuantizeLinear", new[] { "x", "xs", "xz" }, new[] { "xq" });
        Ints(b, "w", wType, new long[] { m, cg, 3, 3 }, RandomInts(r, m * cg * 9, wType));
        if (perChannel) b.Initializer("ws", new long[] { m }, Enumerable.Range(0, m).Select(i => 0.004f + 0.001f * i).ToArray());
        else Scalar(b, "ws", 0.005f);
        Ints(b, "wz", wType, perChannel ? new long[] { m } : Array.Empty<long>(), perChannel ? new int[m] : new[] { wType == U8 ? 128 : 0 });
        Scalar(b, "ys", 0.05f);
        Ints(b, "yz", xType, Array.Empty<long>(), new[] { xType == U8 ? 100 : 5 });
        Ints(b, "bias", I32, new long[] { m }, RandomInts(r, m, I32));
        b.Node("conv", "QLinearConv", new[] { "xq", "xs", "xz", "w", "ws", "wz", "ys", "yz", "bias" }, new[] { "y" },
            OnnxAttribute.Ints("pads", pad, pad, pad, pad), OnnxAttribute.Ints("strides", 1, group == 2 ? 2 : 1), OnnxAttribute.Int("group", group));
        b.Node("dq", "DequantizeLinear", new[] { "y", "ys", "yz" }, new[] { "yf" });
        b.TypedOutput("y", xType, null, null, null, null).Output("yf");
        Check(b.ToBytes(), new long[] { 1, c, 6, 5 }, 1);
    }

    [Theory]
    [InlineData(U8, U8, false, 2)]
    [InlineData(U8, I8, true, 2)]
    [InlineData(I8, I8, false, 3)]
    public void QLinearMatMul_matches_OnnxRuntime(int aType, int bType, bool perColumn, int rank)
    {
        var r = new Random(aType * 7 + bType);
        int k = 13, n = 6;
        var shape = rank == 2 ? new long[] { 3, k } : new long[] { 2, 3, k };
        var b = new OnnxModelBuilder(13).Input("x", shape);
        Scalar(b, "as", 0.02f);
        Ints(b, "az", aType, Array.Empty<long>(), new[] { aType == U8 ? 128 : 2 });
        b.Node("q", "QuantizeLinear", new[] { "x", "as", "az" }, new[] { "a" });
        Ints(b, "b", bType, new long[] { k, n }, RandomInts(r, k * n, bType));
        if (perColumn) b.Initializer("bs", new long[] { n }, Enumerable.Range(0, n).Select(i => 0.003f + 0.0007f * i).ToArray());
        else Scalar(b, "bs", 0.004f);
        Ints(b, "bz", bType, perColumn ? new long[] { n } : Array.Empty<long>(), perColumn ? new int[n] : new[] { bType == U8 ? 127 : -1 });
        Scalar(b, "ys", 0.03f);
        Ints(b, "yz", aType, Array.Empty<long>(), new[] { aType == U8 ? 128 : 0 });
        b.Node("mm", "QLinearMatMul", new[] { "a", "as", "az", "b", "bs", "bz", "ys", "yz" }, new[] { "y" });
        b.Node("dq", "DequantizeLinear", new[] { "y", "ys", "yz" }, new[] { "yf" });
        b.TypedOutput("y", aType, shape.Take(shape.Length - 1).Append((long)n).Cast<object>().ToArray()).Output("yf");
        Check(b.ToBytes(), shape, 2);
    }

    [Fact]
    public void MatMulInteger_and_ConvInteger_match_OnnxRuntime()
    {
        var r = new Random(5);
        var b = new OnnxModelBuilder(13).Input("x", 1, 3, 5, 5);
        Scalar(b, "xs", 0.02f);
        Ints(b, "xz", U8, Array.Empty<long>(), new[] { 128 });
        b.Node("q", "QuantizeLinear", new[] { "x", "xs", "xz" }, new[] { "xq" });
        Ints(b, "w", U8, new long[] { 4, 3, 3, 3 }, RandomInts(r, 108, U8));
        Ints(b, "wz", U8, Array.Empty<long>(), new[] { 131 });
        b.Node("conv", "ConvInteger", new[] { "xq", "w", "xz", "wz" }, new[] { "c" }, OnnxAttribute.Ints("pads", 1, 1, 1, 1));
        Ints(b, "m", I8, new long[] { 5, 7 }, RandomInts(r, 35, I8));
        Ints(b, "mz", I8, Array.Empty<long>(), new[] { 0 });
        b.Node("mm", "MatMulInteger", new[] { "xq", "m", "xz", "mz" }, new[] { "p" });
        b.TypedOutput("c", I32, 1L, 4L, 5L, 5L).TypedOutput("p", I32, 1L, 3L, 5L, 7L);
        Check(b.ToBytes(), new long[] { 1, 3, 5, 5 }, 3);
    }

    [Fact]
    public void Integer_operators_run_as_they_are_on_the_INT8_path()
    {
        var b = new OnnxModelBuilder(13).Input("x", 1, 6);
        Scalar(b, "as", 0.02f);
        Ints(b, "az", U8, Array.Empty<long>(), new[] { 128 });
        b.Node("q", "QuantizeLinear", new[] { "x", "as", "az" }, new[] { "a" });
        Ints(b, "b", I8, new long[] { 6, 2 }, new[] { 1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12 });
        Scalar(b, "bs", 0.01f);
        Ints(b, "bz", I8, Array.Empty<long>(), new[] { 0 });
        Scalar(b, "ys", 0.03f);
        Ints(b, "yz", U8, Array.Empty<long>(), new[] { 128 });
        b.Node("mm", "QLinearMatMul", new[] { "a", "as", "az", "b", "bs", "bz", "ys", "yz" }, new[] { "y" });
        b.Node("dq", "DequantizeLinear", new[] { "y", "ys", "yz" }, new[] { "yf" }).Output("yf");
        var graph = ModelCompiler.Prepare(b.ToBytes(), "model.onnx");
        var report = ModelCompiler.Quantize(graph, GeneratedModel.Options(Precision.Int8, new System.Collections.Generic.Dictionary<string, (float, float)>()));
        Assert.Empty(report.FloatNodes);
        Assert.Equal(new[] { "mm" }, report.QuantizedNodes);
        Assert.Equal(new[] { "QuantizeLinear", "QLinearMatMul", "DequantizeLinear" }, graph.Nodes.Select(n => n.OpType));
    }
}
