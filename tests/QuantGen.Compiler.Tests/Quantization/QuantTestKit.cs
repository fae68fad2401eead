using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Execution;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Ops;
using QuantGen.Compiler.Passes;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Compiler.Tests.Quantization;

/// <summary>
/// Generated code compiled from <see cref="GeneratedFile"/>s (the INT8 path is reached through the compiler, not the
/// generator, which does not pass calibration yet) and called with arrays through a small harness.
/// </summary>
internal sealed class GeneratedModel : IDisposable
{
    private readonly AssemblyLoadContext _context;
    private readonly MethodInfo _run;
    private readonly List<(string Name, DataType Type, int Length)> _outputs;

    private GeneratedModel(AssemblyLoadContext context, MethodInfo run, List<(string, DataType, int)> outputs)
    {
        _context = context;
        _run = run;
        _outputs = outputs;
    }

    /// <summary>Compiles <paramref name="files"/> (class Tests.<paramref name="className"/>) for <paramref name="graph"/>'s inputs and outputs.</summary>
    public static GeneratedModel Load(IReadOnlyList<GeneratedFile> files, Graph graph, string className = "Model")
    {
        Assert.True(files.Count > 0, "nothing was generated");
        var inputs = graph.Inputs.Select(n => (n, graph[n].Type)).ToList();
        var outputs = graph.Outputs.Select(n => (n, graph[n].Type, graph[n].Length)).ToList();
        var args = inputs.Select((t, i) => $"({t.Type.CSharpName()}[])inputs[{i}]")
            .Concat(outputs.Select((t, i) => $"({t.Type.CSharpName()}[])outputs[{i}]"));
        string harness = $$"""
            namespace Tests;
            public static class Harness
            {
                public static void Run(object[] inputs, object[] outputs) => {{className}}.Predict({{string.Join(", ", args)}});
            }
            """;
        var compilation = GeneratorHarness.CreateCompilation(files.Select(f => f.Source).Append(harness), "QuantTest");
        using var stream = new MemoryStream();
        var emit = compilation.Emit(stream);
        if (!emit.Success)
            throw new InvalidOperationException("The generated code does not compile:\n" + string.Join("\n", emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(20))
                + "\n\n" + files.First(f => f.HintName.EndsWith(".Kernels.g.cs", StringComparison.Ordinal)).Source);
        var warnings = emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Warning).ToList();
        Assert.True(warnings.Count == 0, "generated code has warnings:\n" + string.Join("\n", warnings.Take(10)));
        stream.Position = 0;
        var context = new AssemblyLoadContext("QuantTest_" + Guid.NewGuid().ToString("N"), isCollectible: true);
        var run = context.LoadFromStream(stream).GetType("Tests.Harness")!.GetMethod("Run")!;
        return new GeneratedModel(context, run, outputs);
    }

    /// <summary>Emits <paramref name="graph"/> as it is (already quantized or built by hand) and loads it.</summary>
    public static GeneratedModel Emit(Graph graph, Precision precision = Precision.Int8) =>
        Load(new ModelEmitter(graph, Options(precision)).Emit(), graph);

    public static CompilerOptions Options(Precision precision, IReadOnlyDictionary<string, (float, float)>? ranges = null) => new()
    {
        ClassName = "Model",
        Namespace = "Tests",
        HintPrefix = "Model",
        Precision = precision,
        CalibrationRanges = ranges,
    };

    /// <summary>Runs Predict on inputs of the model's element types (float[], byte[], sbyte[]...).</summary>
    public Array[] Run(params Array[] inputs)
    {
        var outputs = _outputs.Select(o => Array.CreateInstance(LoadedModel.ClrType(o.Type), o.Length)).ToArray();
        try
        {
            _run.Invoke(null, new object[] { inputs.Cast<object>().ToArray(), outputs.Cast<object>().ToArray() });
        }
        catch (TargetInvocationException e) when (e.InnerException != null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
        }
        return outputs;
    }

    public void Dispose() => _context.Unload();
}

