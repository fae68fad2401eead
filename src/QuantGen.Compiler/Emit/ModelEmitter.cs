using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Memory;
using QuantGen.Compiler.Ops;

namespace QuantGen.Compiler.Emit;

/// <summary>
/// Turns the optimized graph and its memory plan into C#: the public API and Predict (Class.g.cs), one kernel
/// method per node (Class.Kernels.g.cs), and the embedded weights (Class.Weights[.N].g.cs).
/// </summary>
public sealed class ModelEmitter
{
    private readonly Graph _graph;
    private readonly CompilerOptions _options;
    private readonly EmitHeader _header;
    private readonly WeightEmitter _weights = new();
    private readonly List<TensorIo> _inputs;
    private readonly List<TensorIo> _outputs;

    private sealed record TensorIo(string OnnxName, string Parameter, string LengthConstant, Value Value);

    public ModelEmitter(Graph graph, CompilerOptions options, EmitHeader? header = null)
    {
        _graph = graph;
        _options = options;
        _header = header ?? new EmitHeader { FloatWeightBytes = ConstantBytes(graph) };
        var used = new HashSet<string> { "workspace" };
        _inputs = Describe(graph.Inputs, "input", "InputLength", used);
        _outputs = Describe(graph.Outputs, "output", "OutputLength", used);
    }

    /// <summary>Parameter and constant names: "input"/"InputLength" for a single tensor, else named after the ONNX names.</summary>
    private List<TensorIo> Describe(List<string> names, string single, string singleLength, HashSet<string> used)
    {
        var result = new List<TensorIo>();
        foreach (var name in names)
        {
            string parameter = names.Count == 1 ? single : CSharp.ParameterName(name);
            while (!used.Add(parameter.TrimStart('@'))) parameter += "_";
            string pascal = char.ToUpperInvariant(parameter.TrimStart('@')[0]) + parameter.TrimStart('@').Substring(1);
            string length = names.Count == 1 ? singleLength : pascal + "Length";
            result.Add(new TensorIo(name, parameter, length, _graph[name]));
        }
        return result;
    }

    /// <summary>
    /// Bytes of the constants kernels read at run time (the weights), as the graph holds them now: what a Float32 build
    /// embeds, without the constants kernels write into the code (<see cref="Operator.EmbedsConstant"/>).
    /// </summary>
    public static long ConstantBytes(Graph graph)
    {
        var names = new HashSet<string>();
        foreach (var node in graph.Nodes)
        {
            var op = OperatorRegistry.Find(node.Domain, node.OpType)!;
            var ctx = new ShapeContext(node, graph);
            for (int i = 0; i < node.Inputs.Count; i++)
                if (node.HasInput(i) && graph[node.Inputs[i]].IsConstant && op.EmbedsConstant(ctx, i))
                    names.Add(node.Inputs[i]);
        }
        return names.Sum(n => (long)graph[n].Length * graph[n].Type.ByteSize());
    }

    /// <summary>After <see cref="Emit"/> with <see cref="WeightStorage.Resource"/>: the resource's exact bytes.</summary>
    public WeightBlob? WeightBlob { get; private set; }

    public IReadOnlyList<GeneratedFile> Emit()
    {
        var plan = ArenaPlanner.Plan(_graph, _inputs.Select(i => i.Parameter).ToList(), _outputs.Select(o => o.Parameter).ToList());
        var kernels = EmitKernels(out var calls);
        // Kernels and Predict register the weights they read; a first pass over Predict completes the list so
        // every file's header can state the total.
        WriteApi(new SourceWriter(), plan, calls);
        _weightsFinal = true;
        var api = Wrap(w => WriteApi(w, plan, calls), "Predict and the model's public constants.");
        var files = new List<GeneratedFile>
        {
            new($"{_options.HintPrefix}.g.cs", api),
            new($"{_options.HintPrefix}.Kernels.g.cs", Wrap(w =>
            {
                // Kernels live in their own nested class, so their names cannot clash with the user's members.
                using (w.Block($"private static class {KernelsClass}"))
                    kernels(w);
            }, "One kernel per node, specialized to its shapes.", intrinsics: true)),
        };
        if (_options.WeightStorage == WeightStorage.Resource)
        {
            WeightBlob = _weights.BuildBlob(_options.ModelPath);
            files.Add(new($"{_options.HintPrefix}.Weights.g.cs", Wrap(w =>
            {
                w.Line($"// Constant tensors, little-endian, read in place from the manifest resource '{CSharp.CommentText(WeightBlob.ResourceName)}'");
                w.Line($"// ({WeightBlob.Bytes.Length:N0} bytes, each tensor {WeightBlob.Alignment}-byte aligned in it), which the QuantGen build task embeds.");
                using (w.Block("private static unsafe partial class Weights"))
                    _weights.WriteResourceMembers(w, WeightBlob, _options.ModelPath);
            }, "Embedded weights (in a manifest resource).")));
            return files;
        }
        foreach (var (index, write) in _weights.Files(_options.WeightBytesPerFile))
        {
            string hint = index == 0 ? $"{_options.HintPrefix}.Weights.g.cs" : $"{_options.HintPrefix}.Weights.{index + 1}.g.cs";
            files.Add(new(hint, Wrap(w =>
            {
                w.Line("// Constant tensors, little-endian, eight bytes per ulong literal; read in place from the assembly's data.");
                using (w.Block("private static partial class Weights"))
                    write(w);
            }, "Embedded weights.")));
        }
        return files;
    }

