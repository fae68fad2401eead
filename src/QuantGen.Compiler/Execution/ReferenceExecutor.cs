using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Ops;

namespace QuantGen.Compiler.Execution;

/// <summary>
/// Runs a graph with each operator's float reference (<see cref="Operator.Evaluate"/>), node by node, keeping
/// every intermediate value. It is the oracle tests compare generated code with, and it lets tools look at any
/// tensor of the model (per-layer error, calibration ranges).
/// </summary>
public static class ReferenceExecutor
{
    /// <summary>Runs the graph; returns every value computed or known, by name.</summary>
    /// <param name="inputs">One tensor per graph input, in <see cref="Graph.Inputs"/> order.</param>
    public static Dictionary<string, Tensor> Run(Graph graph, IReadOnlyList<Tensor> inputs)
    {
        if (inputs.Count != graph.Inputs.Count)
            throw new ArgumentException($"the graph has {graph.Inputs.Count} inputs, {inputs.Count} given", nameof(inputs));
        var values = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var v in graph.Values.Values.Where(v => v.IsConstant))
            values[v.Name] = v.Constant!;
        for (int i = 0; i < inputs.Count; i++)
        {
            var expected = graph[graph.Inputs[i]];
            if (inputs[i].Length != expected.Length)
                throw new ArgumentException($"input '{expected.Name}' needs {expected.Length} elements, got {inputs[i].Length}", nameof(inputs));
            values[expected.Name] = inputs[i].Reshape(expected.Shape!);
        }
        foreach (var node in graph.Nodes)
        {
            var op = OperatorRegistry.Find(node.Domain, node.OpType)
                ?? throw new InvalidOperationException($"no operator for {node}");
            var ctx = new EvalContext(node, graph.Opset, node.Inputs.Select(n => n.Length == 0 ? null : values[n]).ToList());
            op.Evaluate(ctx);
            for (int i = 0; i < node.Outputs.Count; i++)
            {
                if (node.Outputs[i].Length == 0 || ctx.Outputs[i] == null) continue;
                var result = ctx.Outputs[i]!;
                if (node.Activation != null && result.Type == DataType.Float)
                    result = Tensor.FromFloats(result.Shape, Array.ConvertAll(result.Floats!, node.Activation.Apply));
                values[node.Outputs[i]] = result;
            }
        }
        return values;
    }

    /// <summary>Runs the graph and returns its outputs, in <see cref="Graph.Outputs"/> order.</summary>
    public static Tensor[] RunOutputs(Graph graph, IReadOnlyList<Tensor> inputs)
    {
        var values = Run(graph, inputs);
        return graph.Outputs.Select(o => values[o]).ToArray();
    }
}
