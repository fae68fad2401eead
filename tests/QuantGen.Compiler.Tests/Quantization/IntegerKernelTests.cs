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

/// <summary>
/// Every integer operator's generated kernel against its scalar reference (Evaluate), bit for bit, on random data and
/// shapes chosen for their edges (size 1, odd sizes, padding, strides, groups, K not a multiple of 8...). Each test
/// puts all its cases in one graph, so the generated code is compiled once.
/// </summary>
public class IntegerKernelTests
{
    private const string Q = OperatorRegistry.QuantizedDomain;

    /// <summary>Runs every case of <paramref name="b"/> through the generated code and the reference; compares all outputs.</summary>
    private static void CheckAll(GraphBuilder b, Func<Value, Random, Array> data, int seed = 1)
    {
        var graph = b.Finish();
        var random = new Random(seed);
        var inputs = graph.Inputs.Select(n => data(graph[n], random)).ToArray();
        var expected = Reference(graph, inputs);
        using var model = GeneratedModel.Emit(graph);
        var actual = model.Run(inputs);
        for (int i = 0; i < expected.Length; i++)
            BitExact(expected[i], actual[i], $"output '{graph.Outputs[i]}' ({graph.Producer(graph.Outputs[i])!.OpType}, {QuantTestKit.Op(graph.Producer(graph.Outputs[i])!).Describe(new ShapeContext(graph.Producer(graph.Outputs[i])!, graph))})");
    }

    /// <summary>uint8 inputs: uniform, with some saturated rows so the extremes (0, 255) are exercised.</summary>
    private static Array U8Data(Value v, Random random)
    {
        var bytes = Bytes(v.Length, random);
        for (int i = 0; i < bytes.Length; i++)
            if (random.Next(16) == 0) bytes[i] = random.Next(2) == 0 ? (byte)0 : (byte)255;
        return bytes;
    }

    private static (int Multiplier, int Shift) RandomMultiplier(Random random, double lo, double hi) =>
        QuantMath.FixedPoint(Math.Exp(Math.Log(lo) + random.NextDouble() * (Math.Log(hi) - Math.Log(lo))));

    private static IEnumerable<long> RandomWeights(Random random, int count) =>
        Enumerable.Range(0, count).Select(_ => (long)(random.Next(8) == 0 ? (random.Next(2) == 0 ? -127 : 127) : random.Next(-127, 128)));

    private static string AddQConv(GraphBuilder b, Random random, int[] x, int m, int[] kernel, long[]? strides = null, long[]? pads = null,
        long[]? dilations = null, int group = 1, bool clamp = false, double maxMultiplier = 2e-2, bool graphOutput = true, long maxBias = 1 << 20, double minMultiplier = 1e-5)
    {
        string name = "conv" + b.Graph.Nodes.Count;
        string input = b.Input(name + "_x", DataType.UInt8, x);
        int cg = x[1] / group;
        var wShape = new[] { m, cg }.Concat(kernel).ToArray();
        string w = b.Ints(name + "_w", DataType.Int8, wShape, RandomWeights(random, Shapes.ElementCount(wShape)));
        string bias = b.Ints(name + "_b", DataType.Int32, new[] { m }, Enumerable.Range(0, m).Select(_ => (long)random.Next(-(int)maxBias, (int)maxBias)));
        var mults = Enumerable.Range(0, m).Select(_ => RandomMultiplier(random, minMultiplier, maxMultiplier)).ToArray();
        string mult = b.Ints(name + "_m", DataType.Int32, new[] { m }, mults.Select(p => (long)p.Multiplier));
        string shift = b.Ints(name + "_s", DataType.Int32, new[] { m }, mults.Select(p => (long)p.Shift));
        var attrs = Attrs(Int("x_zero_point", random.Next(256)), Int("y_zero_point", random.Next(256)), Int("group", group),
            Int("y_min", clamp ? random.Next(0, 100) : 0), Int("y_max", clamp ? random.Next(150, 256) : 255));
        if (strides != null) attrs["strides"] = IntList("strides", strides);
        if (pads != null) attrs["pads"] = IntList("pads", pads);
        if (dilations != null) attrs["dilations"] = IntList("dilations", dilations);
        return b.Node("QConv", Q, new[] { input, w, bias, mult, shift }, attrs, graphOutput: graphOutput);
    }

