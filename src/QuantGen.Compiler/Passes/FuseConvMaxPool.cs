using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Ops;
using QuantGen.Compiler.Ops.Quantized;

namespace QuantGen.Compiler.Passes;

/// <summary>
/// Lowering for INT8 code: a 2x2, stride-2 MaxPool that is the only reader of a static QConv's output moves into that
/// QConv (attribute <c>max_pool_2x2 = 1</c>), which then pools its int32 accumulators and requantizes a quarter of the
/// values. That equals requantizing first and pooling the uint8 values, bit for bit, when requantization is
/// non-decreasing in the accumulator: true unless something wraps around in 32 bits, which this pass rules out per
/// channel from the known weights, bias and shift before fusing (<see cref="RequantizationIsMonotone"/>).
/// It runs after quantization, only for the code the generator emits: tools that read the quantized graph (export,
/// evaluate) see the two nodes.
/// </summary>
public static class FuseConvMaxPool
{
    public const string Attribute = "max_pool_2x2";

    public static void Run(Graph graph)
    {
        foreach (var pool in graph.Nodes.Where(n => n.OpType == "MaxPool" && n.Domain.Length == 0).ToList())
        {
            string input = pool.Inputs[0];
            var conv = graph.Producer(input);
            if (conv == null || conv.OpType != "QConv" || conv.Domain != OperatorRegistry.QuantizedDomain)
                continue;
            if (graph.IsGraphOutput(input) || graph.Consumers(input).Count() != 1 || pool.Outputs.Count(o => o.Length > 0) != 1)
                continue;
            var ctx = new ShapeContext(conv, graph);
            if (QConv.IsDynamic(ctx) || conv.Attributes.ContainsKey(Attribute) || !IsPlain2x2(new ShapeContext(pool, graph)))
                continue;
            if (!RequantizationIsMonotone(ctx))
                continue;
            var attributes = new Dictionary<string, NodeAttribute>(conv.Attributes.ToDictionary(a => a.Key, a => a.Value))
            {
                [Attribute] = new NodeAttribute(Attribute, AttributeKind.Int) { Int = 1 },
            };
            var fused = new Node(conv.Name, conv.OpType, conv.Domain, conv.Inputs, new[] { pool.Outputs[0] }, attributes)
            {
                Activation = conv.Activation,
            };
            GraphMatching.Replace(graph, new[] { conv, pool }, fused);
        }
        graph.RemoveUnusedValues();
    }

    /// <summary>kernel 2x2, strides 2, no padding, no dilation, floor mode, 2-D.</summary>
    private static bool IsPlain2x2(ShapeContext pool)
    {
        var k = pool.Ints("kernel_shape");
        var s = pool.Ints("strides");
        var pads = pool.Ints("pads");
        var d = pool.Ints("dilations");
        return k is [2, 2] && s is [2, 2] && (pads == null || pads.All(p => p == 0)) && (d == null || d.All(v => v == 1))
            && pool.Int("ceil_mode", 0) == 0 && pool.String("auto_pad", "NOTSET") is "NOTSET" or "VALID"
            && pool.InputShape(0).Length == 4;
    }

    /// <summary>
    /// For every output channel: |acc + bias| stays below 2^31 (acc is a sum of K products of at most 255 x 128) and
    /// below 2^(shift - 1), so (acc + bias) * multiplier >> shift is below 2^30 in magnitude: neither the int32 sum nor
    /// the cast of the shifted product wraps, and adding the zero point cannot either. Requantization is then a
    /// non-decreasing function of the accumulator (the multiplier is positive, rounding and clamping are monotone).
    /// </summary>
    public static bool RequantizationIsMonotone(OpContext ctx)
    {
        var p = Conv.Read(ctx);
        var bias = ctx.InputConstant(2)?.Longs;
        var shift = ctx.InputConstant(4)?.Longs;
        var multiplier = ctx.InputConstant(3)?.Longs;
        if (bias == null || shift == null || multiplier == null)
            return false;
        long k = (long)p.Cg * p.G.KH * p.G.KW;
        for (int c = 0; c < p.M; c++)
        {
            long bound = k * 255 * 128 + Math.Abs(bias[c]);
            if (multiplier[c] <= 0 || bound >= 1L << 31 || shift[c] < 2 || bound > 1L << (int)Math.Min(shift[c] - 1, 62))
                return false;
        }
        return true;
    }
}
