using System.Collections.Generic;
using System.Linq;

namespace QuantGen.Compiler.Ir;

/// <summary>
/// The model as the passes see it: values by name, nodes in topological order, and the graph's
/// runtime inputs and outputs. Passes edit it in place.
/// </summary>
public sealed class Graph
{
    public Graph(string name, long opset, long irVersion)
    {
        Name = name;
        Opset = opset;
        IrVersion = irVersion;
    }

    public string Name { get; }

    /// <summary>Version of the default ("ai.onnx") operator set the model imports.</summary>
    public long Opset { get; }
    public long IrVersion { get; }

    public Dictionary<string, Value> Values { get; } = new();

    /// <summary>Every node name of the model file, before any pass removed or merged nodes (for KeepFloat).</summary>
    public List<string> OriginalNodeNames { get; } = new();
    public List<Node> Nodes { get; } = new();

    /// <summary>Names of the runtime inputs (initializers excluded), in model order.</summary>
    public List<string> Inputs { get; } = new();

    /// <summary>Names of the graph outputs, in model order.</summary>
    public List<string> Outputs { get; } = new();

    public Value this[string name] => Values[name];

    public Value? Find(string name) => name.Length > 0 && Values.TryGetValue(name, out var v) ? v : null;

    /// <summary>Nodes that read <paramref name="valueName"/>.</summary>
    public IEnumerable<Node> Consumers(string valueName) => Nodes.Where(n => n.Inputs.Contains(valueName));

    public Node? Producer(string valueName) => Nodes.FirstOrDefault(n => n.Outputs.Contains(valueName));

    public bool IsGraphOutput(string valueName) => Outputs.Contains(valueName);

    /// <summary>Replaces every read of <paramref name="oldName"/> (node inputs and graph outputs) by <paramref name="newName"/>.</summary>
    public void ReplaceUses(string oldName, string newName)
    {
        foreach (var node in Nodes)
            for (int i = 0; i < node.Inputs.Count; i++)
                if (node.Inputs[i] == oldName)
                    node.Inputs[i] = newName;
        for (int i = 0; i < Outputs.Count; i++)
            if (Outputs[i] == oldName)
                Outputs[i] = newName;
    }

    /// <summary>Drops values nothing refers to any more (folded intermediates, unused initializers).</summary>
    public void RemoveUnusedValues()
    {
        var used = new HashSet<string>(Inputs.Concat(Outputs));
        foreach (var node in Nodes)
        {
            used.UnionWith(node.Inputs);
            used.UnionWith(node.Outputs);
        }
        foreach (var name in Values.Keys.Where(k => !used.Contains(k)).ToList())
            Values.Remove(name);
    }
}