    /// <summary>Header, usings, namespace and containing types around <paramref name="body"/>.</summary>
    private string Wrap(Action<SourceWriter> body, string what, bool intrinsics = false)
    {
        var w = new SourceWriter();
        w.Line("// <auto-generated/>");
        w.Line($"// QuantGen {ThisAssembly.Version}: {what}");
        w.Line($"// Model: {CSharp.CommentText(_options.ModelPath)} (graph '{CSharp.CommentText(_graph.Name)}', opset {_graph.Opset}, IR version {_graph.IrVersion}).");
        w.Line($"// Precision: {CSharp.CommentText(_header.Precision)}.");
        if (_weightsFinal)
            w.Line(_weights.TotalBytes == _header.FloatWeightBytes
                ? $"// Weights: {_weights.TotalBytes:N0} bytes embedded."
                : $"// Weights: {_weights.TotalBytes:N0} bytes embedded (the float32 model's: {_header.FloatWeightBytes:N0} bytes).");
        w.Line("#nullable disable");
        w.Line("#pragma warning disable CS1591 // generated members are documented in the file that declares the API");
        w.Line();
        w.Line("using System;");
        w.Line("using System.Runtime.CompilerServices;");
        w.Line("using System.Runtime.InteropServices;");
        if (intrinsics)
        {
            w.Line("using System.Runtime.Intrinsics;");
            w.Line("using System.Runtime.Intrinsics.X86;");
        }
        w.Line();
        var closers = new List<IDisposable>();
        if (_options.Namespace.Length > 0)
            closers.Add(w.Block("namespace " + _options.Namespace));
        foreach (var outer in _options.ContainingTypes)
            closers.Add(w.Block(outer));
        closers.Add(w.Block($"static partial class {_options.ClassName}"));
        body(w);
        for (int i = closers.Count - 1; i >= 0; i--)
            closers[i].Dispose();
        return w.ToString();
    }

    private bool _weightsFinal;

    /// <summary>The nested classes and members the generated code adds to the user's class: no class may be named like them.</summary>
    public static IReadOnlyList<string> ReservedNames { get; } = new[]
    {
        KernelsClass, "Weights", "Predict", "InputLength", "OutputLength", "WorkspaceBytes", "Slice", "t_workspace",
    };

    private const string KernelsClass = "Kernels";

    private sealed record KernelCall(Node Node, int Position, string? Method, IReadOnlyList<int> Inputs, bool Scratch, string Comment);

