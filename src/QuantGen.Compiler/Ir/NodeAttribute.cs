using System.Collections.Generic;

namespace QuantGen.Compiler.Ir;

public enum AttributeKind { Float, Int, String, Tensor, Floats, Ints, Strings, Unsupported }

/// <summary>An ONNX node attribute, already decoded from protobuf.</summary>
public sealed class NodeAttribute
{
    public NodeAttribute(string name, AttributeKind kind)
    {
        Name = name;
        Kind = kind;
    }

    public string Name { get; }
    public AttributeKind Kind { get; }
    public float Float { get; init; }
    public long Int { get; init; }
    public string String { get; init; } = "";
    public Tensor? Tensor { get; init; }
    public IReadOnlyList<float> Floats { get; init; } = System.Array.Empty<float>();
    public IReadOnlyList<long> Ints { get; init; } = System.Array.Empty<long>();
    public IReadOnlyList<string> Strings { get; init; } = System.Array.Empty<string>();

    /// <summary>For <see cref="AttributeKind.Unsupported"/>: what it was (e.g. "GRAPH").</summary>
    public string UnsupportedKind { get; init; } = "";
}
