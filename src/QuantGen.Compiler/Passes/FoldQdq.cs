using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Quantization;

namespace QuantGen.Compiler.Passes;

/// <summary>What <see cref="FoldQdq"/> read from a QDQ (quantization-aware) model.</summary>
public sealed class QdqFacts
{
    /// <summary>
    /// Quantization parameters (uint8 form: int8 zero points + 128) the model fixes: for the input x of each foldable
    /// pair (so the node producing x writes it on that grid) and for the pair's dequantized output.
    /// </summary>
    public Dictionary<string, QuantParams> FixedParams { get; } = new();

    /// <summary>Foldable pairs by QuantizeLinear node name: the quantized tensor x and its parameters.</summary>
    public Dictionary<string, (string Input, QuantParams Params)> Pairs { get; } = new();

    /// <summary>The model's own int8 weights for float constants (DequantizeLinear of int8 initializers, already folded).</summary>
    public Dictionary<string, WeightHint> WeightHints { get; } = new();
}

/// <summary>
/// Reads a QDQ model for the INT8 path (on the optimized graph, where constant folding already turned
/// DequantizeLinear of weights into float constants). <see cref="QuantizeGraph"/> then folds what this finds:
/// <list type="bullet">
/// <item>an activation QuantizeLinear whose readers are all DequantizeLinear with the same per-tensor scale and zero
/// point (constants) is a foldable pair x → x': x' becomes the uint8 tensor Q(x) with the pair's parameters (int8
/// converted to uint8 by z + 128: the same grid and the same saturation), the producer of x writes that grid
/// directly, and a float reader of x' gets (q - z) * s, exactly what the model's DequantizeLinear computes. The
/// pair's nodes disappear; calibration is not needed for x or x';</item>
/// <item>each float constant that DequantizeLinear computed from int8 weights with zero points 0 is reported with
/// those int8 values and scales (<see cref="WeightHint"/>), so the integer kernels use the model's weights bit for bit.</item>
/// </list>
/// Per-axis activation pairs, pairs whose quantized tensor is also read elsewhere, and a second pair on the same
/// tensor with other parameters are not foldable: they stay float QuantizeLinear/DequantizeLinear (still exact).
/// </summary>
public static class FoldQdq
{
    public static QdqFacts Analyze(Graph graph)
    {
        var facts = new QdqFacts();
        foreach (var value in graph.Values.Values)
            if (value.Constant != null && WeightHint.Of(value.Constant) is { } hint && hint.Matches(value.Constant))
                facts.WeightHints[value.Name] = hint;

        foreach (var q in graph.Nodes.Where(n => IsOnnx(n, "QuantizeLinear")))
        {
            var pair = Foldable(graph, q);
            if (pair == null) continue;
            var (x, p) = pair.Value;
            if (facts.FixedParams.TryGetValue(x, out var existing) && existing != p) continue;
            facts.FixedParams[x] = p;
            foreach (var dq in graph.Consumers(q.Outputs[0]))
                facts.FixedParams[dq.Outputs[0]] = p;
            facts.Pairs[q.Name] = (x, p);
        }
        return facts;
    }

    private static bool IsOnnx(Node n, string opType) => n.OpType == opType && n.Domain is "" or "ai.onnx";

    /// <summary>The per-tensor (scale, zero point, integer type) of a Q or DQ node; null when per axis or not constant.</summary>
    private static (float Scale, int Zero, DataType Type)? PerTensor(Graph graph, Node node, DataType typeWithoutZeroPoint)
    {
        if (!node.HasInput(1)) return null;
        var scale = graph.Find(node.Inputs[1])?.Constant;
        if (scale == null || scale.Type != DataType.Float || scale.Length != 1 || scale.Shape.Length > 1) return null;
        var zero = node.HasInput(2) ? graph.Find(node.Inputs[2])?.Constant : null;
        if (node.HasInput(2) && zero == null) return null;
        var type = zero?.Type ?? typeWithoutZeroPoint;
        if (type is not (DataType.UInt8 or DataType.Int8)) return null;
        if (node.Attributes.TryGetValue("block_size", out var block) && block.Int != 0) return null;
        float s = scale.Floats![0];
        if (!(s > 0) || float.IsInfinity(s)) return null;
        return (s, zero == null ? 0 : (int)zero.Longs![0], type);
    }

    private static DataType OutputType(Node q) =>
        q.Attributes.TryGetValue("output_dtype", out var a) ? a.Int switch { 0 or 2 => DataType.UInt8, 3 => DataType.Int8, _ => DataType.Undefined } : DataType.UInt8;

    /// <summary>The quantized tensor and uint8 parameters of a foldable QuantizeLinear; null when it is not one.</summary>
    private static (string Input, QuantParams Params)? Foldable(Graph graph, Node q)
    {
        string x = q.Inputs[0], qOut = q.Outputs[0];
        var xValue = graph.Find(x);
        if (xValue == null || xValue.IsConstant || xValue.Type != DataType.Float || graph.IsGraphOutput(qOut)) return null;
        var qp = PerTensor(graph, q, OutputType(q));
        if (qp == null) return null;
        var readers = graph.Consumers(qOut).ToList();
        if (readers.Count == 0) return null;
        foreach (var dq in readers)
        {
            if (!IsOnnx(dq, "DequantizeLinear") || dq.Inputs[0] != qOut || dq.Inputs.Skip(1).Contains(qOut)) return null;
            var dp = PerTensor(graph, dq, graph[qOut].Type);
            if (dp == null || dp.Value.Scale != qp.Value.Scale || dp.Value.Zero != qp.Value.Zero || dp.Value.Type != qp.Value.Type) return null;
        }
        return (x, new QuantParams(qp.Value.Scale, qp.Value.Zero + (qp.Value.Type == DataType.Int8 ? 128 : 0)));
    }
}