    [Fact]
    public void QConv_with_a_fused_residual_QAdd_equals_the_two_nodes_bit_for_bit()
    {
        var random = new Random(46);
        var b = new GraphBuilder();
        void ConvThenAdd(int[] x, int m, int[] kernel, int[] shape, bool convFirst, long[]? pads = null, long[]? strides = null)
        {
            string conv = AddQConv(b, random, x, m, kernel, strides, pads, graphOutput: false);
            string residual = b.Input("residual" + b.Graph.Nodes.Count, DataType.UInt8, shape);
            AddQAdd(b, random, shape, RandomParams(random), RandomParams(random), RandomParams(random), min: random.Next(2) == 0 ? 0 : 40,
                a: convFirst ? conv : residual, c: convFirst ? residual : conv);
        }
        ConvThenAdd(new[] { 1, 8, 12, 12 }, 8, new[] { 3, 3 }, new[] { 1, 8, 12, 12 }, convFirst: true, pads: new long[] { 1, 1, 1, 1 }); // shifted taps, rows of 12
        ConvThenAdd(new[] { 1, 4, 7, 7 }, 6, new[] { 3, 3 }, new[] { 1, 6, 7, 7 }, convFirst: false, pads: new long[] { 1, 1, 1, 1 });    // rows of 7 spill forward
        ConvThenAdd(new[] { 1, 3, 11, 11 }, 5, new[] { 3, 3 }, new[] { 1, 5, 5, 5 }, convFirst: true, strides: new long[] { 2, 2 });      // im2col, a contiguous plane
        ConvThenAdd(new[] { 2, 8, 5, 9 }, 4, new[] { 1, 1 }, new[] { 2, 4, 5, 9 }, convFirst: false);                                    // batch, pointwise
        CheckLowering(b.Finish(), random, QuantGen.Compiler.Passes.FuseConvAdd.Run, graph =>
        {
            Assert.Equal(4, graph.Nodes.Count(n => n.Attributes.ContainsKey(QuantGen.Compiler.Passes.FuseConvAdd.ConvIsA)));
            Assert.DoesNotContain(graph.Nodes, n => n.OpType == "QAdd");
        });
    }

