using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using QuantGen.Generator;

namespace QuantGen.Testing;

/// <summary>What one generator run produced.</summary>
public sealed class GeneratorRun
{
    public required CSharpCompilation OutputCompilation { get; init; }
    public required ImmutableArray<Diagnostic> GeneratorDiagnostics { get; init; }
    public required GeneratorDriverRunResult RunResult { get; init; }
    public required GeneratorDriver Driver { get; init; }

    /// <summary>Generated files by hint name (the attribute file excluded).</summary>
    public IReadOnlyDictionary<string, string> Sources =>
        RunResult.Results.SelectMany(r => r.GeneratedSources)
            .Where(s => !s.HintName.StartsWith("QuantGen.OnnxModelAttribute", StringComparison.Ordinal))
            .ToDictionary(s => s.HintName, s => s.SourceText.ToString());

    /// <summary>Errors and warnings from the generator and from compiling its output.</summary>
    public IReadOnlyList<Diagnostic> AllDiagnostics =>
        GeneratorDiagnostics.Concat(OutputCompilation.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning)).ToList();
}

/// <summary>Runs the generator in-process with <see cref="CSharpGeneratorDriver"/>, as the compiler would.</summary>
public static class GeneratorHarness
{
    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System", StringComparison.Ordinal) || Path.GetFileName(p) is "netstandard.dll" or "mscorlib.dll")
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToImmutableArray());

    public static CSharpParseOptions ParseOptions { get; } = new(LanguageVersion.Latest);

    public static CSharpCompilation CreateCompilation(IEnumerable<string> sources, string assemblyName = "Consumer") =>
        CSharpCompilation.Create(
            assemblyName,
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, path: $"/project/Source{i}.cs")),
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release, nullableContextOptions: NullableContextOptions.Enable, deterministic: true));

    public static GeneratorRun Run(IEnumerable<string> sources, IEnumerable<AdditionalText> additionalFiles, GeneratorDriver? driver = null, CSharpCompilation? compilation = null)
    {
        compilation ??= CreateCompilation(sources);
        driver ??= CSharpGeneratorDriver.Create(
            new[] { new OnnxModelGenerator().AsSourceGenerator() },
            additionalFiles,
            ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        return new GeneratorRun
        {
            OutputCompilation = (CSharpCompilation)output,
            GeneratorDiagnostics = diagnostics,
            RunResult = driver.GetRunResult(),
            Driver = driver,
        };
    }

    /// <summary>Declares <paramref name="className"/> with [OnnxModel] over the model and runs the generator.</summary>
    public static GeneratorRun RunModel(byte[] model, string className = "Model", string attributeArguments = ", Precision = QuantGen.Precision.Float32", string modelPath = "Models/model.onnx")
    {
        string source = $$"""
            namespace Tests;

            [QuantGen.OnnxModel("{{modelPath}}"{{attributeArguments}})]
            public static partial class {{className}};
            """;
        return Run(new[] { source }, new[] { ModelFiles.Transport(model, modelPath) });
    }
}
