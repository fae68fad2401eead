using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>What every operator callback sees: the node, the graph's opset, typed attribute access and error helpers.</summary>
public abstract class OpContext
{
    protected OpContext(Node node, long opset)
    {
        Node = node;
        Opset = opset;
    }

    public Node Node { get; }
    public long Opset { get; }

    public int InputCount => Node.Inputs.Count;
    public int OutputCount => Node.Outputs.Count;
    public bool HasInput(int index) => Node.HasInput(index);

    public abstract int[] InputShape(int index);
    public abstract DataType InputType(int index);

    /// <summary>The input's contents when known at build time (always, during evaluation).</summary>
    public abstract Tensor? InputConstant(int index);

    public bool HasAttribute(string name) => Node.Attributes.ContainsKey(name);

    public long Int(string name, long defaultValue) => Get(name, AttributeKind.Int)?.Int ?? defaultValue;
    public long Int(string name) => (Get(name, AttributeKind.Int) ?? throw Invalid($"the required attribute '{name}' is missing")).Int;
    public float Float(string name, float defaultValue) => Get(name, AttributeKind.Float)?.Float ?? defaultValue;
    public string String(string name, string defaultValue) => Get(name, AttributeKind.String)?.String ?? defaultValue;
    public long[]? Ints(string name) => Get(name, AttributeKind.Ints)?.Ints.ToArray();
    public float[]? Floats(string name) => Get(name, AttributeKind.Floats)?.Floats.ToArray();
    public Tensor? TensorAttribute(string name) => Get(name, AttributeKind.Tensor)?.Tensor;

    private NodeAttribute? Get(string name, AttributeKind kind)
    {
        if (!Node.Attributes.TryGetValue(name, out var a))
            return null;
        if (a.Kind != kind)
            throw Invalid($"the attribute '{name}' is {a.Kind}{(a.Kind == AttributeKind.Unsupported ? " (" + a.UnsupportedKind + ")" : "")}, expected {kind}");
        return a;
    }

    /// <summary>An attribute or input value that breaks the operator's specification (QG0006).</summary>
    public ModelCompileException Invalid(string message) =>
        new(DiagnosticCatalog.InvalidAttribute.Create(Node.Name, Node.OpType, message));

    /// <summary>Input shapes the operator cannot combine (QG0007).</summary>
    public ModelCompileException ShapeError(string message) =>
        new(DiagnosticCatalog.ShapeMismatch.Create(Node.Name, Node.OpType, message));

    /// <summary>A feature of the operator QuantGen does not implement (QG0005, with the reason).</summary>
    public ModelCompileException Unsupported(string what) =>
        new(DiagnosticCatalog.UnsupportedOperator.Create(Node.Name, Node.OpType, Node.Domain, Opset, " with " + what));

    /// <summary>Normalizes an axis attribute against a rank, or fails with QG0006.</summary>
    public int Axis(long axis, int rank, string what = "axis")
    {
        return Shapes.NormalizeAxis(axis, rank) ?? throw Invalid($"{what} {axis} is out of range for rank {rank}");
    }

    public int[] InputShapeOrFail(int index)
    {
        if (!HasInput(index))
            throw Invalid($"input {index} is required");
        return InputShape(index);
    }

    public Tensor RequireConstant(int index, string what)
    {
        if (!HasInput(index))
            throw Invalid($"the {what} input is required");
        return InputConstant(index) ?? throw Unsupported($"a {what} computed at run time (it must be known at build time)");
    }
}

/// <summary>The context of <see cref="Operator.InferShapes"/>: reads input values, sets output types and shapes.</summary>
public sealed class ShapeContext : OpContext
{
    private readonly Graph _graph;

    public ShapeContext(Node node, Graph graph)
        : base(node, graph.Opset)
    {
        _graph = graph;
    }

    public Value Input(int index)
    {
        if (!HasInput(index))
            throw Invalid($"input {index} is required but missing");
        return _graph[Node.Inputs[index]];
    }
    public override int[] InputShape(int index) => Input(index).Shape!;
    public override DataType InputType(int index) => Input(index).Type;
    public override Tensor? InputConstant(int index) => HasInput(index) ? Input(index).Constant : null;

    public void SetOutput(int index, DataType type, int[] shape)
    {
        if (index >= Node.Outputs.Count || Node.Outputs[index].Length == 0)
            return; // optional output not requested
        foreach (int d in shape)
            if (d < 0)
                throw ShapeError($"output {index} would have the negative dimension {d} (shape {string.Join("x", shape)})");
        var value = _graph[Node.Outputs[index]];
        value.Type = type;
        value.Shape = shape;
    }

    /// <summary>Marks output <paramref name="index"/> as known at build time (e.g. Shape's result depends only on shapes).</summary>
    public void SetOutputConstant(int index, Tensor tensor)
    {
        SetOutput(index, tensor.Type, tensor.Shape);
        _graph[Node.Outputs[index]].Constant = tensor;
    }

    /// <summary>Checks an input's element type is among <paramref name="allowed"/>.</summary>
    public void RequireType(int index, params DataType[] allowed)
    {
        if (HasInput(index) && !allowed.Contains(InputType(index)))
            throw Unsupported($"input {index} of type {InputType(index)} (supported: {string.Join(", ", allowed)})");
    }
}

/// <summary>The context of <see cref="Operator.Evaluate"/>: every input is a tensor.</summary>
public sealed class EvalContext : OpContext
{
    private readonly IReadOnlyList<Tensor?> _inputs;

    public EvalContext(Node node, long opset, IReadOnlyList<Tensor?> inputs)
        : base(node, opset)
    {
        _inputs = inputs;
        Outputs = new Tensor?[node.Outputs.Count];
    }

    public Tensor?[] Outputs { get; }

    public Tensor Input(int index) => _inputs[index] ?? throw Invalid($"input {index} is required");
    public override int[] InputShape(int index) => Input(index).Shape;
    public override DataType InputType(int index) => Input(index).Type;
    public override Tensor? InputConstant(int index) => index < _inputs.Count ? _inputs[index] : null;

    public void SetOutput(int index, Tensor tensor) => Outputs[index] = tensor;
}
