namespace QuantGen.Compiler.Ir;

/// <summary>A named tensor in the graph: a model input, an initializer or a node output.</summary>
public sealed class Value
{
    public Value(string name, DataType type, int[]? shape)
    {
        Name = name;
        Type = type;
        Shape = shape;
    }

    public string Name { get; }
    public DataType Type { get; set; }

    /// <summary>Static shape; null until shape inference reaches this value.</summary>
    public int[]? Shape { get; set; }

    /// <summary>Known contents (initializer, Constant, or folded); null for values computed at run time.</summary>
    public Tensor? Constant { get; set; }

    public bool IsConstant => Constant != null;

    public int Length => Shapes.ElementCount(Shape!);

    public override string ToString() => $"{Name}: {Type} {(Shape == null ? "?" : Shapes.Format(Shape))}";
}
