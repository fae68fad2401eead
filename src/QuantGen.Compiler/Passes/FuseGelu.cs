using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Ops;

namespace QuantGen.Compiler.Passes;

/// <summary>
/// Replaces the GELU that exporters write before opset 20 by one Gelu node:
/// <list type="bullet">
/// <item>exact: 0.5 · x · (1 + erf(x / √2)), the inner scaling as Div(x, √2) or Mul(x, 1/√2);</item>
/// <item>tanh (approximate = "tanh"): 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³))), x³ as Pow(x, 3) or Muls of x.</item>
/// </list>
/// The outer product is matched as a product, whatever its association and operand order (PyTorch writes
/// (x · (1 + erf)) · 0.5, Hugging Face (x · 0.5) · (1 + erf)): a tree of Muls, private to the pattern, whose factors
/// are x, the (1 + erf) term and constants multiplying to 0.5. Constants must match to float precision; every
/// intermediate must be private to the pattern. Anything else is left alone.
/// </summary>
public static class FuseGelu
{
    private sealed record Match(List<Node> Nodes, string X, string Output, string Approximate);

    /// <summary>Fuses every GELU pattern (the Gelu operator runs the result at any opset).</summary>
    public static void Run(Graph graph) => FuseAll(graph);

    /// <summary>Fuses every GELU pattern into a Gelu node (whether or not an operator runs it); returns how many.</summary>
    public static int FuseAll(Graph graph)
    {
        int count = 0;
        while (true)
        {
            var g = new GraphMatching(graph);
            var match = graph.Nodes.Where(n => n.OpType is "Erf" or "Tanh").Select(n => TryMatch(graph, g, n)).FirstOrDefault(m => m != null);
            if (match == null) break;
            var attributes = new Dictionary<string, NodeAttribute>();
            if (match.Approximate != "none")
                attributes["approximate"] = new NodeAttribute("approximate", AttributeKind.String) { String = match.Approximate };
            var first = match.Nodes.OrderBy(n => graph.Nodes.IndexOf(n)).First();
            var fused = new Node(GraphMatching.FusedName(graph, first, "Gelu"), "Gelu", "", new[] { match.X }, new[] { match.Output }, attributes);
            GraphMatching.Replace(graph, match.Nodes, fused);
            count++;
        }
        graph.RemoveUnusedValues();
        return count;
    }

    private static Match? TryMatch(Graph graph, GraphMatching g, Node f)
    {
        if (f.Inputs.Count != 1)
            return null;
        var nodes = new List<Node> { f };
        string? x = f.OpType == "Erf" ? ErfArgument(g, f.Inputs[0], nodes) : TanhArgument(g, f.Inputs[0], nodes);
        if (x == null)
            return null;

        // 1 + f(...)
        var plusOne = g.Sole(f.Outputs[0], "Add");
        if (plusOne == null || !(GraphMatching.Other(plusOne, f.Outputs[0]) is string one && g.Scalar(one) == 1f))
            return null;
        nodes.Add(plusOne);

        // The product x · (1 + f) · 0.5: climb the Muls above (1 + f) until the factors are exactly those.
        string term = plusOne.Outputs[0];
        string at = term;
        for (int depth = 0; depth < 3; depth++)
        {
            var mul = g.Sole(at, "Mul");
            if (mul == null)
                return null;
            var tree = new List<Node>();
            var factors = new List<string>();
            CollectFactors(g, mul.Outputs[0], term, x, tree, factors, isRoot: true);
            if (IsGeluProduct(g, factors, term, x))
            {
                nodes.AddRange(tree);
                return new Match(nodes, x, mul.Outputs[0], f.OpType == "Erf" ? "none" : "tanh");
            }
            at = mul.Outputs[0];
        }
        return null;
    }

    /// <summary>x from x / √2 or x · (1/√2), either operand order for the Mul.</summary>
    private static string? ErfArgument(GraphMatching g, string u, List<Node> nodes)
    {
        var p = g.Producer(u);
        if (p == null || g.Sole(u, "Erf") == null || p.Inputs.Count != 2)
            return null;
        if (p.OpType == "Div" && g.Scalar(p.Inputs[1]) is float c && GraphMatching.Near(c, Math.Sqrt(2)))
        {
            nodes.Add(p);
            return p.Inputs[0];
        }
        if (p.OpType == "Mul")
            foreach (var (x, k) in new[] { (p.Inputs[0], p.Inputs[1]), (p.Inputs[1], p.Inputs[0]) })
                if (g.Scalar(k) is float s && GraphMatching.Near(s, Math.Sqrt(0.5)) && g.Scalar(x) == null)
                {
                    nodes.Add(p);
                    return x;
                }
        return null;
    }