    /// <summary>Writes one method per non-view node; returns how Predict calls each node.</summary>
    private Action<SourceWriter> EmitKernels(out List<KernelCall> calls)
    {
        calls = new List<KernelCall>();
        var bodies = new List<string>();
        var helpers = new SortedSet<string>(StringComparer.Ordinal);
        var methodNames = new HashSet<string>(KernelHelpers.Names.Concat(new[] { KernelsClass, "Weights" }), StringComparer.Ordinal);
        for (int position = 0; position < _graph.Nodes.Count; position++)
        {
            var node = _graph.Nodes[position];
            var op = OperatorRegistry.Find(node.Domain, node.OpType)!;
            string comment = Comment(node, op);
            if (op.IsView)
            {
                calls.Add(new KernelCall(node, position, null, Array.Empty<int>(), false, comment + " (a view: shares its input's memory)"));
                continue;
            }
            string method = CSharp.Identifier(node.Name, node.OpType);
            if (!char.IsUpper(method[0])) method = char.ToUpperInvariant(method[0]) + method.Substring(1);
            string unique = method;
            for (int i = 2; !methodNames.Add(unique); i++) unique = method + "_" + i.ToString(CultureInfo.InvariantCulture);

            var body = new SourceWriter();
            var ctx = new KernelContext(node, _graph, body, _inputs.ToDictionary(i => i.OnnxName, i => i.Parameter.TrimStart('@')));
            body.Indent();
            op.EmitKernel(ctx);
            string text = body.ToString();
            foreach (var e in ctx.EmbeddedTensors)
                text = text.Replace(e.PlaceholderName, _weights.Add(e.NodeName + "_" + e.Suffix, $"{e.Suffix} of '{e.NodeName}' (prepared at build time)", e.Tensor));
            helpers.UnionWith(ctx.UsedHelpers);

            var parameters = ctx.UsedInputs.Select(i => $"ReadOnlySpan<{ctx.InputType(i).CSharpName()}> x{i}")
                .Concat(node.Outputs.Select((o, i) => (o, i)).Where(p => p.o.Length > 0).Select(p => $"Span<{ctx.OutputType(p.i).CSharpName()}> y{p.i}"))
                .Concat(ctx.UsesScratch ? new[] { "Span<byte> scratch" } : Array.Empty<string>());
            var method_ = new SourceWriter();
            method_.Line("// " + comment);
            method_.Line($"internal static void {unique}({string.Join(", ", parameters)})");
            method_.Line("{");
            bodies.Add(method_.ToString() + text + "}\n");
            calls.Add(new KernelCall(node, position, unique, ctx.UsedInputs.ToList(), ctx.UsesScratch, comment));
        }
        return w =>
        {
            for (int i = 0; i < bodies.Count; i++)
            {
                if (i > 0) w.Line();
                foreach (var line in bodies[i].TrimEnd('\n').Split('\n'))
                    w.Line(line.Trim().Length == 0 ? "" : line.TrimEnd());
            }
            foreach (var helper in helpers)
            {
                w.Line();
                w.Lines(KernelHelpers.Source(helper).TrimEnd());
            }
        };
    }

    private string Comment(Node node, Operator op)
    {
        var inputs = node.Inputs.Where(i => i.Length > 0 && !_graph[i].IsConstant).Select(i => Shapes.Format(_graph[i].Shape!));
        var outputs = node.Outputs.Where(o => o.Length > 0).Select(o => Shapes.Format(_graph[o].Shape!));
        string detail = op.Describe(new ShapeContext(node, _graph));
        string act = node.Activation != null ? $", fused {node.Activation.Describe()}" : "";
        string precision = _header.FloatReasons.TryGetValue(node.Name, out var reason) ? $" [float: {reason}]" : "";
        return CSharp.CommentText($"{node.OpType} '{node.Name}': {string.Join(", ", inputs)} -> {string.Join(", ", outputs)}{(detail.Length > 0 ? ", " + detail : "")}{act}{precision}");
    }

