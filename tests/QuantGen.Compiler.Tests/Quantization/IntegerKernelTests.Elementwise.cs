using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Ops;
using QuantGen.Compiler.Ops.Quantized;
using QuantGen.Compiler.Quantization;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Quantization.QuantTestKit;

namespace QuantGen.Compiler.Tests.Quantization;

/// <summary>QAdd, the quantized pools, QConcat, Quantize/Dequantize, uint8 MaxPool and QLookup against their references.</summary>
public partial class IntegerKernelTests
{
    private static void AddQAdd(GraphBuilder b, Random random, int[] shape, QuantParams pa, QuantParams pb, QuantParams py, int min = 0, int max = 255,
        string? a = null, string? c = null)
    {
        string name = "add" + b.Graph.Nodes.Count;
        var p = QAdd.Compute(pa, pb, py, min, max, out var reason) ?? throw new InvalidOperationException(reason);
        a ??= b.Input(name + "_a", DataType.UInt8, shape);
        c ??= b.Input(name + "_b", DataType.UInt8, shape);
        b.Node("QAdd", Q, new[] { a, c }, Attrs(
            Int("a_zero_point", p.AZero), Int("a_multiplier", p.AMultiplier), Int("a_shift", p.AShift),
            Int("b_zero_point", p.BZero), Int("b_multiplier", p.BMultiplier), Int("b_shift", p.BShift),
            Int("y_zero_point", p.YZero), Int("y_multiplier", p.YMultiplier), Int("y_shift", p.YShift),
            Int("y_min", p.Min), Int("y_max", p.Max)));
    }

    private static QuantParams RandomParams(Random random) =>
        QuantParams.FromRange((float)(-random.NextDouble() * 8), (float)(random.NextDouble() * 8));

    [Fact]
    public void QAdd_generated_kernel_matches_its_reference()
    {
        var random = new Random(44);
        var b = new GraphBuilder();
        AddQAdd(b, random, new[] { 1 }, RandomParams(random), RandomParams(random), RandomParams(random));
        AddQAdd(b, random, new[] { 7 }, new QuantParams(0.1f, 128), new QuantParams(0.1f, 128), new QuantParams(0.2f, 128)); // equal scales
        AddQAdd(b, random, new[] { 2, 3, 5, 5 }, RandomParams(random), RandomParams(random), RandomParams(random));
        AddQAdd(b, random, new[] { 1, 4, 6, 6 }, RandomParams(random), RandomParams(random), RandomParams(random), min: 90);        // fused Relu
        AddQAdd(b, random, new[] { 1000 }, RandomParams(random), RandomParams(random), new QuantParams(0.001f, 3), 5, 250);        // saturating
        AddQAdd(b, random, new[] { 33 }, new QuantParams(1f, 0), new QuantParams(1e-12f, 7), new QuantParams(0.5f, 100));        // b vanishes
        AddQAdd(b, random, new[] { 40 }, new QuantParams(1f, 100), new QuantParams(0.5f, 20), new QuantParams(1e-6f, 128));      // output shift below 32
        AddQAdd(b, random, new[] { 17 }, new QuantParams(1e-3f, 255), new QuantParams(5f, 0), new QuantParams(0.01f, 128));       // scale ratio 5000
        CheckAll(b, U8Data);
    }

    [Fact]
    public void QAdd_is_close_to_the_float_sum()
    {
        var random = new Random(45);
        for (int trial = 0; trial < 200; trial++)
        {
            var pa = RandomParams(random);
            var pb = RandomParams(random);
            var py = QuantParams.FromRange(pa.Dequantize(0) + pb.Dequantize(0), pa.Dequantize(255) + pb.Dequantize(255));
            var p = QAdd.Compute(pa, pb, py, 0, 255, out _)!.Value;
            for (int i = 0; i < 50; i++)
            {
                int qa = random.Next(256), qb = random.Next(256);
                float real = pa.Dequantize(qa) + pb.Dequantize(qb);
                double exact = real / py.Scale + py.ZeroPoint;
                int q = p.Apply(qa, qb);
                // The 20-bit fixed point is within a hair of the real sum: the result is one of the two nearest q.
                Assert.True(Math.Abs(q - Math.Clamp(exact, 0, 255)) <= 0.5 + 1e-3, $"{qa} ({pa}) + {qb} ({pb}) = {real}: got {q}, exact {exact}");
            }
        }
    }