    /// <summary>x from √(2/π) · (x + 0.044715 · x³), with x³ as Pow(x, 3) or a product of three x.</summary>
    private static string? TanhArgument(GraphMatching g, string u, List<Node> nodes)
    {
        var scale = g.Producer(u);
        if (scale == null || scale.OpType != "Mul" || g.Sole(u, "Tanh") == null)
            return null;
        foreach (var (inner, k) in Pairs(scale))
        {
            if (!(g.Scalar(k) is float s && GraphMatching.Near(s, Math.Sqrt(2 / Math.PI))))
                continue;
            var sum = g.Producer(inner);
            if (sum == null || sum.OpType != "Add" || g.Sole(inner, "Mul") != scale)
                continue;
            foreach (var (x, cubic) in Pairs(sum))
            {
                var weighted = g.Producer(cubic);
                if (weighted == null || weighted.OpType != "Mul" || g.Sole(cubic, "Add") != sum)
                    continue;
                foreach (var (cube, kappa) in Pairs(weighted))
                {
                    if (!(g.Scalar(kappa) is float c && GraphMatching.Near(c, 0.044715)))
                        continue;
                    var cubeNodes = new List<Node>();
                    if (g.Sole(cube, "Mul") != weighted || !IsCube(g, cube, x, cubeNodes))
                        continue;
                    nodes.AddRange(new[] { scale, sum, weighted });
                    nodes.AddRange(cubeNodes);
                    return x;
                }
            }
        }
        return null;
    }

    /// <summary>Pow(x, 3), or Muls whose factors are x three times (x · (x · x), (x · x) · x).</summary>
    private static bool IsCube(GraphMatching g, string cube, string x, List<Node> nodes)
    {
        var p = g.Producer(cube);
        if (p == null)
            return false;
        if (p.OpType == "Pow")
        {
            if (p.Inputs.Count != 2 || p.Inputs[0] != x || g.Scalar(p.Inputs[1]) != 3f)
                return false;
            nodes.Add(p);
            return true;
        }
        if (p.OpType != "Mul")
            return false;
        var factors = new List<string>();
        CollectFactors(g, cube, stop: x, x: x, nodes, factors, isRoot: true);
        return factors.Count == 3 && factors.All(f => f == x);
    }

    /// <summary>
    /// The leaves of the Mul tree that produces <paramref name="value"/>: a Mul is opened when its output is private
    /// to the tree (the root always is); <paramref name="stop"/> and x are never opened.
    /// </summary>
    private static void CollectFactors(GraphMatching g, string value, string stop, string x, List<Node> tree, List<string> factors, bool isRoot)
    {
        var p = value == stop || value == x ? null : g.Producer(value);
        bool open = p != null && p.OpType == "Mul" && p.Inputs.Count == 2 && (isRoot || g.Sole(value, "Mul") != null);
        if (!open)
        {
            factors.Add(value);
            return;
        }
        tree.Add(p!);
        CollectFactors(g, p!.Inputs[0], stop, x, tree, factors, isRoot: false);
        if (p.Inputs[1] == p.Inputs[0])
            factors.Add(p.Inputs[1]); // x · x: the same value twice, opened once
        else
            CollectFactors(g, p.Inputs[1], stop, x, tree, factors, isRoot: false);
    }

    /// <summary>The factors are x once, the (1 + f) term once, and constants whose product is 0.5.</summary>
    private static bool IsGeluProduct(GraphMatching g, List<string> factors, string term, string x)
    {
        if (factors.Count(f => f == x) != 1 || factors.Count(f => f == term) != 1)
            return false;
        double product = 1;
        foreach (var f in factors.Where(f => f != x && f != term))
        {
            if (g.Scalar(f) is not float c) return false;
            product *= c;
        }
        return GraphMatching.Near((float)product, 0.5);
    }

    private static IEnumerable<(string, string)> Pairs(Node n)
    {
        if (n.Inputs.Count != 2) yield break;
        yield return (n.Inputs[0], n.Inputs[1]);
        yield return (n.Inputs[1], n.Inputs[0]);
    }
}