    private void WriteApi(SourceWriter w, MemoryPlan plan, List<KernelCall> calls)
    {
        foreach (var io in _inputs.Concat(_outputs))
        {
            bool isInput = _inputs.Contains(io);
            w.Line($"/// <summary>Number of elements of the {(isInput ? "input" : "output")} '{Xml(io.OnnxName)}' ({io.Value.Type.CSharpName()}, shape {Shapes.Format(io.Value.Shape!)}).</summary>");
            w.Line($"public const int {io.LengthConstant} = {io.Value.Length};");
            w.Line();
        }
        // int64 inputs (token ids, attention masks) also take int32 spans: those are widened into the workspace,
        // past the arena the model's tensors use, so one workspace serves both overloads and nothing is allocated.
        var widened = _inputs.Where(i => i.Value.Type == DataType.Int64).ToList();
        var widenedOffsets = new Dictionary<TensorIo, int>();
        int workspaceBytes = plan.WorkspaceBytes;
        foreach (var io in widened)
        {
            widenedOffsets[io] = workspaceBytes;
            workspaceBytes = checked(workspaceBytes + Align(io.Value.Length * sizeof(long)));
        }
        if (widened.Count == 0)
            w.Line("/// <summary>Bytes of scratch memory one call to Predict needs (see the overload that takes a workspace).</summary>");
        else
            w.Line($"/// <summary>Bytes of scratch memory one call to Predict needs (see the overload that takes a workspace); the last {workspaceBytes - plan.WorkspaceBytes} hold int64 copies of int32 token inputs.</summary>");
        w.Line($"public const int WorkspaceBytes = {workspaceBytes};");
        w.Line();
        w.Line("// Each thread gets its own workspace on its first call; Predict allocates nothing after that.");
        w.Line("[ThreadStatic]");
        w.Line("private static byte[] t_workspace;");
        w.Line();

        string Params(bool withWorkspace) => Parameters(withWorkspace, i => i.Value.Type.CSharpName());
        string Args() => string.Join(", ", _inputs.Select(i => i.Parameter).Concat(_outputs.Select(o => o.Parameter)));

        w.Line("/// <summary>Runs the model. Thread-safe; allocates nothing after a thread's first call.</summary>");
        foreach (var io in _inputs.Concat(_outputs))
            w.Line($"/// <param name=\"{io.Parameter.TrimStart('@')}\">'{Xml(io.OnnxName)}': {io.LengthConstant} elements, shape {Shapes.Format(io.Value.Shape!)}, row-major.</param>");
        w.Line($"/// <exception cref=\"ArgumentException\">A span does not have the length given by its constant.</exception>");
        w.Line($"public static void Predict({Params(false)})");
        w.Line($"    => Predict({Args()}, t_workspace ??= new byte[WorkspaceBytes]);");
        w.Line();
        w.Line("/// <summary>Runs the model in caller-provided scratch memory of at least <see cref=\"WorkspaceBytes\"/> bytes.</summary>");
        using (w.Block($"public static void Predict({Params(true)})"))
        {
            foreach (var io in _inputs.Concat(_outputs))
            {
                w.Line($"if ({io.Parameter}.Length != {io.LengthConstant})");
                w.Line($"    throw new ArgumentException($\"Expected {{{io.LengthConstant}}} elements (shape {Shapes.Format(io.Value.Shape!)}), got {{{io.Parameter}.Length}}.\", nameof({io.Parameter}));");
            }
            w.Line("if (workspace.Length < WorkspaceBytes)");
            w.Line("    throw new ArgumentException($\"Expected at least {WorkspaceBytes} bytes, got {workspace.Length}.\", nameof(workspace));");
            w.Line("if (!BitConverter.IsLittleEndian)");
            w.Line("    throw new PlatformNotSupportedException(\"The embedded weights are little-endian.\");");
            foreach (var call in calls)
            {
                w.Line();
                w.Line("// " + call.Comment);
                if (call.Method == null) continue;
                var args = call.Inputs.Select(i => Span(plan, call.Node.Inputs[i]))
                    .Concat(call.Node.Outputs.Where(o => o.Length > 0).Select(o => Span(plan, o)));
                if (call.Scratch)
                {
                    var (offset, bytes) = plan.Scratch[call.Position];
                    args = args.Concat(new[] { $"workspace.Slice({offset}, {bytes})" });
                }
                w.Line($"{KernelsClass}.{call.Method}({string.Join(", ", args)});");
            }
            foreach (var (value, index) in plan.FinalCopies)
            {
                w.Line();
                w.Line($"// The output '{CSharp.CommentText(value)}' is not written by a kernel: copy it.");
                w.Line($"{Span(plan, value)}.CopyTo({_outputs[index].Parameter});");
            }
        }
        if (widened.Count > 0)
            WriteInt32Overloads(w, widened, widenedOffsets);
        if (plan.Storage.Values.Any(s => s.Kind == StorageKind.Arena))
        {
            w.Line();
            w.Line("/// <summary>A tensor's slice of the workspace (offsets are planned at build time, 64-byte aligned).</summary>");
            w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
            w.Line("private static Span<T> Slice<T>(Span<byte> workspace, int byteOffset, int length) where T : unmanaged");
            w.Line("    => MemoryMarshal.Cast<byte, T>(workspace.Slice(byteOffset, length * Unsafe.SizeOf<T>()));");
        }
    }

