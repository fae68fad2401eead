using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Onnx.Proto;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Compiler.Tests.Ops;

/// <summary>
/// Checks one small model three ways against ONNX Runtime: the generated kernels (generator → compile → load →
/// Predict), and the operators' float reference (<c>Evaluate</c>), reached by turning the inputs into initializers
/// so shape inference folds every node.
/// </summary>
internal static class OpCheck
{
    /// <summary>Max abs error allowed, relative to the largest expected magnitude.</summary>
    public const float Tolerance = 1e-4f;

    /// <summary>Runs generated code and the reference on <paramref name="inputs"/> (model input order); both must match ONNX Runtime.</summary>
    /// <returns>The loaded generated model, for further runs (dispose it).</returns>
    public static LoadedModel MatchesOnnxRuntime(byte[] model, params Array[] inputs)
    {
        var proto = ModelProto.Parser.ParseFrom(model);
        var shapes = InputShapes(proto);
        Assert.Equal(shapes.Count, inputs.Length);
        Array[] expected;
        using (var ort = new OnnxRuntimeReference(model))
            expected = ort.Run(inputs, shapes);
        var names = proto.Graph.Output.Select(o => o.Name).ToArray();

        var run = GeneratorHarness.RunModel(model);
        Assert.True(run.AllDiagnostics.Count == 0, "generator diagnostics:\n" + string.Join("\n", run.AllDiagnostics));
        DumpKernels(run, names);
        var graph = ModelCompiler.Prepare(model, "model.onnx");
        var loaded = LoadedModel.Load(run, graph);
        try
        {
            var actual = loaded.Run(inputs);
            for (int i = 0; i < expected.Length; i++)
                Close(expected[i], actual[i], $"generated code, output '{names[i]}'");
        }
        catch
        {
            loaded.Dispose();
            throw;
        }

        var reference = Reference(proto, inputs);
        for (int i = 0; i < expected.Length; i++)
            Close(expected[i], reference[i], $"reference (Evaluate), output '{names[i]}'");
        return loaded;
    }

    /// <summary>Like <see cref="MatchesOnnxRuntime"/>, for when the test needs nothing more of the loaded model.</summary>
    public static void Matches(byte[] model, params Array[] inputs) => MatchesOnnxRuntime(model, inputs).Dispose();

    /// <summary>The outputs the operators' float reference computes: the inputs become initializers, every node folds.</summary>
    public static Array[] Reference(ModelProto proto, Array[] inputs)
    {
        var folded = proto.Clone();
        var initialized = new HashSet<string>(folded.Graph.Initializer.Select(t => t.Name));
        var runtimeInputs = folded.Graph.Input.Where(i => !initialized.Contains(i.Name)).ToList();
        for (int i = 0; i < runtimeInputs.Count; i++)
        {
            var info = runtimeInputs[i];
            var t = new TensorProto { Name = info.Name, DataType = info.Type.TensorType.ElemType };
            t.Dims.AddRange(info.Type.TensorType.Shape.Dim.Select(d => d.DimValue));
            switch (inputs[i])
            {
                case float[] f: t.FloatData.AddRange(f); break;
                case long[] l: t.Int64Data.AddRange(l); break;
                case int[] n: t.Int32Data.AddRange(n); break;
                case sbyte[] s: t.Int32Data.AddRange(s.Select(v => (int)v)); break;
                case byte[] b: t.Int32Data.AddRange(b.Select(v => (int)v)); break;
                case bool[] b: t.Int32Data.AddRange(b.Select(v => v ? 1 : 0)); break;
                default: throw new ArgumentException("unsupported input array " + inputs[i].GetType().Name);
            }
            folded.Graph.Initializer.Add(t);
            folded.Graph.Input.Remove(info);
        }
        var graph = ModelCompiler.Prepare(Google.Protobuf.MessageExtensions.ToByteArray(folded), "reference.onnx");
        Assert.True(graph.Nodes.Count == 0, "not every node folded: " + string.Join(", ", graph.Nodes));
        return graph.Outputs.Select(o =>
        {
            var t = graph[o].Constant!;
            return t.Type switch
            {
                DataType.Float => (Array)t.Floats!,
                DataType.Int32 => t.Longs!.Select(v => (int)v).ToArray(),
                DataType.Int8 => t.Longs!.Select(v => (sbyte)v).ToArray(),
                DataType.UInt8 => t.Longs!.Select(v => (byte)v).ToArray(),
                DataType.Bool => t.Longs!.Select(v => v != 0).ToArray(),
                _ => t.Longs!,
            };
        }).ToArray();
    }

    /// <summary>The diagnostics the generator reports for a model it cannot compile.</summary>
    public static IReadOnlyList<Microsoft.CodeAnalysis.Diagnostic> Diagnostics(byte[] model) =>
        GeneratorHarness.RunModel(model).GeneratorDiagnostics;

