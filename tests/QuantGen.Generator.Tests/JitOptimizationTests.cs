using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using QuantGen.Testing;
using Xunit;
using Xunit.Abstractions;

namespace QuantGen.Generator.Tests;

/// <summary>
/// No generated method of the sample models is left to the JIT's minimal optimization. The JIT compiles a method
/// with MinOpts instead of optimizing it when its IL passes 60,000 bytes, 20,000 instructions, 2,000 basic blocks,
/// 2,000 locals or 8,000 local references (DEFAULT_MIN_OPTS_* in the JIT): an unrolled kernel past those runs
/// several times slower and nothing else says so. Every sample model, in INT8 and in FP32, in one assembly.
/// Nothing here names a generated method: the tests cover whatever the emitter produces.
/// </summary>
public class JitOptimizationTests : IClassFixture<JitOptimizationTests.SampleModelsProgram>
{
    private readonly SampleModelsProgram _program;
    private readonly ITestOutputHelper _output;

    public JitOptimizationTests(SampleModelsProgram program, ITestOutputHelper output)
    {
        _program = program;
        _output = output;
    }

    /// <summary>
    /// The JIT's own verdict on a real run: the sample models' Predict, called once each in a child process with
    /// tiering off (every method compiled once, fully optimized unless the JIT gives up) and the JIT's summary on
    /// (<c>DOTNET_JitDisasmSummary</c>, which the release runtime supports). The JIT writes a method it gave up on as
    /// "[Tier-0 switched MinOpts, IL size=...]" (checked by the next test); optimized ones as "[FullOpts, ...]".
    /// </summary>
    [Fact]
    public void The_JIT_fully_optimizes_every_generated_method_that_Predict_runs()
    {
        string summaryPath = Path.Combine(_program.Directory, "jit-" + Guid.NewGuid().ToString("N") + ".txt");
        var (exitCode, printed) = RunWithJitSummary(_program.AssemblyPath, summaryPath);
        Assert.True(exitCode == 0, $"The runner failed (exit code {exitCode}):\n{printed}");
        Assert.True(File.Exists(summaryPath), "The JIT wrote no summary: does this runtime still honour DOTNET_JitStdOutFile and DOTNET_JitDisasmSummary?");

        // "   12: JIT compiled Tests.M_fashion_cnn_Int8:Predict(...) [FullOpts, IL size=1234, code size=5678]"
        var compiled = File.ReadAllLines(summaryPath)
            .Where(line => line.Contains("JIT compiled ", StringComparison.Ordinal))
            .Select(line => line[(line.IndexOf("JIT compiled ", StringComparison.Ordinal) + "JIT compiled ".Length)..])
            .Where(method => _program.GeneratedTypes.Contains(DeclaringType(method)))
            .ToList();
        _output.WriteLine($"{compiled.Count} generated methods compiled; the largest:");
        foreach (var method in compiled.OrderByDescending(IlSizeOf).Take(5))
            _output.WriteLine(method);

        foreach (var (className, _, _) in _program.Models)
            Assert.True(compiled.Any(m => DeclaringType(m).StartsWith("Tests." + className, StringComparison.Ordinal)), $"The JIT summary lists no method of {className}: is the summary format still 'Type:Method [tier, ...]'?");
        var minOpts = compiled.Where(m => m.Contains("MinOpts", StringComparison.Ordinal)).ToList();
        Assert.True(minOpts.Count == 0, "The JIT gave up optimizing:\n" + string.Join("\n", minOpts));
        Assert.All(compiled, m => Assert.Contains("[FullOpts", m, StringComparison.Ordinal));
    }

    /// <summary>
    /// The oracle itself: a method past the IL size limit (7,000 statements, ~70 KB of IL) run the same way is reported
    /// with "MinOpts", so the test above would see a generated method the JIT gave up on.
    /// </summary>
    [Fact]
    public void The_JIT_summary_reports_a_method_past_the_limits_as_MinOpts()
    {
        var body = new StringBuilder();
        for (int i = 0; i < 7_000; i++) body.Append("a = a * 3 + ").Append(i).AppendLine(";");
        string source = $$"""
            public static class Huge
            {
                public static int Run(int a)
                {
            {{body}}
                    return a;
                }

                public static int Main(string[] args) => Run(args.Length) == 0 ? 1 : 0;
            }
            """;
        string assemblyPath = Path.Combine(_program.Directory, "Huge.dll");
        var compilation = GeneratorHarness.CreateCompilation(new[] { source }, "Huge")
            .WithOptions(new CSharpCompilationOptions(OutputKind.ConsoleApplication, optimizationLevel: OptimizationLevel.Release));
        var emit = compilation.Emit(assemblyPath);
        Assert.True(emit.Success, string.Join("\n", emit.Diagnostics));
        File.Copy(Path.ChangeExtension(_program.AssemblyPath, ".runtimeconfig.json"), Path.ChangeExtension(assemblyPath, ".runtimeconfig.json"));

        string summaryPath = Path.Combine(_program.Directory, "jit-huge.txt");
        RunWithJitSummary(assemblyPath, summaryPath);
        string line = File.ReadAllLines(summaryPath).Single(l => l.Contains("JIT compiled Huge:Run(", StringComparison.Ordinal));
        Assert.Contains("MinOpts", line, StringComparison.Ordinal);
    }

