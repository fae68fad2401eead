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

/// <summary>The lowerings for the generated code (Conv + residual QAdd, Conv + 2x2 MaxPool) against the two nodes they replace.</summary>
public partial class IntegerKernelTests
{
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
}
