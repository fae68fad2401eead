using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Ops;
using QuantGen.Compiler.Quantization;

namespace QuantGen.Compiler.Passes;

/// <summary>
/// INT8 (static and dynamic): a Gather of rows from a large constant float matrix at run-time indices (a token
/// embedding table) becomes <see cref="Ops.Quantized.QGatherRows"/> over int8 rows with one scale per row
/// (<see cref="PerChannelWeights"/>, a row as the channel). The rows still come out in float, so the rest of the graph
/// is unchanged; the table takes a quarter of the bytes. In BERT-base the word embeddings are 30522 x 768 floats,
/// 94 MB of 438: left in float, the INT8 build kept 41% of the FP32 weight bytes instead of about 25%.
/// Small tables (under <see cref="MinElements"/>) stay float: the bytes saved are few, and they are often not
/// embeddings. Runs after the quantization pass, which leaves Gather in float.
/// </summary>
public static class QuantizeEmbeddings
{
    /// <summary>Tables from this many elements (256 KB of float) are quantized.</summary>
    public const int MinElements = 64 * 1024;

    public static void Run(Graph graph, IReadOnlyCollection<string> keepFloat, QuantizationReport report)
    {
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            var node = graph.Nodes[i];
            if (node.Domain is not ("" or "ai.onnx") || node.OpType != "Gather" || keepFloat.Contains(node.Name) || node.Activation != null)
                continue;
            var data = graph[node.Inputs[0]];
            var indices = graph[node.Inputs[1]];
            long axis = node.Attributes.TryGetValue("axis", out var a) ? a.Int : 0;
            if (data.Constant?.Floats == null || data.Shape is not { Length: 2 } shape || (axis != 0 && axis != -2)
                || indices.IsConstant || data.Length < MinElements)
                continue;

            var w = PerChannelWeights.Quantize(data.Constant.Floats, shape[0]);
            string table = Constant(graph, node.Name + ".table_int8", Tensor.FromLongs(DataType.Int8, shape, System.Array.ConvertAll(w.Values, v => (long)v)));
            string scales = Constant(graph, node.Name + ".row_scale", Tensor.FromFloats(new[] { shape[0] }, w.Scales));
            graph.Nodes[i] = new Node(node.Name, "QGatherRows", OperatorRegistry.QuantizedDomain,
                new[] { table, node.Inputs[1], scales }, node.Outputs, new Dictionary<string, NodeAttribute>());
            report.FloatNodes.RemoveAll(f => f.Node == node.Name);
            report.QuantizedNodes.Add(node.Name);
        }
        graph.RemoveUnusedValues();
    }

    private static string Constant(Graph graph, string name, Tensor tensor)
    {
        string unique = name;
        for (int i = 2; graph.Values.ContainsKey(unique); i++) unique = name + "_" + i;
        graph.Values[unique] = new Value(unique, tensor.Type, tensor.Shape) { Constant = tensor };
        return unique;
    }
}
