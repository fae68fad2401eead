using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Quantization;

namespace QuantGen.Compiler.Passes;

/// <summary>What <see cref="FoldQdq"/> learned from a QDQ (quantization-aware) model.</summary>
public sealed class QdqFacts
{
    /// <summary>Quantization parameters the model fixes for tensors (uint8 form: int8 zero points + 128).</summary>
    public Dictionary<string, QuantParams> FixedParams { get; } = new();

    /// <summary>The model's own int8 weights for float constants (DequantizeLinear of int8 initializers, already folded).</summary>
    public Dictionary<string, WeightHint> WeightHints { get; } = new();

    /// <summary>Number of activation QuantizeLinear → DequantizeLinear pairs removed.</summary>
    public int FoldedPairs { get; set; }
}

/// <summary>
/// The INT8 path's reading of a QDQ model, run on the optimized graph before <see cref="QuantizeGraph"/>:
/// <list type="bullet">
/// <item>each activation QuantizeLinear whose readers are all DequantizeLinear with the same per-tensor scale and zero
/// point is removed with them; readers of the dequantized tensor read the original one, whose quantization parameters
/// become the pair's (int8 converted to uint8 by z + 128: the same grid and the same saturation);</item>
/// <item>each float constant that DequantizeLinear computed from int8 weights with zero points 0 (constant folding
/// already ran) is reported with those int8 values and scales, so the integer kernels use the model's weights bit
/// for bit.</item>
/// </list>
/// A pair whose dequantized tensor is a graph output keeps the output's name (its producer is renamed) or, when that
/// is not possible, stays as float QuantizeLinear/DequantizeLinear. Removing pairs can put an activation right after
/// the node it follows (Conv → Relu with the pair gone): those are fused again.
/// </summary>
public static class FoldQdq
{
    public static QdqFacts Run(Graph graph)
    {
        var facts = new QdqFacts();
        foreach (var value in graph.Values.Values)
            if (value.Constant != null && WeightHint.Of(value.Constant) is { } hint && hint.Matches(value.Constant))
                facts.WeightHints[value.Name] = hint;

        foreach (var q in graph.Nodes.Where(n => IsOnnx(n, "QuantizeLinear")).ToList())
            if (TryFold(graph, q, facts))
                facts.FoldedPairs++;
        if (facts.FoldedPairs > 0)
        {
            FuseActivations.Run(graph);
            graph.RemoveUnusedValues();
        }
        return facts;
    }

    private static bool IsOnnx(Node n, string opType) => n.OpType == opType && n.Domain is "" or "ai.onnx";

    /// <summary>The per-tensor (scale, zero point, integer type) of a Q or DQ node; null when per axis or not constant.</summary>
    private static (float Scale, int Zero, DataType Type)? PerTensor(Graph graph, Node node, DataType typeWithoutZeroPoint)
    {
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

    private static bool TryFold(Graph graph, Node q, QdqFacts facts)
    {
        string x = q.Inputs[0], qOut = q.Outputs[0];
        var xValue = graph.Find(x);
        if (xValue == null || xValue.IsConstant || xValue.Type != DataType.Float || graph.IsGraphOutput(qOut)) return false;
        var qp = PerTensor(graph, q, OutputType(q));
        if (qp == null) return false;
        var readers = graph.Consumers(qOut).ToList();
        if (readers.Count == 0) return false;
        foreach (var dq in readers)
        {
            if (!IsOnnx(dq, "DequantizeLinear") || dq.Inputs[0] != qOut) return false;
            var dp = PerTensor(graph, dq, graph[qOut].Type);
            if (dp == null || dp.Value.Scale != qp.Value.Scale || dp.Value.Zero != qp.Value.Zero || dp.Value.Type != qp.Value.Type) return false;
        }
        var p = new QuantParams(qp.Value.Scale, qp.Value.Zero + (qp.Value.Type == DataType.Int8 ? 128 : 0));

        // A dequantized graph output keeps its name: the producer of x writes it directly (when x is only quantized here).
        var outputs = readers.Select(dq => dq.Outputs[0]).Where(graph.IsGraphOutput).ToList();
        string target = x;
        if (outputs.Count > 0)
        {
            var producer = graph.Producer(x);
            bool renamable = outputs.Count == 1 && readers.Count == 1 && producer != null && !graph.IsGraphOutput(x)
                && graph.Consumers(x).Count() == 1;
            if (!renamable) return false;
            target = outputs[0];
        }
        if (facts.FixedParams.TryGetValue(target, out var existing) && existing != p) return false;

        if (target != x)
        {
            var producer = graph.Producer(x)!;
            producer.Outputs[producer.Outputs.IndexOf(x)] = target;
            var value = graph[target];
            value.Type = xValue.Type;
            value.Shape = xValue.Shape;
        }
        graph.Nodes.Remove(q);
        foreach (var dq in readers)
        {
            graph.Nodes.Remove(dq);
            if (dq.Outputs[0] != target) graph.ReplaceUses(dq.Outputs[0], target);
        }
        facts.FixedParams[target] = p;
        return true;
    }
}
