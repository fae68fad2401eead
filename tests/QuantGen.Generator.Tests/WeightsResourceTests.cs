using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using QuantGen.Compiler;
using QuantGen.Compiler.Transport;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Generator.Tests;

/// <summary>
/// Weights in a manifest resource: the generator, given the manifest the build task writes, emits code that reads the
/// resource in place; the result is compiled with the blob embedded (as Csc does with the targets' resource item) and
/// run. Tampered, missing or mismatched resources must fail loudly.
/// </summary>
public class WeightsResourceTests
{
    private const string ModelPath = "Models/model.onnx";

    private static readonly byte[] Model = new OnnxModelBuilder()
        .Input("x", 1, 6)
        .Initializer("W", new long[] { 6, 5 }, Enumerable.Range(0, 30).Select(i => (float)Math.Sin(i) * 0.5f).ToArray())
        .Initializer("b", new long[] { 5 }, new[] { 0.1f, -0.2f, 0.3f, -0.4f, 0.5f })
        .Node("gemm", "Gemm", new[] { "x", "W", "b" }, new[] { "h" })
        .Node("relu", "Relu", new[] { "h" }, new[] { "y" })
        .Output("y", 1, 5)
        .ToBytes();

    private static readonly float[] Input = { 1f, -2f, 0.5f, 3f, -1f, 0.25f };

    private const string Harness = """
        namespace Tests;
        public static class Harness
        {
            public static void Predict(float[] x, float[] y) => Model.Predict(x, y);
        }
        """;

    /// <summary>The blob the build task would write: the same compiler, the same options.</summary>
    private static QuantGen.Compiler.Emit.WeightBlob TaskBlob(Precision precision) =>
        ModelCompiler.Compile(Model, new CompilerOptions { ModelPath = ModelPath, Precision = precision, WeightStorage = WeightStorage.Resource }).Weights!;

    private static InMemoryAdditionalText Manifest(QuantGen.Compiler.Emit.WeightBlob blob, string options = "Float32") =>
        new($"/project/obj/quantgen/{ModelPath}.qgw", WeightsManifest.Write(new WeightsManifest.Content(ModelPath, blob.ResourceName, blob.Bytes.Length, blob.Sha256Hex, options)));

    private static GeneratorRun Generate(InMemoryAdditionalText? manifest, string attributeArguments = ", Precision = QuantGen.Precision.Float32")
    {
        string source = $$"""
            namespace Tests;
            [QuantGen.OnnxModel("{{ModelPath}}"{{attributeArguments}})]
            public static partial class Model;
            """;
        var files = manifest == null ? new[] { ModelFiles.Transport(Model, ModelPath) } : new[] { ModelFiles.Transport(Model, ModelPath), manifest };
        return GeneratorHarness.Run(new[] { source }, files);
    }

