using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Passes;

/// <summary>
/// What the pattern-fusion passes ask of a graph: who reads a value, whether an intermediate is private to the
/// pattern, and the value of scalar constants. Built once per match attempt round; stale after the graph changes.
/// </summary>
internal sealed class GraphMatching
{
    private readonly Graph _graph;
    private readonly Dictionary<string, List<Node>> _consumers = new();
    private readonly Dictionary<string, Node> _producers = new();

    public GraphMatching(Graph graph)
    {
        _graph = graph;
        foreach (var node in graph.Nodes)
        {
            foreach (var input in node.Inputs.Where(i => i.Length > 0).Distinct())
            {
                if (!_consumers.TryGetValue(input, out var list))
                    _consumers[input] = list = new List<Node>();
                list.Add(node);
            }
            foreach (var output in node.Outputs.Where(o => o.Length > 0))
                _producers[output] = node;
        }
    }

    public IReadOnlyList<Node> Consumers(string value) =>
        _consumers.TryGetValue(value, out var list) ? list : (IReadOnlyList<Node>)System.Array.Empty<Node>();

    public Node? Producer(string value) => _producers.TryGetValue(value, out var node) ? node : null;

    /// <summary>
    /// The one node that reads <paramref name="value"/>, when it is of <paramref name="opType"/>, in the default domain,
    /// and nothing else (no other node, no graph output) sees the value: it is private to the pattern.
    /// </summary>
    public Node? Sole(string value, string opType)
    {
        var consumers = Consumers(value);
        if (consumers.Count != 1 || _graph.IsGraphOutput(value))
            return null;
        var node = consumers[0];
        return node.OpType == opType && node.Domain is "" or "ai.onnx" ? node : null;
    }

    /// <summary>The single value of a constant holding one element (any shape and numeric type), as a float; or null.</summary>
    public float? Scalar(string value)
    {
        var t = _graph.Find(value)?.Constant;
        return t != null && t.Length == 1 && t.Type != DataType.Bool ? (float)t[0] : null;
    }

    /// <summary>For a two-input (commutative) node that reads <paramref name="value"/>, the other input; null otherwise.</summary>
    public static string? Other(Node node, string value)
    {
        if (node.Inputs.Count != 2) return null;
        if (node.Inputs[0] == value) return node.Inputs[1];
        if (node.Inputs[1] == value) return node.Inputs[0];
        return null;
    }

    /// <summary>True when <paramref name="actual"/> is <paramref name="expected"/> to float precision (exporters round constants).</summary>
    public static bool Near(float actual, double expected, double relative = 1e-5) =>
        System.Math.Abs(actual - expected) <= relative * System.Math.Abs(expected);

    /// <summary>A node name not yet used in the graph, from <paramref name="wanted"/>.</summary>
    public static string UniqueNodeName(Graph graph, string wanted)
    {
        var names = new HashSet<string>(graph.Nodes.Select(n => n.Name));
        string name = wanted;
        for (int i = 1; names.Contains(name); i++) name = wanted + "_" + i;
        return name;
    }

    /// <summary>A value name not yet used in the graph, from <paramref name="wanted"/>.</summary>
    public static string UniqueValueName(Graph graph, string wanted)
    {
        string name = wanted;
        for (int i = 1; graph.Values.ContainsKey(name); i++) name = wanted + "_" + i;
        return name;
    }

    /// <summary>"/encoder/ln/ReduceMean" gives "/encoder/ln/" + <paramref name="op"/>: the fused node keeps the module's path.</summary>
    public static string FusedName(Graph graph, Node first, string op)
    {
        int slash = first.Name.LastIndexOf('/');
        return UniqueNodeName(graph, slash >= 0 ? first.Name.Substring(0, slash + 1) + op : first.Name + "_" + op);
    }

    /// <summary>Replaces <paramref name="pattern"/> by <paramref name="fused"/>, placed where the pattern's first node was.</summary>
    public static void Replace(Graph graph, IReadOnlyCollection<Node> pattern, Node fused)
    {
        int at = pattern.Min(n => graph.Nodes.IndexOf(n));
        foreach (var n in pattern)
        {
            fused.Absorbed.Add(n.Name);
            fused.Absorbed.UnionWith(n.Absorbed);
            graph.Nodes.Remove(n);
        }
        graph.Nodes.Insert(at, fused);
    }
}
