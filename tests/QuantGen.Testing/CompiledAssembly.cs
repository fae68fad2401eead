using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace QuantGen.Testing;

/// <summary>
/// A generator run's output compiled together with test-written sources (harnesses that call Predict with spans,
/// wrong lengths, workspaces...) and loaded into a collectible context. Unlike <see cref="LoadedModel"/> it makes
/// no assumption about what the harness does.
/// </summary>
public sealed class CompiledAssembly : IDisposable
{
    private readonly AssemblyLoadContext _context;

    private CompiledAssembly(AssemblyLoadContext context, Assembly assembly)
    {
        _context = context;
        Assembly = assembly;
    }

    public Assembly Assembly { get; }

    /// <summary>Emits <paramref name="run"/>'s output compilation plus <paramref name="sources"/>; throws with the errors if it does not compile.</summary>
    public static CompiledAssembly Load(GeneratorRun run, params string[] sources)
    {
        var compilation = run.OutputCompilation.AddSyntaxTrees(
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, GeneratorHarness.ParseOptions, path: $"/project/TestHarness{i}.cs")));
        using var stream = new MemoryStream();
        var emit = compilation.Emit(stream);
        if (!emit.Success)
            throw new InvalidOperationException("The generated code and harness do not compile:\n" + string.Join("\n", emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(20)));
        stream.Position = 0;
        var context = new AssemblyLoadContext("QuantGenTest_" + Guid.NewGuid().ToString("N"), isCollectible: true);
        return new CompiledAssembly(context, context.LoadFromStream(stream));
    }

    /// <summary>A static method of <paramref name="typeName"/> as a delegate (no reflection cost per call).</summary>
    public T Method<T>(string typeName, string methodName)
        where T : Delegate
    {
        var type = Assembly.GetType(typeName) ?? throw new InvalidOperationException($"No type {typeName}.");
        var method = type.GetMethod(methodName, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static) ?? throw new InvalidOperationException($"No method {typeName}.{methodName}.");
        return method.CreateDelegate<T>();
    }

    /// <summary>The value of a constant (public const int InputLength...) of <paramref name="typeName"/>.</summary>
    public object? Constant(string typeName, string name)
    {
        var type = Assembly.GetType(typeName) ?? throw new InvalidOperationException($"No type {typeName}.");
        var field = type.GetField(name, BindingFlags.Public | BindingFlags.Static);
        return field is { IsLiteral: true } ? field.GetRawConstantValue() : null;
    }

    public void Dispose() => _context.Unload();
}
