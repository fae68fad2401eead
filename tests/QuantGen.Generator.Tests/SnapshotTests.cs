using System.IO;
using System.Linq;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Testing.OnnxModelBuilder;

namespace QuantGen.Generator.Tests;

/// <summary>
/// The generated code, compared with approved files in Snapshots/ (see <see cref="SnapshotAssert"/>). A change to the
/// emitter shows up here as a readable diff; approve it by renaming the .received file over the .verified one.
/// </summary>
public class SnapshotTests
{
    /// <summary>Conv -> Relu -> MaxPool -> Flatten -> Gemm on a 6x6 image, with small weights.</summary>
    internal static byte[] TinyCnn() => new OnnxModelBuilder(graphName: "tiny_cnn")
        .Input("image", 1, 1, 6, 6)
        .Initializer("conv.weight", new long[] { 2, 1, 3, 3 }, RandomFloats(18, seed: 1))
        .Initializer("conv.bias", new long[] { 2 }, new[] { 0.25f, -0.125f })
        .Initializer("fc.weight", new long[] { 3, 8 }, RandomFloats(24, seed: 2))
        .Initializer("fc.bias", new long[] { 3 }, new[] { 0.5f, 0f, -0.5f })
        .Node("/conv/Conv", "Conv", new[] { "image", "conv.weight", "conv.bias" }, new[] { "conv_out" },
            OnnxAttribute.Ints("kernel_shape", 3, 3), OnnxAttribute.Ints("strides", 1, 1), OnnxAttribute.Ints("pads", 0, 0, 0, 0))
        .Node("/relu/Relu", "Relu", new[] { "conv_out" }, new[] { "relu_out" })
        .Node("/pool/MaxPool", "MaxPool", new[] { "relu_out" }, new[] { "pool_out" },
            OnnxAttribute.Ints("kernel_shape", 2, 2), OnnxAttribute.Ints("strides", 2, 2))
        .Node("/flatten/Flatten", "Flatten", new[] { "pool_out" }, new[] { "flat" }, OnnxAttribute.Int("axis", 1))
        .Node("/fc/Gemm", "Gemm", new[] { "flat", "fc.weight", "fc.bias" }, new[] { "logits" },
            OnnxAttribute.Float("alpha", 1), OnnxAttribute.Float("beta", 1), OnnxAttribute.Int("transB", 1))
        .Output("logits", 1, 3)
        .ToBytes();

    [Fact]
    public void Tiny_cnn_all_generated_files()
    {
        var run = GeneratorHarness.RunModel(TinyCnn(), className: "TinyNet", modelPath: "Models/tiny_cnn.onnx");
        Assert.Empty(run.AllDiagnostics);
        Assert.Equal(new[] { "Tests.TinyNet.Kernels.g.cs", "Tests.TinyNet.Weights.g.cs", "Tests.TinyNet.g.cs" }, run.Sources.Keys.OrderBy(k => k, System.StringComparer.Ordinal));
        AssertSnapshots(run);
    }

    [Fact]
    public void Fashion_cnn_main_file()
    {
        var bytes = File.ReadAllBytes(Path.Combine(ModelFiles.RepoRoot, "samples", "FashionMnist", "Models", "fashion_cnn.onnx"));
        var run = GeneratorHarness.RunModel(bytes, className: "FashionNet", modelPath: "Models/fashion_cnn.onnx");
        Assert.Empty(run.GeneratorDiagnostics);
        SnapshotAssert.Matches("Tests.FashionNet.g", Scrub(run.Sources["Tests.FashionNet.g.cs"]));
    }

    [Fact]
    public void Output_is_byte_identical_from_run_to_run()
    {
        var first = GeneratorHarness.RunModel(TinyCnn()).Sources;
        var second = GeneratorHarness.RunModel(TinyCnn()).Sources;
        Assert.Equal(first, second);
    }

    [Fact]
    public void Tiny_cnn_weights_in_a_manifest_resource()
    {
        // What the build task writes for this model (QuantGenWeights="Resource"): the generator reads it as a manifest.
        var blob = QuantGen.Compiler.ModelCompiler.Compile(TinyCnn(), new QuantGen.Compiler.CompilerOptions
        {
            ModelPath = "Models/tiny_cnn.onnx", Precision = QuantGen.Compiler.Precision.Float32, WeightStorage = QuantGen.Compiler.WeightStorage.Resource,
        }).Weights!;
        var manifest = new InMemoryAdditionalText("/project/obj/quantgen/Models/tiny_cnn.onnx.qgw", QuantGen.Compiler.Transport.WeightsManifest.Write(
            new("Models/tiny_cnn.onnx", blob.ResourceName, blob.Bytes.Length, blob.Sha256Hex, "Float32")));
        string source = """
            namespace Tests;
            [QuantGen.OnnxModel("Models/tiny_cnn.onnx", Precision = QuantGen.Precision.Float32)]
            public static partial class TinyResourceNet;
            """;
        var run = GeneratorHarness.Run(new[] { source }, new[] { ModelFiles.Transport(TinyCnn(), "Models/tiny_cnn.onnx"), manifest });
        Assert.Empty(run.GeneratorDiagnostics);
        SnapshotAssert.Matches("Tests.TinyResourceNet.Weights.g", Scrub(run.Sources["Tests.TinyResourceNet.Weights.g.cs"]));
    }

    /// <summary>Compares every generated file (writing a .received for each that differs) before failing.</summary>
    private static void AssertSnapshots(GeneratorRun run)
    {
        var failures = new System.Collections.Generic.List<string>();
        foreach (var (hint, text) in run.Sources.OrderBy(s => s.Key, System.StringComparer.Ordinal))
        {
            try
            {
                SnapshotAssert.Matches(Path.GetFileNameWithoutExtension(hint), Scrub(text));
            }
            catch (SnapshotMismatchException e)
            {
                failures.Add(e.Message);
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    /// <summary>The QuantGen version in each header, so a version bump does not invalidate every snapshot.</summary>
    private static string Scrub(string text) =>
        text.Replace("// QuantGen " + typeof(QuantGen.Compiler.ModelCompiler).Assembly.GetName().Version!.ToString(3) + ":", "// QuantGen {version}:", System.StringComparison.Ordinal);
}
