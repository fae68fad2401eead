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
/// puts all its cases in one graph, so the generated code is compiled once. This file: the shared helpers and the
/// matrix kernels (QConv, QGemm, QMatMul); the fused lowerings and the elementwise, pooling and conversion kernels are
/// in IntegerKernelTests.Lowering.cs and IntegerKernelTests.Elementwise.cs.
/// </summary>
public partial class IntegerKernelTests
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

}