/// <summary>Graphs of hand-placed integer nodes, reference runs, data and comparisons for the quantization tests.</summary>
internal static class QuantTestKit
{
    /// <summary>A graph being assembled from IR values and nodes (shapes inferred by <see cref="Finish"/>).</summary>
    public sealed class GraphBuilder
    {
        public Graph Graph { get; } = new("quant_test", 13, 8);
        private int _counter;

        public string Input(string name, DataType type, params int[] shape)
        {
            Graph.Values[name] = new Value(name, type, shape);
            Graph.Inputs.Add(name);
            return name;
        }

        public string Constant(string name, Tensor tensor)
        {
            Graph.Values[name] = new Value(name, tensor.Type, tensor.Shape) { Constant = tensor };
            return name;
        }

        public string Ints(string name, DataType type, int[] shape, IEnumerable<long> values) =>
            Constant(name, Tensor.FromLongs(type, shape, values.ToArray()));

        /// <summary>Adds a node with one output (a graph output) and returns the output's name.</summary>
        public string Node(string opType, string domain, string[] inputs, Dictionary<string, NodeAttribute>? attributes = null, string? output = null, bool graphOutput = true)
        {
            attributes ??= new Dictionary<string, NodeAttribute>();
            output ??= $"y{_counter++}_{opType}";
            Graph.Values[output] = new Value(output, DataType.Undefined, null);
            Graph.Nodes.Add(new Node(output + "_node", opType, domain, inputs, new[] { output }, attributes));
            if (graphOutput) Graph.Outputs.Add(output);
            return output;
        }

        public Graph Finish()
        {
            ShapeInference.Run(Graph);
            return Graph;
        }
    }

    public static NodeAttribute Int(string name, long v) => new(name, AttributeKind.Int) { Int = v };
    public static NodeAttribute Float(string name, float v) => new(name, AttributeKind.Float) { Float = v };
    public static NodeAttribute IntList(string name, params long[] v) => new(name, AttributeKind.Ints) { Ints = v };

    public static Dictionary<string, NodeAttribute> Attrs(params NodeAttribute[] attributes) => attributes.ToDictionary(a => a.Name);

    public static byte[] Bytes(int count, Random random, int lo = 0, int hi = 255)
    {
        var b = new byte[count];
        for (int i = 0; i < count; i++) b[i] = (byte)random.Next(lo, hi + 1);
        return b;
    }

    public static long[] Longs(byte[] b) => b.Select(v => (long)v).ToArray();

    /// <summary>The reference executor's outputs on <paramref name="inputs"/> (arrays in graph input order).</summary>
    public static Tensor[] Reference(Graph graph, params Array[] inputs)
    {
        var tensors = inputs.Select((a, i) =>
        {
            var v = graph[graph.Inputs[i]];
            return a switch
            {
                float[] f => Tensor.FromFloats(v.Shape!, f),
                byte[] b => Tensor.FromLongs(DataType.UInt8, v.Shape!, b.Select(x => (long)x).ToArray()),
                sbyte[] s => Tensor.FromLongs(DataType.Int8, v.Shape!, s.Select(x => (long)x).ToArray()),
                long[] l => Tensor.FromLongs(v.Type, v.Shape!, l),
                _ => throw new ArgumentException(a.GetType().Name),
            };
        }).ToList();
        return ReferenceExecutor.RunOutputs(graph, tensors);
    }

    /// <summary>Generated output equals the reference tensor bit for bit (floats compared by their bits).</summary>
    public static void BitExact(Tensor expected, Array actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {expected.Length} elements expected, got {actual.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            switch (actual)
            {
                case float[] f:
                    Assert.True(BitConverter.SingleToInt32Bits(expected.Floats![i]) == BitConverter.SingleToInt32Bits(f[i]),
                        $"{what}: element {i} is {f[i]:R}, the reference says {expected.Floats![i]:R}");
                    break;
                // sbyte first: the runtime lets an sbyte[] pass as a byte[].
                case sbyte[] s when actual.GetType() == typeof(sbyte[]):
                    Assert.True(expected.Longs![i] == s[i], $"{what}: element {i} is {s[i]}, the reference says {expected.Longs![i]}");
                    break;
                case byte[] b:
                    Assert.True(expected.Longs![i] == b[i], $"{what}: element {i} is {b[i]}, the reference says {expected.Longs![i]}");
                    break;
                default:
                    throw new ArgumentException(actual.GetType().Name);
            }
        }
    }