    /// <summary>The generator reports <paramref name="id"/> (and no unexpected-failure QG0001) naming the node; returns its message.</summary>
    public static string Fails(byte[] model, string id, string node)
    {
        var diagnostics = Diagnostics(model);
        Assert.DoesNotContain(diagnostics, d => d.Id == "QG0001");
        var match = diagnostics.FirstOrDefault(d => d.Id == id);
        Assert.True(match != null, $"expected {id}, got: {string.Join("\n", diagnostics)}");
        string message = match!.GetMessage(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains(node, message);
        return message;
    }

    /// <summary>With QG_DUMP_KERNELS set to a folder, writes each checked model's kernels there (to read what the ops emit).</summary>
    private static void DumpKernels(GeneratorRun run, string[] outputs)
    {
        string? folder = Environment.GetEnvironmentVariable("QG_DUMP_KERNELS");
        if (string.IsNullOrEmpty(folder)) return;
        System.IO.Directory.CreateDirectory(folder);
        string file = System.IO.Path.Combine(folder, string.Join("_", outputs).Replace('/', '_') + ".cs");
        System.IO.File.WriteAllText(file, run.Sources.First(s => s.Key.EndsWith(".Kernels.g.cs", StringComparison.Ordinal)).Value);
    }

    /// <summary>The C# the generator writes for a model (for debugging a kernel).</summary>
    public static string Kernels(byte[] model) =>
        GeneratorHarness.RunModel(model).Sources.First(s => s.Key.EndsWith(".Kernels.g.cs", StringComparison.Ordinal)).Value;

    public static List<int[]> InputShapes(ModelProto proto)
    {
        var initialized = new HashSet<string>(proto.Graph.Initializer.Select(t => t.Name));
        return proto.Graph.Input.Where(i => !initialized.Contains(i.Name))
            .Select(i => i.Type.TensorType.Shape.Dim.Select(d => (int)d.DimValue).ToArray()).ToList();
    }

    /// <summary>
    /// Float outputs: max abs error within <see cref="Tolerance"/> of the largest finite expected magnitude, infinities
    /// exactly, NaN for NaN; integers and bools: equal.
    /// </summary>
    public static void Close(Array expected, Array actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: expected {expected.Length} elements, got {actual.Length}");
        if (expected is float[] e && actual is float[] a)
        {
            // The scale is that of the finite values; infinities must match exactly, NaN matches NaN.
            float scale = Math.Max(1e-6f, e.Where(float.IsFinite).Select(Math.Abs).DefaultIfEmpty(0f).Max());
            for (int i = 0; i < e.Length; i++)
            {
                float error = Math.Abs(e[i] - a[i]);
                bool ok = float.IsInfinity(e[i]) || float.IsInfinity(a[i]) ? e[i] == a[i]
                    : error <= Tolerance * scale || (float.IsNaN(e[i]) && float.IsNaN(a[i]));
                Assert.True(ok, $"{what}: element {i} is {a[i]}, expected {e[i]} (error {error} > {Tolerance} x {scale})");
            }
            return;
        }
        Assert.True(expected.GetType() == actual.GetType(), $"{what}: expected {expected.GetType().Name}, got {actual.GetType().Name}");
        Assert.True(expected.Cast<object>().SequenceEqual(actual.Cast<object>()),
            $"{what}: expected [{string.Join(", ", expected.Cast<object>())}], got [{string.Join(", ", actual.Cast<object>())}]");
    }

    /// <summary>Deterministic test data.</summary>
    public static float[] Floats(int count, int seed, float scale = 1f) => OnnxModelBuilder.RandomFloats(count, seed, scale);
}

/// <summary>Test-side conveniences over <see cref="OnnxModelBuilder"/>.</summary>
internal static class OnnxModelBuilderExtensions
{
    /// <summary>An output with an element type but no declared shape (left to ONNX Runtime and QuantGen to infer).</summary>
    public static OnnxModelBuilder Result(this OnnxModelBuilder builder, string name, int elementType = OnnxModelBuilder.ElementType.Float)
    {
        builder.Proto.Graph.Output.Add(new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elementType } },
        });
        return builder;
    }

    /// <summary>Several outputs with no declared shapes.</summary>
    public static OnnxModelBuilder Results(this OnnxModelBuilder builder, params string[] names)
    {
        foreach (var name in names) builder.Result(name);
        return builder;
    }

    /// <summary>An int64 input of the given shape.</summary>
    public static OnnxModelBuilder LongInput(this OnnxModelBuilder builder, string name, params long[] dims) =>
        builder.TypedInput(name, OnnxModelBuilder.ElementType.Int64, dims.Cast<object?>().ToArray());

    /// <summary>A bool input of the given shape.</summary>
    public static OnnxModelBuilder BoolInput(this OnnxModelBuilder builder, string name, params long[] dims) =>
        builder.TypedInput(name, OnnxModelBuilder.ElementType.Bool, dims.Cast<object?>().ToArray());

    /// <summary>An int32 input of the given shape.</summary>
    public static OnnxModelBuilder IntInput(this OnnxModelBuilder builder, string name, params long[] dims) =>
        builder.TypedInput(name, OnnxModelBuilder.ElementType.Int32, dims.Cast<object?>().ToArray());

    /// <summary>An int64 constant tensor (starts, axes, pads, indices).</summary>
    public static OnnxModelBuilder Longs(this OnnxModelBuilder builder, string name, params long[] values) =>
        builder.Initializer(name, new long[] { values.Length }, values);
}