    [Fact]
    public void QAdd_rejects_an_output_scale_too_small_for_fixed_point()
    {
        Assert.Null(QAdd.Compute(new QuantParams(1f, 0), new QuantParams(1f, 0), new QuantParams(1e-16f, 0), 0, 255, out var reason));
        Assert.Contains("too small", reason);
    }

    private static void AddQGap(GraphBuilder b, Random random, int[] shape)
    {
        string name = "gap" + b.Graph.Nodes.Count;
        string x = b.Input(name + "_x", DataType.UInt8, shape);
        int plane = Shapes.ElementCount(shape) / (shape[0] * shape[1]);
        var px = RandomParams(random);
        var py = random.Next(2) == 0 ? px : RandomParams(random);
        var (m, s) = QAdd.FixedPointOrZero(px.Scale / ((double)plane * py.Scale));
        b.Node("QGlobalAveragePool", Q, new[] { x }, Attrs(Int("x_zero_point", px.ZeroPoint), Int("y_zero_point", py.ZeroPoint),
            Int("multiplier", m), Int("shift", s), Int("y_min", 0), Int("y_max", 255)));
    }

    [Fact]
    public void QGlobalAveragePool_generated_kernel_matches_its_reference()
    {
        var random = new Random(46);
        var b = new GraphBuilder();
        AddQGap(b, random, new[] { 1, 1, 1, 1 });
        AddQGap(b, random, new[] { 2, 3, 7, 7 });
        AddQGap(b, random, new[] { 1, 5, 13 });
        AddQGap(b, random, new[] { 1, 4, 1, 1 });
        AddQGap(b, random, new[] { 1, 64, 8, 8 });
        CheckAll(b, U8Data);
    }

    [Fact]
    public void QGlobalAveragePool_of_a_constant_plane_is_that_constant()
    {
        var b = new GraphBuilder();
        var (m, s) = QuantMath.FixedPoint(1.0 / 49);
        string x = b.Input("x", DataType.UInt8, 1, 2, 7, 7);
        b.Node("QGlobalAveragePool", Q, new[] { x }, Attrs(Int("x_zero_point", 17), Int("y_zero_point", 17), Int("multiplier", m), Int("shift", s)));
        var graph = b.Finish();
        var data = Enumerable.Repeat((byte)200, 49).Concat(Enumerable.Repeat((byte)3, 49)).ToArray();
        Assert.Equal(new long[] { 200, 3 }, Reference(graph, data)[0].Longs);
    }

    private static void AddQAvgPool(GraphBuilder b, Random random, int[] shape, long[] kernel, long[]? strides = null, long[]? pads = null,
        bool includePad = false, bool ceil = false)
    {
        string name = "avg" + b.Graph.Nodes.Count;
        string x = b.Input(name + "_x", DataType.UInt8, shape);
        var px = RandomParams(random);
        var py = random.Next(2) == 0 ? px : RandomParams(random);
        int k = (int)kernel.Aggregate(1L, (a, v) => a * v);
        var (m, s) = QAveragePool.Tables(k, px.Scale, py.Scale);
        var attrs = Attrs(IntList("kernel_shape", kernel), Int("x_zero_point", px.ZeroPoint), Int("y_zero_point", py.ZeroPoint),
            IntList("multipliers", m), IntList("shifts", s), Int("count_include_pad", includePad ? 1 : 0), Int("ceil_mode", ceil ? 1 : 0));
        if (strides != null) attrs["strides"] = IntList("strides", strides);
        if (pads != null) attrs["pads"] = IntList("pads", pads);
        b.Node("QAveragePool", Q, new[] { x }, attrs);
    }