    /// <summary>Compiles the run's output with <paramref name="resource"/> embedded under <paramref name="name"/> (null: none) and returns Predict.</summary>
    private static (Action<float[], float[]> Predict, AssemblyLoadContext Context) Load(GeneratorRun run, string? name, byte[]? resource)
    {
        var compilation = run.OutputCompilation
            .AddSyntaxTrees(CSharpSyntaxTree.ParseText(Harness, GeneratorHarness.ParseOptions, path: "/project/Harness.cs"))
            .WithOptions(run.OutputCompilation.Options.WithAllowUnsafe(true));
        using var stream = new MemoryStream();
        var resources = name == null ? null : new[] { new ResourceDescription(name, () => new MemoryStream(resource!), isPublic: true) };
        var emit = compilation.Emit(stream, manifestResources: resources);
        Assert.True(emit.Success, string.Join("\n", emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        stream.Position = 0;
        var context = new AssemblyLoadContext("WeightsResource_" + Guid.NewGuid().ToString("N"), isCollectible: true);
        var assembly = context.LoadFromStream(stream);
        var method = assembly.GetType("Tests.Harness")!.GetMethod("Predict", BindingFlags.Public | BindingFlags.Static)!;
        return (method.CreateDelegate<Action<float[], float[]>>(), context);
    }

    private static float[] Run(Action<float[], float[]> predict)
    {
        var y = new float[5];
        predict(Input, y);
        return y;
    }

    [Fact]
    public void Resource_build_predicts_bit_for_bit_what_the_literal_build_does()
    {
        var blob = TaskBlob(Precision.Float32);
        var run = Generate(Manifest(blob));
        Assert.DoesNotContain(run.GeneratorDiagnostics, d => d.Severity >= DiagnosticSeverity.Warning);
        string weights = run.Sources.Single(s => s.Key.EndsWith(".Weights.g.cs", StringComparison.Ordinal)).Value;
        Assert.Contains("GetManifestResourceStream(ResourceName)", weights);
        Assert.DoesNotContain("new ulong[]", weights);

        var (resourcePredict, c1) = Load(run, blob.ResourceName, blob.Bytes);
        var (literalPredict, c2) = Load(Generate(null), null, null);
        try
        {
            var expected = Run(literalPredict);
            var actual = Run(resourcePredict);
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));
            Assert.Contains(actual, v => v > 0);

            // Warm, then no allocation per call: the spans point into the loaded image.
            var y = new float[5];
            for (int i = 0; i < 10; i++) resourcePredict(Input, y);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 100; i++) resourcePredict(Input, y);
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        finally
        {
            c1.Unload();
            c2.Unload();
        }
    }

    [Fact]
    public void A_tampered_resource_is_detected_by_its_hash()
    {
        var blob = TaskBlob(Precision.Float32);
        var tampered = (byte[])blob.Bytes.Clone();
        tampered[7] ^= 0x01; // one bit of one weight
        var (predict, context) = Load(Generate(Manifest(blob)), blob.ResourceName, tampered);
        try
        {
            var e = Assert.Throws<InvalidOperationException>(() => Run(predict));
            Assert.Contains("SHA-256 mismatch", e.Message);
            Assert.Contains(blob.ResourceName, e.Message);
        }
        finally
        {
            context.Unload();
        }
    }

    [Fact]
    public void A_truncated_resource_is_reported_with_both_lengths()
    {
        var blob = TaskBlob(Precision.Float32);
        var (predict, context) = Load(Generate(Manifest(blob)), blob.ResourceName, blob.Bytes.Take(blob.Bytes.Length - 4).ToArray());
        try
        {
            var e = Assert.Throws<InvalidOperationException>(() => Run(predict));
            Assert.Contains($"has {blob.Bytes.Length - 4} bytes", e.Message);
            Assert.Contains($"expects {blob.Bytes.Length}", e.Message);
        }
        finally
        {
            context.Unload();
        }
    }

    [Fact]
    public void A_missing_resource_says_which_one_and_how_it_gets_there()
    {
        var blob = TaskBlob(Precision.Float32);
        var (predict, context) = Load(Generate(Manifest(blob)), "SomethingElse", blob.Bytes);
        try
        {
            var e = Assert.Throws<InvalidOperationException>(() => Run(predict));
            Assert.Contains("missing", e.Message);
            Assert.Contains(blob.ResourceName, e.Message);
            Assert.Contains("QuantGenWeights=Resource", e.Message);
        }
        finally
        {
            context.Unload();
        }
    }

    [Fact]
    public void Task_options_that_differ_from_the_attribute_are_a_build_error()
    {
        // The task compiled in INT8 (its default), the attribute asks for Float32: different weights.
        var run = Generate(Manifest(TaskBlob(Precision.Int8), "Int8"));
        var d = Assert.Single(run.GeneratorDiagnostics, d => d.Id == "QG0029");
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        Assert.Contains("task: Int8; attribute: Float32", d.GetMessage());
        Assert.Contains("QuantGenPrecision=\"Float32\"", d.GetMessage()); // the help is part of the message
    }
}
