using System.Collections.Generic;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Ops;

namespace QuantGen.Compiler.Emit;

/// <summary>
/// The context of <see cref="Operator.EmitKernel"/>. The op writes the body of a method whose parameters are
/// <c>x0, x1, ...</c> (<see cref="System.ReadOnlySpan{T}"/> of each input it reads through <see cref="In"/>) and
/// <c>y0, y1, ...</c> (<see cref="System.Span{T}"/> of each output). Shapes are constants here, so the op
/// writes them into the code as literals: the kernel is specialized to this node.
/// </summary>
public sealed class KernelContext : OpContext
{
    private readonly Graph _graph;
    private readonly SortedSet<int> _usedInputs = new();

    private readonly IReadOnlyDictionary<string, string>? _predictParameters;

    /// <param name="predictParameters">Predict's parameter name of each graph input, by ONNX name (for messages that name what the caller passed).</param>
    public KernelContext(Node node, Graph graph, SourceWriter writer, IReadOnlyDictionary<string, string>? predictParameters = null)
        : base(node, graph.Opset)
    {
        _graph = graph;
        W = writer;
        _predictParameters = predictParameters;
    }

    public SourceWriter W { get; }

    /// <summary>The Predict parameter input <paramref name="index"/> comes straight from, or null when it is computed inside the model.</summary>
    public string? PredictParameter(int index) =>
        HasInput(index) && _predictParameters != null && _predictParameters.TryGetValue(Node.Inputs[index], out var p) ? p : null;

    public Value InputValue(int index) => _graph[Node.Inputs[index]];
    public Value OutputValue(int index) => _graph[Node.Outputs[index]];
    public override int[] InputShape(int index) => InputValue(index).Shape!;
    public override DataType InputType(int index) => InputValue(index).Type;
    public override Tensor? InputConstant(int index) => HasInput(index) ? InputValue(index).Constant : null;
    public int[] OutputShape(int index) => OutputValue(index).Shape!;
    public DataType OutputType(int index) => OutputValue(index).Type;

    /// <summary>The span parameter of input <paramref name="index"/>; calling this makes the kernel take that input.</summary>
    public string In(int index)
    {
        _usedInputs.Add(index);
        return "x" + index;
    }

    public string Out(int index) => "y" + index;

    /// <summary>The kernel's scratch memory (a <see cref="System.Span{T}"/> of bytes, <see cref="Operator.ScratchBytes"/> long).</summary>
    public string Scratch()
    {
        UsesScratch = true;
        return "scratch";
    }

    public bool UsesScratch { get; private set; }

    /// <summary>Inputs the body read, in order: they become the method's parameters.</summary>
    public IReadOnlyCollection<int> UsedInputs => _usedInputs;

    public FusedActivation? Activation => Node.Activation;

    /// <summary>
    /// Embeds build-time data the kernel derived (e.g. weights rearranged for its inner loop) and returns the
    /// expression that reads it.
    /// </summary>
    public string Embed(string suffix, Tensor tensor)
    {
        var embedded = new EmbeddedTensor(Node.Name, suffix, tensor);
        EmbeddedTensors.Add(embedded);
        return "Weights." + embedded.PlaceholderName;
    }

    public List<EmbeddedTensor> EmbeddedTensors { get; } = new();

    /// <summary>Asks for a shared helper method (see <see cref="KernelHelpers"/>) in the generated class.</summary>
    public string Helper(string name)
    {
        foreach (var needed in KernelHelpers.WithDependencies(name))
            UsedHelpers.Add(needed);
        return name;
    }

    public HashSet<string> UsedHelpers { get; } = new();

    /// <summary>
    /// The C# expression for the fused activation applied to the variable <paramref name="v"/>
    /// (just <paramref name="v"/> when nothing is fused).
    /// </summary>
    public string Activate(string v)
    {
        var a = Node.Activation;
        return a == null ? v : "(" + ActivationOperator.ActivationExpression(a, v) + ")";
    }
}
