using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Ops;

namespace QuantGen.Compiler.Passes;

/// <summary>
/// Evaluates, at build time, every node whose inputs are all known (initializers, Constants, Shape results)
/// with the operator's float reference. PyTorch's Shape→Gather→Unsqueeze→Concat→Reshape chains vanish this way.
/// Called by <see cref="ShapeInference"/> node by node, because later shapes depend on folded values.
/// </summary>
public static class ConstantFolding
{
    /// <summary>Folds <paramref name="node"/> if it can be; returns true when the node is now redundant.</summary>
    public static bool TryFold(Node node, Graph graph, Operator op)
    {
        var outputs = node.Outputs.Where(o => o.Length > 0).Select(o => graph[o]).ToList();
        if (outputs.All(v => v.IsConstant))
            return true; // the shape rule already knew the answer (Constant, Shape)

        var inputs = node.Inputs.Select(graph.Find).ToList();
        for (int i = 0; i < inputs.Count; i++)
        {
            if (inputs[i] == null || inputs[i]!.IsConstant) continue;
            if (op.IsRuntimeInput(i)) return false;
        }

        var ctx = new EvalContext(node, graph.Opset, inputs.Select(v => v?.Constant).ToList());
        op.Evaluate(ctx);
        for (int i = 0; i < node.Outputs.Count; i++)
        {
            if (node.Outputs[i].Length == 0) continue;
            var result = ctx.Outputs[i];
            if (result == null) return false;
            var value = graph[node.Outputs[i]];
            if (node.Activation != null && result.Type == DataType.Float)
                result = Tensor.FromFloats(result.Shape, System.Array.ConvertAll(result.Floats!, node.Activation.Apply));
            value.Constant = result;
            value.Type = result.Type;
            value.Shape = result.Shape;
        }
        return true;
    }
}