    /// <summary>Calibration ranges of every float tensor of a prepared graph, from reference runs on <paramref name="samples"/>.</summary>
    public static Dictionary<string, (float, float)> Ranges(Graph graph, IEnumerable<float[]> samples)
    {
        var ranges = new Dictionary<string, (float Min, float Max)>();
        foreach (var sample in samples)
        {
            var values = ReferenceExecutor.Run(graph, new[] { Tensor.FromFloats(graph[graph.Inputs[0]].Shape!, sample) });
            foreach (var (name, t) in values)
            {
                if (t.Type != DataType.Float || graph[name].IsConstant || t.Length == 0) continue;
                float min = t.Floats!.Min(), max = t.Floats!.Max();
                ranges[name] = ranges.TryGetValue(name, out var r) ? (Math.Min(r.Min, min), Math.Max(r.Max, max)) : (min, max);
            }
        }
        return ranges.ToDictionary(kv => kv.Key, kv => (kv.Value.Min, kv.Value.Max));
    }

    public static IEnumerable<Node> Nodes(Graph graph, string opType) => graph.Nodes.Where(n => n.OpType == opType);

    /// <summary>
    /// ONNX Runtime on one float input, with graph optimizations off by default: its QDQ fusions would otherwise run
    /// a QDQ model in integer arithmetic instead of the model's float semantics. Outputs are float[], byte[] or sbyte[].
    /// </summary>
    public static Array[] OnnxRuntime(byte[] model, float[] input, int[] shape, bool optimize = false)
    {
        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            LogSeverityLevel = Microsoft.ML.OnnxRuntime.OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
            GraphOptimizationLevel = optimize ? Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_ALL : Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_DISABLE_ALL,
        };
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(model, options);
        var name = session.InputMetadata.Keys.First();
        var value = Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor(name, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(input, shape));
        using var results = session.Run(new[] { value });
        return session.OutputMetadata.Keys.Select(o =>
        {
            var r = results.First(v => v.Name == o);
            return r.ElementType switch
            {
                Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float => (Array)r.AsTensor<float>().ToArray(),
                Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.UInt8 => r.AsTensor<byte>().ToArray(),
                Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int8 => r.AsTensor<sbyte>().ToArray(),
                Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int32 => r.AsTensor<int>().ToArray(),
                var t => throw new NotSupportedException($"output '{o}' has element type {t}"),
            };
        }).ToArray();
    }

    /// <summary>The first <paramref name="count"/> images of the committed Fashion-MNIST test slice, as pixel / 255.</summary>
    public static float[][] FashionImages(int count)
    {
        string path = Path.Combine(ModelFiles.RepoRoot, "samples", "FashionMnist", "Data", "t10k-images-idx3-ubyte.slice1000.gz");
        using var gz = new System.IO.Compression.GZipStream(File.OpenRead(path), System.IO.Compression.CompressionMode.Decompress);
        using var memory = new MemoryStream();
        gz.CopyTo(memory);
        var bytes = memory.ToArray();
        return Enumerable.Range(0, count).Select(i => Enumerable.Range(0, 784).Select(j => bytes[16 + i * 784 + j] / 255f).ToArray()).ToArray();
    }

    /// <summary>A sample model's bytes; fails (never skips) when the file is missing.</summary>
    public static byte[] SampleModel(string file)
    {
        string path = Path.Combine(ModelFiles.RepoRoot, "samples", "FashionMnist", "Models", file);
        Assert.True(File.Exists(path), $"{path} is missing (the sample's models are committed with the repository)");
        return File.ReadAllBytes(path);
    }

    public static int ArgMax(float[] v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    public static Operator Op(Node node) => OperatorRegistry.Find(node.Domain, node.OpType)!;
}
