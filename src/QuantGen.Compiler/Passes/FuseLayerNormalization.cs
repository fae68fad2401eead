using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Passes;

/// <summary>
/// Replaces the decomposed layer norm that exporters write before opset 17 by one LayerNormalization node:
/// <code>
/// m = ReduceMean(x, trailing axes)   d = Sub(x, m)   v = ReduceMean(Pow(d, 2) or Mul(d, d), same axes)
/// y = Div(d, Sqrt(Add(v, eps)))      (or Pow(·, 0.5)), then optionally Mul(y, gamma) and Add(y, beta), constants in either order
/// </code>
/// It matches only when every intermediate is private to the pattern, the axes are the same trailing ones in both
/// means (kept dimensions), and eps, gamma and beta are build-time constants that broadcast onto the normalized
/// dimensions; anything else is left alone. One node instead of nine: one kernel reads x twice instead of nine
/// passes, and in INT8 the mean, variance and rsqrt are no longer quantized one by one (they lose too much in 8 bits).
/// </summary>
public static class FuseLayerNormalization
{
    private sealed record Match(List<Node> Nodes, string X, int Axis, float Epsilon, string? Gamma, string? Beta, string Output, int[] Normalized);

    public static void Run(Graph graph)
    {
        // One fusion per round: each changes the graph, and the next match needs a fresh index.
        while (true)
        {
            var matching = new GraphMatching(graph);
            var match = graph.Nodes.Where(n => n.OpType == "ReduceMean").Select(n => TryMatch(graph, matching, n)).FirstOrDefault(m => m != null);
            if (match == null) break;
            Apply(graph, match);
        }
        graph.RemoveUnusedValues();
    }

    private static Match? TryMatch(Graph graph, GraphMatching g, Node mean)
    {
        string x = mean.Inputs[0];
        var shape = graph.Find(x)?.Shape;
        if (shape == null || shape.Length == 0 || graph[x].Type != DataType.Float)
            return null;
        var axes = ReducedAxes(graph, mean, shape.Length);
        if (axes == null || axes.Length == 0 || axes[0] != shape.Length - axes.Length || axes.Distinct().Count() != axes.Length)
            return null; // not the trailing dimensions
        int axis = axes[0];

        var sub = g.Sole(mean.Outputs[0], "Sub");
        if (sub == null || sub.Inputs[0] != x || sub.Inputs[1] != mean.Outputs[0])
            return null;
        string d = sub.Outputs[0];
        var readers = g.Consumers(d);
        if (readers.Count != 2 || graph.IsGraphOutput(d))
            return null;
        var square = readers.FirstOrDefault(n => IsSquare(g, n, d));
        var div = readers.FirstOrDefault(n => n.OpType == "Div" && n.Inputs.Count == 2 && n.Inputs[0] == d && n.Inputs[1] != d);
        if (square == null || div == null)
            return null;

        var variance = g.Sole(square.Outputs[0], "ReduceMean");
        if (variance == null || variance.Inputs[0] != square.Outputs[0])
            return null;
        var varianceAxes = ReducedAxes(graph, variance, shape.Length);
        if (varianceAxes == null || !varianceAxes.OrderBy(a => a).SequenceEqual(axes))
            return null;
        var addEps = g.Sole(variance.Outputs[0], "Add");
        string? epsName = addEps == null ? null : GraphMatching.Other(addEps, variance.Outputs[0]);
        float? eps = epsName == null ? null : g.Scalar(epsName);
        if (addEps == null || eps is not float epsilon || !(epsilon >= 0f) || float.IsInfinity(epsilon))
            return null;
        // The standard deviation: Sqrt, or Pow(·, 0.5) as TensorFlow converters write it.
        var sqrt = g.Sole(addEps.Outputs[0], "Sqrt")
            ?? (g.Sole(addEps.Outputs[0], "Pow") is { } pow && pow.Inputs.Count == 2 && pow.Inputs[0] == addEps.Outputs[0] && g.Scalar(pow.Inputs[1]) == 0.5f ? pow : null);
        if (sqrt == null || g.Sole(sqrt.Outputs[0], "Div") != div || div.Inputs[1] != sqrt.Outputs[0])
            return null;

        var nodes = new List<Node> { mean, sub, square, variance, addEps, sqrt, div };
        var normalized = shape.Skip(axis).ToArray();
        string output = div.Outputs[0];
        string? gamma = null, beta = null;
        var mul = g.Sole(output, "Mul");
        if (mul != null && GraphMatching.Other(mul, output) is string gName && Affine(graph, gName, shape, axis))
        {
            gamma = gName;
            nodes.Add(mul);
            output = mul.Outputs[0];
        }
        var add = g.Sole(output, "Add");
        if (add != null && GraphMatching.Other(add, output) is string bName && Affine(graph, bName, shape, axis))
        {
            beta = bName;
            nodes.Add(add);
            output = add.Outputs[0];
        }
        return new Match(nodes, x, axis, epsilon, gamma, beta, output, normalized);
    }