    /// <summary>
    /// The same limits read statically from every method body of the generated code, including the ones this
    /// machine's run does not reach (other instruction-set paths, the workspace overload). IL-level counts
    /// approximate the JIT's (it adds temporaries and blocks of its own), so locals and blocks keep a margin.
    /// </summary>
    [Fact]
    public void Every_generated_method_body_stays_inside_the_JITs_optimization_limits()
    {
        using var pe = new PEReader(File.OpenRead(_program.AssemblyPath));
        var metadata = pe.GetMetadataReader();
        var bodies = new List<IlBodyStatistics>();
        foreach (var typeHandle in metadata.TypeDefinitions)
        {
            var type = metadata.GetTypeDefinition(typeHandle);
            if (!_program.GeneratedTypes.Contains(JitTypeName(metadata, type))) continue;
            foreach (var methodHandle in type.GetMethods())
            {
                var method = metadata.GetMethodDefinition(methodHandle);
                if (method.RelativeVirtualAddress == 0) continue;
                string name = $"{JitTypeName(metadata, type)}:{metadata.GetString(method.Name)}";
                bodies.Add(IlBodyStatistics.Read(name, metadata, method, pe.GetMethodBody(method.RelativeVirtualAddress)));
            }
        }

        Assert.NotEmpty(bodies);
        _output.WriteLine($"{bodies.Count} generated method bodies; the largest:");
        foreach (var body in bodies.OrderByDescending(b => b.IlBytes).Take(5))
            _output.WriteLine(body.ToString());

        // The JIT's limits (IL bytes and instructions exact; the others halved for what the JIT adds itself).
        var tooLarge = bodies.Where(b => b.IlBytes > 60_000 || b.Instructions > 20_000 || b.BasicBlocks > 1_000
                                         || b.ArgumentsAndLocals > 1_000 || b.LocalReferences > 4_000).ToList();
        Assert.True(tooLarge.Count == 0, "Methods past the JIT's optimization limits:\n" + string.Join("\n", tooLarge));
    }

    /// <summary>
    /// Every committed sample model, in INT8 (with its calibration file when there is one) and in FP32, generated into
    /// one console program whose Main calls each Predict once; written with a runtimeconfig to a temporary folder.
    /// Generated once for both tests (it is most of their time).
    /// </summary>
    public sealed class SampleModelsProgram : IDisposable
    {
        public SampleModelsProgram()
        {
            Directory = Path.Combine(Path.GetTempPath(), "quantgen-jit-" + Guid.NewGuid().ToString("N"));
            System.IO.Directory.CreateDirectory(Directory);
            AssemblyPath = Path.Combine(Directory, "JitRunner.dll");
            Models = SampleModels();
            GeneratedTypes = EmitRunner(Models, AssemblyPath);
        }

        public string Directory { get; }

        public string AssemblyPath { get; }

        public List<(string ClassName, string ModelPath, string Precision)> Models { get; }

        /// <summary>The JIT-style names (Namespace.Type+Nested) of every type the generator emitted.</summary>
        public HashSet<string> GeneratedTypes { get; }

        public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);

        private static string ModelsDirectory => Path.Combine(ModelFiles.RepoRoot, "samples", "FashionMnist", "Models");

        /// <summary>Every committed sample model, each in INT8 (with its calibration file when there is one) and FP32.</summary>
        private static List<(string ClassName, string ModelPath, string Precision)> SampleModels() =>
            System.IO.Directory.GetFiles(ModelsDirectory, "*.onnx").OrderBy(p => p, StringComparer.Ordinal)
                .SelectMany(p => new[] { "Int8", "Float32" }.Select(precision =>
                    ($"M_{Path.GetFileNameWithoutExtension(p)}_{precision}", "Models/" + Path.GetFileName(p), precision)))
                .ToList();