    /// <summary>
    /// Predict overloads that take <c>ReadOnlySpan&lt;int&gt;</c> for every int64 input (token ids from most tokenizers
    /// come as int): each is checked, widened into its own region of the workspace, and the int64 Predict runs on it.
    /// </summary>
    private void WriteInt32Overloads(SourceWriter w, List<TensorIo> widened, Dictionary<TensorIo, int> offsets)
    {
        var taken = new HashSet<string>(_inputs.Concat(_outputs).Select(io => io.Parameter.TrimStart('@'))) { "workspace" };
        var locals = new Dictionary<TensorIo, string>();
        foreach (var io in widened)
        {
            string local = io.Parameter.TrimStart('@') + "Int64";
            while (!taken.Add(local)) local += "_";
            locals[io] = local;
        }
        string index = "i";
        while (!taken.Add(index)) index += "_"; // an ONNX input may be named "i"
        string Params(bool withWorkspace) => Parameters(withWorkspace, i => locals.ContainsKey(i) ? "int" : i.Value.Type.CSharpName());
        string Args(Func<TensorIo, string> input, bool withWorkspace) => string.Join(", ",
            _inputs.Select(input).Concat(_outputs.Select(o => o.Parameter)).Concat(withWorkspace ? new[] { "workspace" } : Array.Empty<string>()));

        w.Line();
        w.Line("/// <summary>Runs the model on int32 token inputs (widened to the model's int64 without allocating). Thread-safe; allocates nothing after a thread's first call.</summary>");
        foreach (var io in _inputs.Concat(_outputs))
            w.Line($"/// <param name=\"{io.Parameter.TrimStart('@')}\">'{Xml(io.OnnxName)}': {io.LengthConstant} elements, shape {Shapes.Format(io.Value.Shape!)}, row-major.</param>");
        w.Line("/// <exception cref=\"ArgumentException\">A span does not have the length given by its constant.</exception>");
        w.Line($"public static void Predict({Params(false)})");
        w.Line($"    => Predict({Args(i => i.Parameter, false)}, t_workspace ??= new byte[WorkspaceBytes]);");
        w.Line();
        w.Line("/// <summary>Runs the model on int32 token inputs in caller-provided scratch memory of at least <see cref=\"WorkspaceBytes\"/> bytes.</summary>");
        using (w.Block($"public static void Predict({Params(true)})"))
        {
            // The int32 spans are checked here, under their own names, before anything is written.
            foreach (var io in widened)
            {
                w.Line($"if ({io.Parameter}.Length != {io.LengthConstant})");
                w.Line($"    throw new ArgumentException($\"Expected {{{io.LengthConstant}}} elements (shape {Shapes.Format(io.Value.Shape!)}), got {{{io.Parameter}.Length}}.\", nameof({io.Parameter}));");
            }
            w.Line("if (workspace.Length < WorkspaceBytes)");
            w.Line("    throw new ArgumentException($\"Expected at least {WorkspaceBytes} bytes, got {workspace.Length}.\", nameof(workspace));");
            foreach (var io in widened)
            {
                w.Line();
                w.Line($"// '{CSharp.CommentText(io.OnnxName)}' as int64, in workspace bytes [{offsets[io]}, {offsets[io] + io.Value.Length * sizeof(long)}): past the model's arena, so Predict does not overwrite it.");
                w.Line($"Span<long> {locals[io]} = MemoryMarshal.Cast<byte, long>(workspace.Slice({offsets[io]}, {io.LengthConstant} * sizeof(long)));");
                w.Line($"for (int {index} = 0; {index} < {io.LengthConstant}; {index}++)");
                w.Line($"    {locals[io]}[{index}] = {io.Parameter}[{index}];");
            }
            w.Line();
            w.Line($"Predict({Args(i => locals.TryGetValue(i, out var l) ? l : i.Parameter, true)});");
        }
    }

    /// <summary>Predict's parameter list: inputs (element type by <paramref name="inputType"/>), outputs, the optional workspace.</summary>
    private string Parameters(bool withWorkspace, Func<TensorIo, string> inputType) => string.Join(", ",
        _inputs.Select(i => $"ReadOnlySpan<{inputType(i)}> {i.Parameter}")
            .Concat(_outputs.Select(o => $"Span<{o.Value.Type.CSharpName()}> {o.Parameter}"))
            .Concat(withWorkspace ? new[] { "Span<byte> workspace" } : Array.Empty<string>()));

    private static int Align(int bytes) => (bytes + ArenaPlanner.Alignment - 1) / ArenaPlanner.Alignment * ArenaPlanner.Alignment;

    /// <summary>The C# expression of a value's span in Predict.</summary>
    private string Span(MemoryPlan plan, string valueName)
    {
        var s = plan.Storage[valueName];
        var v = _graph[valueName];
        return s.Kind switch
        {
            StorageKind.Input or StorageKind.Output => s.Name,
            StorageKind.Constant => "Weights." + _weights.Add(v.Name, $"'{v.Name}'", v.Constant!),
            _ => $"Slice<{v.Type.CSharpName()}>(workspace, {s.ByteOffset}, {v.Length})",
        };
    }

    private static string Xml(string text) => CSharp.CommentText(text).Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