    /// <summary>
    /// A lowering pass on <paramref name="graph"/> must not change a single output: the reference of the lowered graph and
    /// its generated code both equal the reference of the graph as it was.
    /// </summary>
    private static void CheckLowering(Graph graph, Random random, Action<Graph> lower, Action<Graph> checkLowered)
    {
        var inputs = graph.Inputs.Select(n => U8Data(graph[n], random)).ToArray();
        var expected = Reference(graph, inputs);
        lower(graph);
        checkLowered(graph);
        var lowered = Reference(graph, inputs);
        using var model = GeneratedModel.Emit(graph);
        var actual = model.Run(inputs);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Longs!, lowered[i].Longs!);
            BitExact(expected[i], actual[i], $"generated code, output {i}");
        }
    }

    [Fact]
    public void QConv_with_a_fused_2x2_MaxPool_equals_the_two_nodes_bit_for_bit()
    {
        var random = new Random(45);
        var b = new GraphBuilder();
        var pool = Attrs(IntList("kernel_shape", 2, 2), IntList("strides", 2, 2));
        void ConvThenPool(int[] x, int m, int[] kernel, long[]? pads = null, long[]? strides = null, bool clamp = false, long maxBias = 1 << 20, double minMultiplier = 1e-5, double maxMultiplier = 2e-2) =>
            b.Node("MaxPool", "", new[] { AddQConv(b, random, x, m, kernel, strides, pads, clamp: clamp, graphOutput: false, maxBias: maxBias, minMultiplier: minMultiplier, maxMultiplier: maxMultiplier) }, pool);
        ConvThenPool(new[] { 1, 1, 28, 28 }, 8, new[] { 3, 3 }, pads: new long[] { 1, 1, 1, 1 }, clamp: true);   // im2col, the sample's first layer
        ConvThenPool(new[] { 1, 8, 14, 14 }, 16, new[] { 3, 3 });                                                // shifted taps, pooled rows of 6
        ConvThenPool(new[] { 1, 4, 19, 37 }, 5, new[] { 3, 3 }, pads: new long[] { 1, 1, 1, 1 });                // odd height and width, rows of 18
        ConvThenPool(new[] { 2, 3, 9, 9 }, 7, new[] { 2, 2 }, strides: new long[] { 1, 1 });                       // batch, odd sizes
        // Requantization not provably monotone (biases past 2^30 with shifts of 31 or less could wrap): left as two nodes.
        ConvThenPool(new[] { 1, 4, 6, 6 }, 6, new[] { 3, 3 }, maxBias: int.MaxValue - 1, minMultiplier: 1, maxMultiplier: 2);
        CheckLowering(b.Finish(), random, QuantGen.Compiler.Passes.FuseConvMaxPool.Run, graph =>
        {
            Assert.Equal(4, graph.Nodes.Count(n => n.Attributes.ContainsKey(QuantGen.Compiler.Passes.FuseConvMaxPool.Attribute)));
            Assert.Single(graph.Nodes, n => n.OpType == "MaxPool");
        });
    }

    [Fact]
    public void QConv_generated_kernel_matches_its_reference()
    {
        var random = new Random(42);
        var b = new GraphBuilder();
        AddQConv(b, random, new[] { 1, 1, 1, 1 }, 1, new[] { 1, 1 });                                                   // size 1
        AddQConv(b, random, new[] { 1, 3, 7, 5 }, 4, new[] { 3, 3 }, pads: new long[] { 1, 1, 1, 1 }, clamp: true);         // padding
        AddQConv(b, random, new[] { 2, 4, 9, 9 }, 6, new[] { 3, 3 }, strides: new long[] { 2, 2 }, group: 2);              // batch, stride, groups
        AddQConv(b, random, new[] { 1, 8, 6, 6 }, 8, new[] { 3, 3 }, pads: new long[] { 1, 1, 1, 1 }, group: 8);           // depthwise
        AddQConv(b, random, new[] { 1, 8, 5, 7 }, 16, new[] { 3, 3 }, strides: new long[] { 2, 1 }, pads: new long[] { 1, 0, 1, 2 }, group: 8); // depthwise x2
        AddQConv(b, random, new[] { 1, 5, 11, 3 }, 3, new[] { 3, 1 }, strides: new long[] { 2, 1 }, pads: new long[] { 0, 1, 2, 0 }); // asymmetric
        AddQConv(b, random, new[] { 1, 2, 9, 9 }, 3, new[] { 3, 3 }, dilations: new long[] { 2, 2 }, pads: new long[] { 2, 2, 2, 2 }); // dilation
        AddQConv(b, random, new[] { 1, 3, 10 }, 5, new[] { 3 }, strides: new long[] { 2 }, pads: new long[] { 1, 1 });     // 1-D
        AddQConv(b, random, new[] { 1, 16, 4, 4 }, 7, new[] { 1, 1 }, clamp: true);                                        // pointwise
        AddQConv(b, random, new[] { 1, 3, 5, 5 }, 2, new[] { 5, 5 });                                                      // window = input
        // The packed GEMM's edges: 4-channel tiles plus a remainder, rows wider than the packer's 8 pixels, planes that
        // are not a multiple of the 16-pixel tile, K a multiple of 4 or not, multipliers near 1 (shifts below 32).
        AddQConv(b, random, new[] { 1, 8, 19, 19 }, 13, new[] { 3, 3 }, pads: new long[] { 1, 1, 1, 1 }, clamp: true);
        AddQConv(b, random, new[] { 1, 4, 7, 33 }, 9, new[] { 1, 1 }, maxMultiplier: 4);
        AddQConv(b, random, new[] { 1, 1, 28, 28 }, 8, new[] { 3, 3 }, pads: new long[] { 1, 1, 1, 1 });
        AddQConv(b, random, new[] { 1, 6, 12, 12 }, 16, new[] { 3, 3 }, strides: new long[] { 2, 2 }, pads: new long[] { 1, 1, 1, 1 }, maxMultiplier: 1.5);
        AddQConv(b, random, new[] { 1, 12, 9, 10 }, 6, new[] { 2, 3 }, dilations: new long[] { 2, 1 }, group: 3);
        AddQConv(b, random, new[] { 1, 8, 5, 6 }, 5, new[] { 3, 3 }, pads: new long[] { 1, 1, 1, 1 });             // shifted taps, rows narrower than 8
        CheckAll(b, U8Data);
    }

    private static void AddQGemm(GraphBuilder b, Random random, int[] x, int n, bool clamp = false, double maxMultiplier = 1e-2)
    {
        string name = "gemm" + b.Graph.Nodes.Count;
        int k = x[x.Length - 1];
        string input = b.Input(name + "_x", DataType.UInt8, x);
        string w = b.Ints(name + "_w", DataType.Int8, new[] { n, k }, RandomWeights(random, n * k));
        string bias = b.Ints(name + "_b", DataType.Int32, new[] { n }, Enumerable.Range(0, n).Select(_ => (long)random.Next(-(1 << 22), 1 << 22)));
        var mults = Enumerable.Range(0, n).Select(_ => RandomMultiplier(random, 1e-6, maxMultiplier)).ToArray();
        string mult = b.Ints(name + "_m", DataType.Int32, new[] { n }, mults.Select(p => (long)p.Multiplier));
        string shift = b.Ints(name + "_s", DataType.Int32, new[] { n }, mults.Select(p => (long)p.Shift));
        b.Node("QGemm", Q, new[] { input, w, bias, mult, shift }, Attrs(Int("x_zero_point", random.Next(256)), Int("y_zero_point", random.Next(256)),
            Int("y_min", clamp ? 30 : 0), Int("y_max", clamp ? 220 : 255)));
    }

    [Fact]
    public void QGemm_generated_kernel_matches_its_reference()
    {
        var random = new Random(43);
        var b = new GraphBuilder();
        AddQGemm(b, random, new[] { 1, 1 }, 1);
        foreach (int k in new[] { 3, 7, 8, 9, 15, 17, 33, 64, 100 })
            AddQGemm(b, random, new[] { 2, k }, 1 + k % 11, clamp: k % 2 == 0);
        AddQGemm(b, random, new[] { 2, 3, 13 }, 5);   // batched rows
        AddQGemm(b, random, new[] { 13 }, 4);          // a vector
        // Packed weights: 4 blocks of 8 channels at a time plus remainder blocks and a partial last block.
        AddQGemm(b, random, new[] { 1, 200 }, 45, maxMultiplier: 3);
        AddQGemm(b, random, new[] { 1, 784 }, 64, clamp: true);
        AddQGemm(b, random, new[] { 3, 36 }, 17);
        // Token matrices, 4 rows per weight load: row counts with and without a remainder, K with and without whole
        // quads (padded row copies), 1, 2 and 3 blocks of 8 channels (the VNNI path takes blocks in pairs).
        AddQGemm(b, random, new[] { 4, 12 }, 8);
        AddQGemm(b, random, new[] { 8, 33 }, 24, clamp: true);
        AddQGemm(b, random, new[] { 17, 64 }, 16);
        AddQGemm(b, random, new[] { 5, 7 }, 9);
        AddQGemm(b, random, new[] { 2, 4, 20 }, 40);
        AddQGemm(b, random, new[] { 12, 100 }, 33, maxMultiplier: 3);
        CheckAll(b, U8Data);
    }

    [Fact]
    public void Dynamic_QGemm_over_token_rows_matches_its_reference()
    {
        // No calibration: the input is quantized on each call and the kernel's epilogue returns float. 9 rows: two groups
        // of 4 and one left over; K = 20 (whole quads) and K = 18 (padded row copies).
        foreach (int k in new[] { 20, 18 })
        {
            var model = new OnnxModelBuilder(opset: 13)
                .Input("x", 1, 9, k)
                .Initializer("w", new long[] { k, 12 }, OnnxModelBuilder.RandomFloats(k * 12, seed: k))
                .Node("mm", "MatMul", new[] { "x", "w" }, new[] { "y" })
                .Output("y")
                .ToBytes();
            var graph = ModelCompiler.Prepare(model, "m.onnx");
            ModelCompiler.Quantize(graph, new CompilerOptions { Precision = Precision.Int8 });
            Assert.Contains(graph.Nodes, n => n.OpType == "QGemm");
            var inputs = new Array[] { OnnxModelBuilder.RandomFloats(9 * k, seed: 100 + k, scale: 3f) };
            var expected = Reference(graph, inputs);
            using var generated = GeneratedModel.Emit(graph);
            BitExact(expected[0], generated.Run(inputs)[0], $"dynamic QGemm, K = {k}");
        }
    }

    private static void AddQMatMul(GraphBuilder b, Random random, int[] a, int[] c, int? aZero = null, int? bZero = null,
        double minMultiplier = 1e-5, double maxMultiplier = 5e-3, int min = 0, int max = 255)
    {
        string name = "matmul" + b.Graph.Nodes.Count;
        var (m, s) = RandomMultiplier(random, minMultiplier, maxMultiplier);
        string xa = b.Input(name + "_a", DataType.UInt8, a), xb = b.Input(name + "_b", DataType.UInt8, c);
        b.Node("QMatMul", Q, new[] { xa, xb }, Attrs(
            Int("a_zero_point", aZero ?? random.Next(256)), Int("b_zero_point", bZero ?? random.Next(256)), Int("y_zero_point", random.Next(256)),
            Int("multiplier", m), Int("shift", s), Int("y_min", min), Int("y_max", max)));
    }

    [Fact]
    public void QMatMul_generated_kernel_matches_its_reference()
    {
        var random = new Random(46);
        var b = new GraphBuilder();
        AddQMatMul(b, random, new[] { 1, 1 }, new[] { 1, 1 });
        // K not a multiple of 2, 4, 8 or 16; M not a multiple of the 4-row tile; N not a multiple of the 8-column block.
        foreach (int k in new[] { 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100 })
            AddQMatMul(b, random, new[] { 1 + k % 7, k }, new[] { k, 1 + k % 13 });
        AddQMatMul(b, random, new[] { 2, 3, 16, 8 }, new[] { 2, 3, 8, 16 });          // [B,H,S,D] x [B,H,D,S]: Q x K^T
        AddQMatMul(b, random, new[] { 2, 3, 16, 16 }, new[] { 2, 3, 16, 8 });         // [B,H,S,S] x [B,H,S,D]: scores x V
        AddQMatMul(b, random, new[] { 2, 3, 5, 9 }, new[] { 1, 3, 9, 11 });           // B broadcast over the batch
        AddQMatMul(b, random, new[] { 1, 3, 5, 9 }, new[] { 4, 1, 9, 11 });           // both broadcast
        AddQMatMul(b, random, new[] { 3, 6, 7 }, new[] { 7, 10 });                    // rank 3 x rank 2
        AddQMatMul(b, random, new[] { 7, 3 }, new[] { 2, 2, 3, 9 });                  // rank 2 x rank 4
        AddQMatMul(b, random, new[] { 5, 40 }, new[] { 40, 19 }, aZero: 0, bZero: 0);
        AddQMatMul(b, random, new[] { 5, 40 }, new[] { 40, 19 }, aZero: 255, bZero: 255);
        AddQMatMul(b, random, new[] { 6, 23 }, new[] { 23, 17 }, aZero: 0, bZero: 255);
        AddQMatMul(b, random, new[] { 9, 64 }, new[] { 64, 24 }, minMultiplier: 0.05, maxMultiplier: 0.5);      // saturates both ways
        AddQMatMul(b, random, new[] { 8, 33 }, new[] { 33, 8 }, min: 60, max: 200);                              // clamp bounds
        AddQMatMul(b, random, new[] { 4, 4 }, new[] { 4, 4 }, minMultiplier: 3e-10, maxMultiplier: 1e-9);        // shifts past 32 (all near zero)
        CheckAll(b, U8Data);
    }

    [Fact]
    public void QMatMul_extreme_operands_sum_exactly()
    {
        // All a = 0, z_a = 255 and all b = 255, z_b = 0: every term is -255 * 255, K of them (the largest magnitude).
        var b = new GraphBuilder();
        var (m, s) = QuantMath.FixedPoint(1.0 / (1 << 20));
        foreach (int k in new[] { 1, 31, 257, 1000 })
        {
            string name = "mm" + k;
            string xa = b.Input(name + "_a", DataType.UInt8, 3, k), xb = b.Input(name + "_b", DataType.UInt8, k, 9);
            b.Node("QMatMul", Q, new[] { xa, xb }, Attrs(Int("a_zero_point", 255), Int("b_zero_point", 0), Int("y_zero_point", 255),
                Int("multiplier", m), Int("shift", s), Int("y_min", 0), Int("y_max", 255)));
        }
        var graph = b.Finish();
        var inputs = graph.Inputs.Select(n => (Array)Enumerable.Repeat(n.EndsWith("_a") ? (byte)0 : (byte)255, graph[n].Length).ToArray()).ToArray();
        var expected = Reference(graph, inputs);
        using var model = GeneratedModel.Emit(graph);
        var actual = model.Run(inputs);
        for (int i = 0; i < expected.Length; i++)
        {
            BitExact(expected[i], actual[i], graph.Outputs[i]);
            int k = new[] { 1, 31, 257, 1000 }[i];
            long acc = -255L * 255 * k;
            int q = (int)Math.Max(0, Math.Min(255, 255 + (long)Math.Floor(acc / (double)(1 << 20) + 0.5)));
            Assert.All((byte[])actual[i], v => Assert.Equal(q, (int)v));
        }
    }

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