        /// <summary>
        /// Generates every model into one console program whose Main calls each Predict once on a fixed input, writes it
        /// with a runtimeconfig to <paramref name="assemblyPath"/>, and returns the JIT-style names of the generated types.
        /// </summary>
        private static HashSet<string> EmitRunner(List<(string ClassName, string ModelPath, string Precision)> models, string assemblyPath)
        {
            var declarations = new StringBuilder("namespace Tests;\n");
            var calls = new StringBuilder();
            foreach (var (className, modelPath, precision) in models)
            {
                declarations.AppendLine($"[QuantGen.OnnxModel(\"{modelPath}\", Precision = QuantGen.Precision.{precision})] public static partial class {className};");
                calls.AppendLine($"        Run({className}.InputLength, {className}.OutputLength, (i, o) => {className}.Predict(i, o));");
            }
            string runner = $$"""
                namespace Tests;
                public static class JitRunner
                {
                    private delegate void PredictFunc(System.ReadOnlySpan<float> input, System.Span<float> output);

                    public static void Main()
                    {
                {{calls}}
                    }

                    private static void Run(int inputLength, int outputLength, PredictFunc predict)
                    {
                        var input = new float[inputLength];
                        for (int i = 0; i < input.Length; i++) input[i] = (i % 17) / 16f;
                        predict(input, new float[outputLength]);
                    }
                }
                """;

            var additional = new List<AdditionalText>();
            foreach (string file in System.IO.Directory.GetFiles(ModelsDirectory, "*.onnx"))
            {
                string relative = "Models/" + Path.GetFileName(file);
                additional.Add(ModelFiles.Transport(File.ReadAllBytes(file), relative));
                string calibration = Path.ChangeExtension(file, ".calib.json");
                if (File.Exists(calibration))
                    additional.Add(new InMemoryAdditionalText("/project/Models/" + Path.GetFileName(calibration), File.ReadAllText(calibration)));
            }

            var compilation = GeneratorHarness.CreateCompilation(new[] { declarations.ToString(), runner }, "JitRunner")
                .WithOptions(new CSharpCompilationOptions(OutputKind.ConsoleApplication, optimizationLevel: OptimizationLevel.Release, nullableContextOptions: NullableContextOptions.Enable, deterministic: true));
            var run = GeneratorHarness.Run(Array.Empty<string>(), additional, compilation: compilation);
            var errors = run.AllDiagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            Assert.True(errors.Count == 0, string.Join("\n", errors));
            var emit = run.OutputCompilation.Emit(assemblyPath);
            Assert.True(emit.Success, string.Join("\n", emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));

            // The runtime the test runs on, so the child process uses the same JIT.
            File.WriteAllText(Path.ChangeExtension(assemblyPath, ".runtimeconfig.json"), $$"""
                { "runtimeOptions": { "tfm": "net{{Environment.Version.Major}}.{{Environment.Version.Minor}}", "framework": { "name": "Microsoft.NETCore.App", "version": "{{Environment.Version}}" } } }
                """);

            using var pe = new PEReader(File.OpenRead(assemblyPath));
            var metadata = pe.GetMetadataReader();
            return metadata.TypeDefinitions.Select(h => metadata.GetTypeDefinition(h))
                .Select(t => JitTypeName(metadata, t))
                // Everything but the runner: the model classes and their nested types, wherever the emitter puts kernels.
                .Where(name => name != "<Module>" && name != "Tests.JitRunner" && !name.StartsWith("Tests.JitRunner+", StringComparison.Ordinal))
                .ToHashSet(StringComparer.Ordinal);
        }
    }

    private static (int ExitCode, string Output) RunWithJitSummary(string assemblyPath, string summaryPath)
    {
        // DOTNET_HOST_PATH is the dotnet executable running the tests (set by the CLI for its children).
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(assemblyPath);
        start.Environment["DOTNET_TieredCompilation"] = "0";
        start.Environment["DOTNET_JitDisasmSummary"] = "1";
        start.Environment["DOTNET_JitStdOutFile"] = summaryPath;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("The JIT runner did not finish in 2 minutes.");
        }
        return (process.ExitCode, stdout + stderr.Result);
    }

    /// <summary>"Tests.M_x+Nested:Method(...)" -> "Tests.M_x+Nested"; generic arguments dropped.</summary>
    private static string DeclaringType(string method)
    {
        int colon = method.IndexOf(':', StringComparison.Ordinal);
        string type = colon < 0 ? method : method[..colon];
        int generic = type.IndexOfAny(new[] { '[', '`' });
        return generic < 0 ? type : type[..generic];
    }

    private static int IlSizeOf(string summaryLine)
    {
        int at = summaryLine.IndexOf("IL size=", StringComparison.Ordinal);
        if (at < 0) return 0;
        var digits = summaryLine.Skip(at + "IL size=".Length).TakeWhile(char.IsAsciiDigit).ToArray();
        return int.Parse(new string(digits), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The type's name as the JIT prints it: Namespace.Outer+Inner, without the generic arity.</summary>
    private static string JitTypeName(MetadataReader metadata, TypeDefinition type)
    {
        string name = metadata.GetString(type.Name);
        int tick = name.IndexOf('`', StringComparison.Ordinal);
        if (tick >= 0) name = name[..tick];
        if (type.GetDeclaringType() is { IsNil: false } outer)
            return JitTypeName(metadata, metadata.GetTypeDefinition(outer)) + "+" + name;
        string ns = metadata.GetString(type.Namespace);
        return ns.Length == 0 ? name : ns + "." + name;
    }
}
