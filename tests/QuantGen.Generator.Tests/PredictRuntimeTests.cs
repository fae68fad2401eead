using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Generator.Tests;

/// <summary>
/// The run-time contract of Predict on the sample CNN and the sample ViT, in Float32 and INT8 (calibrated and dynamic):
/// no allocation per call after a thread's first, and thread-safety (each thread its own workspace; results identical
/// to a single thread's).
/// </summary>
public sealed class PredictRuntimeTests : IClassFixture<PredictRuntimeTests.FashionNetAssembly>
{
    /// <summary>Each model compiled once per precision for the class (compiling its weights is the slow part).</summary>
    public sealed class FashionNetAssembly : IDisposable
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<CompiledAssembly>> _byVariant = new();

        /// <summary>
        /// "Float32", "Int8" (with the sample's calibration file) or "Int8Dynamic" (without: QG0021), of fashion_cnn, or
        /// of another sample model when prefixed with its name ("fashion_vit:Int8").
        /// </summary>
        public CompiledAssembly this[string variant] => _byVariant.GetOrAdd(variant, v => new Lazy<CompiledAssembly>(() => Compile(v))).Value;

        private static CompiledAssembly Compile(string key)
        {
            var (model, variant) = key.Split(':') is [var m, var v] ? (m, v) : ("fashion_cnn", key);
            string models = Path.Combine(ModelFiles.RepoRoot, "samples", "FashionMnist", "Models");
            var bytes = File.ReadAllBytes(Path.Combine(models, model + ".onnx"));
            string source = $$"""
                namespace Tests;

                [QuantGen.OnnxModel("Models/{{model}}.onnx"{{(variant == "Float32" ? ", Precision = QuantGen.Precision.Float32" : "")}})]
                public static partial class FashionNet;
                """;
            var files = new System.Collections.Generic.List<Microsoft.CodeAnalysis.AdditionalText> { ModelFiles.Transport(bytes, $"Models/{model}.onnx") };
            if (variant == "Int8")
                files.Add(new InMemoryAdditionalText($"/project/Models/{model}.calib.json", File.ReadAllText(Path.Combine(models, model + ".calib.json"))));
            var run = GeneratorHarness.Run(new[] { source }, files);
            Assert.Equal(variant == "Int8Dynamic" ? new[] { "QG0021" } : Array.Empty<string>(), run.GeneratorDiagnostics.Where(d => d.Severity >= Microsoft.CodeAnalysis.DiagnosticSeverity.Warning).Select(d => d.Id));
            return CompiledAssembly.Load(run, Harness);
        }

