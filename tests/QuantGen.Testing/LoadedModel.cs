using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using QuantGen.Compiler.Ir;

namespace QuantGen.Testing;

/// <summary>
/// Generated code compiled and loaded into a collectible context, callable with arrays. Predict takes spans, which
/// reflection cannot pass, so a small harness class that forwards arrays is compiled alongside it.
/// </summary>
public sealed class LoadedModel : IDisposable
{
    private readonly AssemblyLoadContext _context;
    private readonly MethodInfo _run;

    public IReadOnlyList<(string Name, DataType Type, int Length)> Inputs { get; }
    public IReadOnlyList<(string Name, DataType Type, int Length)> Outputs { get; }

    private LoadedModel(AssemblyLoadContext context, MethodInfo run, IReadOnlyList<(string, DataType, int)> inputs, IReadOnlyList<(string, DataType, int)> outputs)
    {
        _context = context;
        _run = run;
        Inputs = inputs;
        Outputs = outputs;
    }

    /// <summary>Compiles the generator's output for class Tests.<paramref name="className"/> and loads it.</summary>
    public static LoadedModel Load(GeneratorRun run, Graph graph, string className = "Model")
    {
        var inputs = graph.Inputs.Select(n => (n, graph[n].Type, graph[n].Length)).ToList();
        var outputs = graph.Outputs.Select(n => (n, graph[n].Type, graph[n].Length)).ToList();
        var args = inputs.Select((t, i) => $"({t.Item2.CSharpName()}[])inputs[{i}]")
            .Concat(outputs.Select((t, i) => $"({t.Item2.CSharpName()}[])outputs[{i}]"));
        string harness = $$"""
            namespace Tests;
            public static class Harness_{{className}}
            {
                public static void Run(object[] inputs, object[] outputs) => {{className}}.Predict({{string.Join(", ", args)}});
            }
            """;
        var compilation = run.OutputCompilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText(harness, GeneratorHarness.ParseOptions, path: "/project/Harness.cs"));
        using var stream = new MemoryStream();
        var emit = compilation.Emit(stream);
        if (!emit.Success)
            throw new InvalidOperationException("The generated code does not compile:\n" + string.Join("\n", emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(20)));
        stream.Position = 0;
        var context = new AssemblyLoadContext("QuantGenTest_" + className, isCollectible: true);
        var assembly = context.LoadFromStream(stream);
        var method = assembly.GetType("Tests.Harness_" + className)!.GetMethod("Run")!;
        return new LoadedModel(context, method, inputs, outputs);
    }

    /// <summary>Runs Predict; inputs are float[] or long[]/int[] matching the model's inputs.</summary>
    public Array[] Run(params Array[] inputs)
    {
        var outputs = Outputs.Select(o => Array.CreateInstance(ClrType(o.Type), o.Length)).ToArray();
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

    public static Type ClrType(DataType type) => type switch
    {
        DataType.Float => typeof(float),
        DataType.Int64 => typeof(long),
        DataType.Int32 => typeof(int),
        DataType.Int8 => typeof(sbyte),
        DataType.UInt8 => typeof(byte),
        DataType.Bool => typeof(bool),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public void Dispose() => _context.Unload();
}
