using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Passes;

/// <summary>Removes nodes none of whose outputs reach a graph output.</summary>
public static class RemoveDeadNodes
{
    public static void Run(Graph graph)
    {
        var live = new HashSet<string>(graph.Outputs);
        for (int i = graph.Nodes.Count - 1; i >= 0; i--)
        {
            var node = graph.Nodes[i];
            if (node.Outputs.Any(live.Contains))
                live.UnionWith(node.Inputs);
            else
                graph.Nodes.RemoveAt(i);
        }
        graph.RemoveUnusedValues();
    }
}