    [Fact]
    public void QAveragePool_generated_kernel_matches_its_reference()
    {
        var random = new Random(47);
        var b = new GraphBuilder();
        AddQAvgPool(b, random, new[] { 1, 1, 1, 1 }, new long[] { 1, 1 });
        AddQAvgPool(b, random, new[] { 2, 3, 8, 8 }, new long[] { 2, 2 }, strides: new long[] { 2, 2 });
        AddQAvgPool(b, random, new[] { 1, 2, 7, 7 }, new long[] { 3, 3 }, pads: new long[] { 1, 1, 1, 1 });
        AddQAvgPool(b, random, new[] { 1, 2, 7, 7 }, new long[] { 3, 3 }, pads: new long[] { 1, 1, 1, 1 }, includePad: true);
        AddQAvgPool(b, random, new[] { 1, 2, 7, 6 }, new long[] { 3, 2 }, strides: new long[] { 2, 2 }, ceil: true);
        AddQAvgPool(b, random, new[] { 1, 2, 8, 7 }, new long[] { 3, 3 }, strides: new long[] { 2, 3 }, pads: new long[] { 0, 1, 2, 0 }, includePad: true, ceil: true);
        AddQAvgPool(b, random, new[] { 1, 3, 11 }, new long[] { 4 }, strides: new long[] { 3 }, pads: new long[] { 2, 1 });
        CheckAll(b, U8Data);
    }

    private static void AddQConcat(GraphBuilder b, Random random, int axis, QuantParams py, params (int[] Shape, QuantParams P)[] inputs)
    {
        string name = "cat" + b.Graph.Nodes.Count;
        var maps = inputs.Select(i => QConcat.Mapping.Between(i.P, py)).ToArray();
        var xs = inputs.Select((t, i) => b.Input($"{name}_x{i}", DataType.UInt8, t.Shape)).ToArray();
        b.Node("QConcat", Q, xs, Attrs(Int("axis", axis), Int("y_zero_point", py.ZeroPoint),
            IntList("x_zero_points", maps.Select(m => (long)m.XZero).ToArray()),
            IntList("multipliers", maps.Select(m => (long)m.Multiplier).ToArray()),
            IntList("shifts", maps.Select(m => (long)m.Shift).ToArray())));
    }

    [Fact]
    public void QConcat_generated_kernel_matches_its_reference()
    {
        var random = new Random(48);
        var b = new GraphBuilder();
        var same = new QuantParams(0.02f, 128);
        AddQConcat(b, random, 1, same, (new[] { 1, 3, 4, 4 }, same), (new[] { 1, 2, 4, 4 }, same));                        // all copies
        AddQConcat(b, random, 1, same, (new[] { 2, 3, 4, 4 }, same), (new[] { 2, 2, 4, 4 }, new QuantParams(0.05f, 3)),
            (new[] { 2, 1, 4, 4 }, new QuantParams(0.02f, 100)));                                                          // requantized, shifted
        AddQConcat(b, random, 0, new QuantParams(0.1f, 0), (new[] { 1, 5 }, new QuantParams(0.001f, 255)), (new[] { 3, 5 }, new QuantParams(1f, 128)));
        AddQConcat(b, random, -1, RandomParams(random), (new[] { 2, 3, 1 }, RandomParams(random)), (new[] { 2, 3, 2 }, RandomParams(random)));  // bands of 1
        AddQConcat(b, random, 1, RandomParams(random), (new[] { 1, 1 }, RandomParams(random)));                            // one input
        CheckAll(b, U8Data);
    }

    [Fact]
    public void QConcat_requantization_is_within_half_a_step_of_the_real_value()
    {
        var random = new Random(49);
        for (int trial = 0; trial < 200; trial++)
        {
            var pi = RandomParams(random);
            var py = RandomParams(random);
            var map = QConcat.Mapping.Between(pi, py);
            for (int q = 0; q < 256; q++)
            {
                double exact = Math.Clamp((q - pi.ZeroPoint) * (double)pi.Scale / py.Scale + py.ZeroPoint, 0, 255);
                Assert.True(Math.Abs(map.Apply(q, py.ZeroPoint) - exact) <= 0.5 + 1e-6, $"{q} {pi} -> {py}: {map.Apply(q, py.ZeroPoint)}, exact {exact}");
            }
        }
    }