        public void Dispose()
        {
            foreach (var assembly in _byVariant.Values.Where(l => l.IsValueCreated))
                assembly.Value.Dispose();
        }
    }

    // Allocation is measured inside the loaded assembly, so no reflection or delegate plumbing is counted.
    private const string Harness = """
        namespace Tests;

        public static class RuntimeHarness
        {
            public static void Predict(float[] input, float[] output) => FashionNet.Predict(input, output);

            public static long AllocatedBytes(float[] input, float[] output, int warmUp, int calls)
            {
                for (int i = 0; i < warmUp; i++)
                    FashionNet.Predict(input, output);
                long before = System.GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < calls; i++)
                    FashionNet.Predict(input, output);
                return System.GC.GetAllocatedBytesForCurrentThread() - before;
            }

            /// <summary>
            /// Predict on spans cut out of larger arrays, over several inputs: how many bytes around the workspace and
            /// floats around the output changed (generated kernels write through Unsafe and vector stores, with no
            /// bounds checks, so an overrun would corrupt whatever lies next to them).
            /// </summary>
            public static int GuardChanges(float[][] inputs, int outputLength, int guard)
            {
                var workspace = new byte[guard + FashionNet.WorkspaceBytes + guard];
                var output = new float[guard + outputLength + guard];
                System.Array.Fill(workspace, (byte)0xA5);
                System.Array.Fill(output, -12345.5f);
                foreach (var input in inputs)
                    FashionNet.Predict(input, new System.Span<float>(output, guard, outputLength), new System.Span<byte>(workspace, guard, FashionNet.WorkspaceBytes));
                int changed = 0;
                for (int i = 0; i < guard; i++)
                {
                    if (workspace[i] != 0xA5) changed++;
                    if (workspace[guard + FashionNet.WorkspaceBytes + i] != 0xA5) changed++;
                    if (output[i] != -12345.5f) changed++;
                    if (output[guard + outputLength + i] != -12345.5f) changed++;
                }
                return changed;
            }

            public static long AllocatedBytesWithCallerWorkspace(float[] input, float[] output, int warmUp, int calls)
            {
                System.Span<byte> workspace = new byte[FashionNet.WorkspaceBytes]; // once, before measuring
                for (int i = 0; i < warmUp; i++)
                    FashionNet.Predict(input, output, workspace);
                long before = System.GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < calls; i++)
                    FashionNet.Predict(input, output, workspace);
                return System.GC.GetAllocatedBytesForCurrentThread() - before;
            }
        }
        """;

    private readonly FashionNetAssembly _assemblies;

    public PredictRuntimeTests(FashionNetAssembly fixture) => _assemblies = fixture;

    public static TheoryData<string> Variants => new() { "Float32", "Int8", "Int8Dynamic", "fashion_vit:Float32", "fashion_vit:Int8", "fashion_vit:Int8Dynamic" };

    private static float[] Image(int seed) => OnnxModelBuilder.RandomFloats(784, seed, scale: 0.5f).Select(v => v + 0.5f).ToArray();

    [Theory]
    [MemberData(nameof(Variants))]
    public void Predict_allocates_nothing_after_warm_up(string variant)
    {
        var assembly = _assemblies[variant];
        var measure = assembly.Method<Func<float[], float[], int, int, long>>("Tests.RuntimeHarness", "AllocatedBytes");
        SteadyStateAllocatesNothing(() => measure(Image(1), new float[10], 200, 1000));

        // The measurement sees allocations: a new thread's first call allocates its workspace.
        long firstCall = -1;
        var thread = new Thread(() => firstCall = measure(Image(1), new float[10], 0, 1));
        thread.Start();
        thread.Join();
        Assert.True(firstCall >= (int)assembly.Constant("Tests.FashionNet", "WorkspaceBytes")!, $"a first call allocated {firstCall} bytes");
    }

    public static TheoryData<string> EveryModel => new(new[] { "fashion_cnn", "fashion_mlp", "fashion_resnet", "fashion_vit" }
        .SelectMany(m => new[] { "Float32", "Int8", "Int8Dynamic" }.Select(v => m + ":" + v)));

    [Theory]
    [MemberData(nameof(EveryModel))]
    public void Predict_writes_nothing_outside_its_workspace_and_output(string variant)
    {
        var assembly = _assemblies[variant];
        var changes = assembly.Method<Func<float[][], int, int, int>>("Tests.RuntimeHarness", "GuardChanges");
        // Saturating inputs too, so clamps and the uint8 extremes are reached.
        var inputs = Enumerable.Range(0, 8).Select(Image).Append(Enumerable.Repeat(1f, 784).ToArray()).Append(new float[784]).ToArray();
        Assert.Equal(0, changes(inputs, 10, 256));
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Predict_with_a_caller_workspace_allocates_nothing(string variant)
    {
        var assembly = _assemblies[variant];
        var measure = assembly.Method<Func<float[], float[], int, int, long>>("Tests.RuntimeHarness", "AllocatedBytesWithCallerWorkspace");
        SteadyStateAllocatesNothing(() => measure(Image(2), new float[10], 200, 1000));
    }

    /// <summary>
    /// Some round of 1000 calls allocates 0 bytes. Rounds are repeated because the runtime itself may allocate on
    /// this thread while tiered compilation replaces the first code of a method (seen with hardware intrinsics
    /// switched off), which is not Predict allocating.
    /// </summary>
    private static void SteadyStateAllocatesNothing(Func<long> round)
    {
        var rounds = new List<long>();
        for (int i = 0; i < 5 && (rounds.Count == 0 || rounds[rounds.Count - 1] != 0); i++)
            rounds.Add(round());
        Assert.True(rounds[rounds.Count - 1] == 0, "bytes allocated by each round of 1000 calls: " + string.Join(", ", rounds));
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Four_threads_at_once_get_the_single_threaded_results(string variant)
    {
        var assembly = _assemblies[variant];
        var predict = assembly.Method<Action<float[], float[]>>("Tests.RuntimeHarness", "Predict");
        const int threads = 4, imagesPerThread = 8, rounds = 25;
        var images = Enumerable.Range(0, threads * imagesPerThread).Select(Image).ToArray();
        var expected = images.Select(image =>
        {
            var output = new float[10];
            predict(image, output);
            return output;
        }).ToArray();

        var mismatches = new string?[threads];
        var errors = new Exception?[threads];
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            try
            {
                var output = new float[10];
                start.SignalAndWait();
                // Each thread cycles through its own images, interleaving with the others' calls.
                for (int round = 0; round < rounds && mismatches[t] == null; round++)
                {
                    for (int k = 0; k < imagesPerThread; k++)
                    {
                        int index = t * imagesPerThread + k;
                        predict(images[index], output);
                        if (!output.AsSpan().SequenceEqual(expected[index]))
                        {
                            mismatches[t] = $"thread {t}, round {round}, image {index}: [{string.Join(", ", output)}] instead of [{string.Join(", ", expected[index])}]";
                            break;
                        }
                    }
                }
            }
            catch (Exception e)
            {
                errors[t] = e;
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        Assert.True(workers.All(w => w.Join(TimeSpan.FromMinutes(2))), "the threads did not finish");

        Assert.All(errors, e => Assert.Null(e));
        Assert.All(mismatches, m => Assert.Null(m));
        // Different inputs really gave different outputs, so a shared buffer would have shown.
        Assert.Equal(expected.Length, expected.Select(o => string.Join(",", o)).Distinct().Count());
    }
}
