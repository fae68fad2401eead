using System.Collections.Generic;
using System.Linq;

namespace QuantGen.Compiler.Ir;

/// <summary>One ONNX node. Inputs and outputs are value names; "" marks an omitted optional input.</summary>
public sealed class Node
{
    public Node(string name, string opType, string domain, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, IReadOnlyDictionary<string, NodeAttribute> attributes)
    {
        Name = name;
        OpType = opType;
        Domain = domain;
        Inputs = inputs.ToList();
        Outputs = outputs.ToList();
        Attributes = attributes;
    }

    /// <summary>The node's ONNX name (never empty: the importer names anonymous nodes after their op and position).</summary>
    public string Name { get; }
    public string OpType { get; }
    public string Domain { get; }
    public List<string> Inputs { get; }
    public List<string> Outputs { get; }
    public IReadOnlyDictionary<string, NodeAttribute> Attributes { get; }

    /// <summary>Activation fused into this node's output by <c>FuseActivations</c>; null when none.</summary>
    public FusedActivation? Activation { get; set; }

    /// <summary>Names of nodes folded or fused into this one (a BatchNormalization, an activation), for KeepFloat.</summary>
    public HashSet<string> Absorbed { get; } = new();

    public bool HasInput(int index) => index < Inputs.Count && Inputs[index].Length > 0;

    public override string ToString() => $"{OpType} '{Name}'";
}
