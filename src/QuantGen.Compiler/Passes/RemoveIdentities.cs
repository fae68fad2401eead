using System.Linq;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Passes;

/// <summary>Drops Identity and inference-time Dropout: readers of the output read the input instead.</summary>
public static class RemoveIdentities
{
    public static void Run(Graph graph)
    {
        foreach (var node in graph.Nodes.Where(n => n.OpType is "Identity" or "Dropout").ToList())
        {
            string output = node.Outputs[0], input = node.Inputs[0];
            // A graph output keeps its own name (and the node, as a view), so the generated API is unchanged.
            if (graph.IsGraphOutput(output)) continue;
            graph.ReplaceUses(output, input);
            graph.Nodes.Remove(node);
        }
        graph.RemoveUnusedValues();
    }
}
