using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Ops;
using QuantGen.Compiler.Quantization;

namespace QuantGen.Compiler.Passes;

/// <summary>
/// INT8 without calibration: weights of every Conv, Gemm and MatMul with constant weights become per-channel int8,
/// and their input is quantized on each call from its own range (QuantizeDynamic). The integer kernels return float
/// (see DynamicEpilogue), so everything else stays as it was. Slower and a little less accurate than static
/// quantization, which is why the build warns and says how to calibrate.
/// </summary>
public static class DynamicQuantization
{
    public static QuantizationReport Run(Graph graph, IReadOnlyCollection<string> keepFloat)
    {
        var report = new QuantizationReport();
        var nodes = new List<Node>();
        var quantizedInputs = new Dictionary<string, (string Values, string Params)>();
        foreach (var node in graph.Nodes)
        {
            string reason = "listed in KeepFloat";
            var weights = keepFloat.Contains(node.Name) ? null : ConstantWeights.From(node, graph, out reason);
            if (weights == null)
            {
                nodes.Add(node);
                if (node.OpType is "Conv" or "Gemm" or "MatMul")
                    report.FloatNodes.Add((node.Name, node.OpType, reason));
                continue;
            }

            string input = node.Inputs[0];
            if (!quantizedInputs.TryGetValue(input, out var q))
            {
                q = (NewValue(graph, input + "::u8", DataType.UInt8, graph[input].Shape!), NewValue(graph, input + "::params", DataType.Float, new[] { 2 }));
                nodes.Add(new Node(UniqueNodeName(graph, nodes, "QuantizeDynamic " + input), "QuantizeDynamic", OperatorRegistry.QuantizedDomain,
                    new[] { input }, new[] { q.Values, q.Params }, new Dictionary<string, NodeAttribute>()));
                quantizedInputs[input] = q;
                report.QuantizedTensors[input] = new QuantizedTensor(q.Values, null, q.Params);
            }

            // A QDQ model's own int8 weights are kept exactly; float weights are quantized per channel.
            var w = weights.ModelInt8 ?? PerChannelWeights.Quantize(weights.Weights, weights.Channels);
            var sums = Enumerable.Range(0, w.Channels).Select(c => (long)w.ChannelSum(c)).ToArray();
            string wName = Constant(graph, node.Name + ".weight_int8", Tensor.FromLongs(DataType.Int8, weights.Shape, System.Array.ConvertAll(w.Values, v => (long)v)));
            string bName = Constant(graph, node.Name + ".bias", Tensor.FromFloats(new[] { w.Channels }, weights.Bias ?? new float[w.Channels]));
            string sName = Constant(graph, node.Name + ".weight_scale", Tensor.FromFloats(new[] { w.Channels }, w.Scales));
            string cName = Constant(graph, node.Name + ".weight_sum", Tensor.FromLongs(DataType.Int32, new[] { w.Channels }, sums));

            var attributes = node.OpType == "Conv" ? node.Attributes.ToDictionary(a => a.Key, a => a.Value) : new Dictionary<string, NodeAttribute>();
            attributes["dynamic"] = new NodeAttribute("dynamic", AttributeKind.Int) { Int = 1 };
            nodes.Add(new Node(node.Name, ConstantWeights.QuantizedOp(node), OperatorRegistry.QuantizedDomain,
                new[] { q.Values, wName, bName, sName, cName, q.Params }, node.Outputs, attributes) { Activation = node.Activation });
            report.QuantizedNodes.Add(node.Name);
        }
        graph.Nodes.Clear();
        graph.Nodes.AddRange(nodes);
        graph.RemoveUnusedValues();
        return report;
    }

    private static string NewValue(Graph graph, string name, DataType type, int[] shape)
    {
        string unique = name;
        for (int i = 2; graph.Values.ContainsKey(unique); i++) unique = name + "_" + i;
        graph.Values[unique] = new Value(unique, type, shape);
        return unique;
    }

    private static string Constant(Graph graph, string name, Tensor tensor)
    {
        string unique = NewValue(graph, name, tensor.Type, tensor.Shape);
        graph.Values[unique].Constant = tensor;
        return unique;
    }

    private static string UniqueNodeName(Graph graph, List<Node> added, string name)
    {
        string unique = name;
        for (int i = 2; graph.Nodes.Concat(added).Any(n => n.Name == unique); i++) unique = name + " " + i;
        return unique;
    }
}
