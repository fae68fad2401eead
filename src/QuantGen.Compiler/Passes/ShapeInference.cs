using System.Collections.Generic;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Ops;

namespace QuantGen.Compiler.Passes;

/// <summary>
/// Gives every value its static type and shape, in topological order, folding constants as it goes
/// (shape inputs such as Reshape's target are often computed by earlier nodes). Folded nodes leave the graph.
/// </summary>
public static class ShapeInference
{
    public static void Run(Graph graph)
    {
        var remaining = new List<Node>(graph.Nodes.Count);
        foreach (var node in graph.Nodes)
        {
            var op = OperatorRegistry.Find(node.Domain, node.OpType)!;
            var ctx = new ShapeContext(node, graph);
            try
            {
                op.InferShapes(ctx);
            }
            catch (System.OverflowException)
            {
                throw new ModelCompileException(DiagnosticCatalog.ShapeMismatch.Create(node.Name, node.OpType, "a tensor here would have more than 2^31 elements"));
            }
            catch (System.Exception e) when (e is System.IndexOutOfRangeException or System.ArgumentOutOfRangeException)
            {
                // Missing inputs show up as index errors in shape rules: report them as a bad node, not a crash.
                throw new ModelCompileException(DiagnosticCatalog.InvalidAttribute.Create(node.Name, node.OpType, $"it has {node.Inputs.Count} inputs and {node.Outputs.Count} outputs, which the operator does not accept"));
            }
            foreach (var output in node.Outputs)
            {
                if (output.Length > 0 && graph[output].Shape == null)
                    throw new ModelCompileException(DiagnosticCatalog.InvalidAttribute.Create(node.Name, node.OpType, $"the output '{output}' is not produced by this operator"));
            }
            if (!ConstantFolding.TryFold(node, graph, op))
                remaining.Add(node);
        }
        graph.Nodes.Clear();
        graph.Nodes.AddRange(remaining);
        graph.RemoveUnusedValues();
    }
}