    [Fact]
    public void Quantize_Dequantize_and_uint8_MaxPool_kernels_match_their_references()
    {
        var b = new GraphBuilder();
        string x = b.Input("x", DataType.Float, 2, 3, 5, 5);
        var attrs = Attrs(Float("scale", 0.05f), Int("zero_point", 100));
        string q = b.Node("Quantize", Q, new[] { x }, attrs);
        b.Node("Dequantize", Q, new[] { q }, Attrs(Float("scale", 0.05f), Int("zero_point", 100)));
        b.Node("MaxPool", "", new[] { q }, Attrs(IntList("kernel_shape", 3, 3), IntList("pads", 1, 1, 1, 1), IntList("strides", 2, 2)));
        // 2x2 stride-2 pooling has its own vector kernel: 8 outputs per step, a scalar tail, an odd input height.
        string wide = b.Input("wide", DataType.Float, 1, 3, 17, 35);
        b.Node("MaxPool", "", new[] { b.Node("Quantize", Q, new[] { wide }, attrs) }, Attrs(IntList("kernel_shape", 2, 2), IntList("strides", 2, 2)));
        string narrow = b.Input("narrow", DataType.Float, 2, 3, 7, 12);   // rows of 6 outputs: steps overrun into the next row
        b.Node("MaxPool", "", new[] { b.Node("Quantize", Q, new[] { narrow }, attrs) }, Attrs(IntList("kernel_shape", 2, 2), IntList("strides", 2, 2)));
        string t = b.Input("ties", DataType.Float, 12);
        b.Node("Quantize", Q, new[] { t }, Attrs(Float("scale", 1f), Int("zero_point", 3)));
        CheckAll(b, (v, random) => v.Name == "ties"
            ? new[] { 0.5f, 1.5f, 2.5f, -0.5f, -2.5f, -3.5f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, 252.5f, 251.5f, -1e30f }
            : Enumerable.Range(0, v.Length).Select(i => i % 17 == 0 ? float.NaN : (float)(random.NextDouble() * 20 - 7)).ToArray());
    }

    [Fact]
    public void QuantizeLinear_and_DequantizeLinear_float_kernels_match_their_references()
    {
        var b = new GraphBuilder();
        string x = b.Input("x", DataType.Float, 2, 4, 3);
        string s = b.Constant("s", Tensor.FromFloats(Shapes.Scalar, new[] { 0.03f }));
        string zu = b.Constant("zu", Tensor.FromLongs(DataType.UInt8, Shapes.Scalar, new long[] { 130 }));
        string zs = b.Constant("zs", Tensor.FromLongs(DataType.Int8, Shapes.Scalar, new long[] { -5 }));
        string sa = b.Constant("sa", Tensor.FromFloats(new[] { 4 }, new[] { 0.01f, 0.1f, 0.02f, 1f }));
        string za = b.Constant("za", Tensor.FromLongs(DataType.Int8, new[] { 4 }, new long[] { 0, -128, 127, 3 }));
        string qu = b.Node("QuantizeLinear", "", new[] { x, s, zu });
        string qs = b.Node("QuantizeLinear", "", new[] { x, s, zs });
        string qa = b.Node("QuantizeLinear", "", new[] { x, sa, za }, Attrs(Int("axis", 1)));
        string qn = b.Node("QuantizeLinear", "", new[] { x, s });
        b.Node("DequantizeLinear", "", new[] { qu, s, zu }, Attrs());
        b.Node("DequantizeLinear", "", new[] { qs, s, zs }, Attrs());
        b.Node("DequantizeLinear", "", new[] { qa, sa, za }, Attrs(Int("axis", -2)));
        b.Node("DequantizeLinear", "", new[] { qn, s }, Attrs());
        CheckAll(b, (v, random) => Enumerable.Range(0, v.Length).Select(i => i % 11 == 0 ? float.NaN : (float)(random.NextDouble() * 16 - 8)).ToArray());
    }

    [Fact]
    public void QLookup_generated_kernel_matches_its_reference()
    {
        var random = new Random(50);
        var b = new GraphBuilder();
        foreach (var shape in new[] { new[] { 1 }, new[] { 7 }, new[] { 2, 3, 5, 5 } })
        {
            string x = b.Input("lut" + b.Graph.Nodes.Count, DataType.UInt8, shape);
            var table = Enumerable.Range(0, 256).Select(_ => (long)random.Next(256)).ToArray();
            b.Node("QLookup", Q, new[] { x }, Attrs(IntList("table", table)));
        }
        string s = b.Input("sigmoid", DataType.UInt8, 300);
        b.Node("QLookup", Q, new[] { s }, Attrs(IntList("table", QLookup.Build(new QuantParams(0.05f, 128), new QuantParams(1f / 255f, 0), v => 1f / (1f + MathF.Exp(-v))))));
        CheckAll(b, U8Data);
    }
}
