using System;
using System.IO;
using System.Linq;
using System.Threading;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Generator.Tests;

/// <summary>
/// The run-time contract of Predict on the sample CNN: no allocation per call after a thread's first, and
/// thread-safety (each thread its own workspace; results identical to a single thread's).
/// </summary>
public sealed class PredictRuntimeTests : IClassFixture<PredictRuntimeTests.FashionNetAssembly>
{
    /// <summary>fashion_cnn compiled once for the class (compiling its weights is the slow part).</summary>
    public sealed class FashionNetAssembly : IDisposable
    {
        public FashionNetAssembly()
        {
            var bytes = File.ReadAllBytes(Path.Combine(ModelFiles.RepoRoot, "samples", "FashionMnist", "Models", "fashion_cnn.onnx"));
            var run = GeneratorHarness.RunModel(bytes, className: "FashionNet", modelPath: "Models/fashion_cnn.onnx");
            Assert.Empty(run.GeneratorDiagnostics);
            Assembly = CompiledAssembly.Load(run, Harness);
        }

        public CompiledAssembly Assembly { get; }

        public void Dispose() => Assembly.Dispose();
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

            public static long AllocatedBytesWithCallerWorkspace(float[] input, float[] output, int calls)
            {
                System.Span<byte> workspace = new byte[FashionNet.WorkspaceBytes]; // once, before measuring
                FashionNet.Predict(input, output, workspace);
                long before = System.GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < calls; i++)
                    FashionNet.Predict(input, output, workspace);
                return System.GC.GetAllocatedBytesForCurrentThread() - before;
            }
        }
        """;

    private readonly CompiledAssembly _assembly;

    public PredictRuntimeTests(FashionNetAssembly fixture) => _assembly = fixture.Assembly;

    private static float[] Image(int seed) => OnnxModelBuilder.RandomFloats(784, seed, scale: 0.5f).Select(v => v + 0.5f).ToArray();

    [Fact]
    public void Predict_allocates_nothing_after_warm_up()
    {
        var measure = _assembly.Method<Func<float[], float[], int, int, long>>("Tests.RuntimeHarness", "AllocatedBytes");
        long bytes = measure(Image(1), new float[10], 50, 1000);
        Assert.Equal(0, bytes);

        // The measurement sees allocations: a new thread's first call allocates its workspace.
        long firstCall = -1;
        var thread = new Thread(() => firstCall = measure(Image(1), new float[10], 0, 1));
        thread.Start();
        thread.Join();
        Assert.True(firstCall >= (int)_assembly.Constant("Tests.FashionNet", "WorkspaceBytes")!, $"a first call allocated {firstCall} bytes");
    }

    [Fact]
    public void Predict_with_a_caller_workspace_allocates_nothing()
    {
        var measure = _assembly.Method<Func<float[], float[], int, long>>("Tests.RuntimeHarness", "AllocatedBytesWithCallerWorkspace");
        Assert.Equal(0, measure(Image(2), new float[10], 1000));
    }

    [Fact]
    public void Four_threads_at_once_get_the_single_threaded_results()
    {
        var predict = _assembly.Method<Action<float[], float[]>>("Tests.RuntimeHarness", "Predict");
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