    /// <summary>Pow(d, 2) or Mul(d, d).</summary>
    private static bool IsSquare(GraphMatching g, Node n, string d) =>
        n.Inputs.Count == 2 && n.Inputs[0] == d
        && (n.OpType == "Mul" && n.Inputs[1] == d || n.OpType == "Pow" && g.Scalar(n.Inputs[1]) == 2f);

    /// <summary>
    /// A float constant that scales or shifts only along the normalized dimensions: no higher rank than x,
    /// and 1 on every dimension before <paramref name="axis"/> (so it broadcasts exactly like LayerNormalization's).
    /// </summary>
    private static bool Affine(Graph graph, string name, int[] x, int axis)
    {
        var t = graph.Find(name)?.Constant;
        if (t == null || t.Type != DataType.Float || t.Shape.Length > x.Length)
            return false;
        int offset = x.Length - t.Shape.Length;
        for (int i = 0; i < t.Shape.Length; i++)
        {
            int dim = i + offset;
            if (t.Shape[i] != 1 && (dim < axis || t.Shape[i] != x[dim]))
                return false;
        }
        return true;
    }

    /// <summary>The sorted axes a kept-dimensions ReduceMean reduces (attribute or constant input, by opset); null if unknown.</summary>
    private static int[]? ReducedAxes(Graph graph, Node mean, int rank)
    {
        if (mean.Attributes.TryGetValue("keepdims", out var keep) && keep.Int == 0)
            return null;
        long[]? axes;
        if (graph.Opset < 18)
            axes = mean.Attributes.TryGetValue("axes", out var a) && a.Kind == AttributeKind.Ints ? a.Ints.ToArray() : null;
        else if (mean.HasInput(1))
            axes = graph.Find(mean.Inputs[1])?.Constant?.AsLongs() ?? new long[] { long.MaxValue };
        else
            axes = null;
        if (graph.Opset >= 18 && mean.Attributes.TryGetValue("noop_with_empty_axes", out var noop) && noop.Int != 0 && (axes == null || axes.Length == 0))
            return null;
        if (axes == null || axes.Length == 0)
            return Enumerable.Range(0, rank).ToArray(); // every axis
        var result = new int[axes.Length];
        for (int i = 0; i < axes.Length; i++)
        {
            var n = Shapes.NormalizeAxis(axes[i], rank);
            if (n == null) return null;
            result[i] = n.Value;
        }
        return result.OrderBy(v => v).ToArray();
    }

    private static void Apply(Graph graph, Match m)
    {
        string gamma = m.Gamma ?? AddConstant(graph, m.Output + ".ln_scale", m.Normalized, 1f);
        var inputs = new List<string> { m.X, gamma };
        if (m.Beta != null) inputs.Add(m.Beta);
        var attributes = new Dictionary<string, NodeAttribute>
        {
            ["axis"] = new("axis", AttributeKind.Int) { Int = m.Axis },
            ["epsilon"] = new("epsilon", AttributeKind.Float) { Float = m.Epsilon },
        };
        var fused = new Node(GraphMatching.FusedName(graph, m.Nodes[0], "LayerNormalization"), "LayerNormalization", "", inputs, new[] { m.Output }, attributes);
        GraphMatching.Replace(graph, m.Nodes, fused);
    }

    private static string AddConstant(Graph graph, string wanted, int[] shape, float value)
    {
        string name = GraphMatching.UniqueValueName(graph, wanted);
        var tensor = Tensor.FromFloats(shape, Enumerable.Repeat(value, Shapes.ElementCount(shape)).ToArray());
        graph.Values[name] = new Value(name, DataType.Float, shape) { Constant = tensor };
        return name;
    }
}
