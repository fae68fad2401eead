using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Ops;

namespace QuantGen.Compiler.Passes;

/// <summary>
/// Folds an inference BatchNormalization into the Conv or Gemm that feeds it: with y = a[c] * x + b[c],
/// the producer's weights of channel c are scaled by a[c] and its bias becomes bias[c] * a[c] + b[c].
/// A BatchNormalization with any other producer stays and runs as its own kernel.
/// </summary>
public static class FoldBatchNormalization
{
    public static void Run(Graph graph)
    {
        foreach (var bn in graph.Nodes.Where(n => n.OpType == "BatchNormalization").ToList())
        {
            string input = bn.Inputs[0];
            var producer = graph.Producer(input);
            if (producer == null || producer.Activation != null || graph.IsGraphOutput(input) || graph.Consumers(input).Count() != 1)
                continue;
            var (a, b) = BatchNormalization.Coefficients(new ShapeContext(bn, graph));
            bool folded = producer.OpType switch
            {
                "Conv" => FoldIntoConv(graph, producer, a, b),
                "Gemm" => FoldIntoGemm(graph, producer, a, b),
                _ => false,
            };
            if (!folded) continue;
            producer.Outputs[0] = bn.Outputs[0];
            producer.Absorbed.Add(bn.Name);
            graph.Nodes.Remove(bn);
        }
        graph.RemoveUnusedValues();
    }

    private static bool FoldIntoConv(Graph graph, Node conv, float[] a, float[] b)
    {
        var weight = graph.Find(conv.Inputs[1])?.Constant;
        var bias = conv.HasInput(2) ? graph.Find(conv.Inputs[2])?.Constant : null;
        if (weight == null || (conv.HasInput(2) && bias == null) || weight.Shape[0] != a.Length)
            return false;
        var w = weight.AsFloats();
        int perChannel = w.Length / a.Length;
        var w2 = new float[w.Length];
        for (int i = 0; i < w.Length; i++) w2[i] = w[i] * a[i / perChannel];
        var b2 = new float[a.Length];
        var b0 = bias?.AsFloats();
        for (int c = 0; c < a.Length; c++) b2[c] = (b0?[c] ?? 0f) * a[c] + b[c];
        SetInput(graph, conv, 1, Tensor.FromFloats(weight.Shape, w2), "weight");
        SetInput(graph, conv, 2, Tensor.FromFloats(new[] { a.Length }, b2), "bias");
        return true;
    }

    private static bool FoldIntoGemm(Graph graph, Node gemm, float[] a, float[] b)
    {
        var ctx = new ShapeContext(gemm, graph);
        var weight = graph.Find(gemm.Inputs[1])?.Constant;
        var c = gemm.HasInput(2) ? graph.Find(gemm.Inputs[2])?.Constant : null;
        bool transB = ctx.Int("transB", 0) != 0;
        int n = a.Length;
        if (weight == null || ctx.Float("beta", 1f) != 1f || (gemm.HasInput(2) && c == null))
            return false;
        if ((transB ? weight.Shape[0] : weight.Shape[1]) != n)
            return false;
        if (c != null && !(c.Length == n && (c.Shape.Length == 1 || (c.Shape.Length == 2 && c.Shape[0] == 1))))
            return false;
        var w = weight.AsFloats();
        var w2 = new float[w.Length];
        for (int i = 0; i < w.Length; i++) w2[i] = w[i] * a[transB ? i / weight.Shape[1] : i % n];
        var c0 = c?.AsFloats();
        var c2 = new float[n];
        for (int j = 0; j < n; j++) c2[j] = (c0?[j] ?? 0f) * a[j] + b[j];
        SetInput(graph, gemm, 1, Tensor.FromFloats(weight.Shape, w2), "weight");
        SetInput(graph, gemm, 2, Tensor.FromFloats(new[] { n }, c2), "bias");
        return true;
    }

    /// <summary>Points the node's input at a new constant (the original may be shared with other nodes).</summary>
    private static void SetInput(Graph graph, Node node, int index, Tensor tensor, string role)
    {
        string name = node.Name + "." + role + ".bn_folded";
        while (graph.Values.ContainsKey(name)) name += "_";
        graph.Values[name] = new Value(name, tensor.Type, tensor.Shape) { Constant = tensor };
        while (node.Inputs.Count <= index) node.Inputs.Add("");
        node.Inputs[index] = name;
    }
}
