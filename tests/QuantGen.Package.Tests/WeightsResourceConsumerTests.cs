using System;
using System.IO;
using System.Linq;
using Xunit;

namespace QuantGen.Package.Tests;

/// <summary>
/// The weights' resource path through the real package: the build task writes the blob and manifest into obj/, the
/// targets embed the blob, the generated code reads it in place. Forced with QuantGenWeights="Resource" on the tiny
/// model so the test stays fast (big models take this path by themselves from 32 MB).
/// </summary>
[Collection(PackageCollection.Name)]
public class WeightsResourceConsumerTests
{
    private readonly PackedFeed _feed;

    public WeightsResourceConsumerTests(PackedFeed feed) => _feed = feed;

    private const string Program = """
        using System;
        using System.Globalization;
        using System.Linq;

        float[] input = { 1f, 2f, 3f, 4f };
        float[] output = new float[Tiny.OutputLength];
        Tiny.Predict(input, output);
        Console.WriteLine("Output=" + string.Join(" ", Array.ConvertAll(output, v => v.ToString("R", CultureInfo.InvariantCulture))));
        for (int i = 0; i < 100; i++) Tiny.Predict(input, output);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++) Tiny.Predict(input, output);
        Console.WriteLine("Allocated=" + (GC.GetAllocatedBytesForCurrentThread() - before));
        Console.WriteLine("Resources=" + string.Join(",", typeof(Tiny).Assembly.GetManifestResourceNames().OrderBy(n => n, StringComparer.Ordinal)));

        [QuantGen.OnnxModel("Models/tiny.onnx", Precision = QuantGen.Precision.Float32)]
        public static partial class Tiny;
        """;

    private ConsumerProject App(string name, string metadata)
    {
        var app = new ConsumerProject(_feed, name)
            .WithProject($"""<AdditionalFiles Include="Models/tiny.onnx" {metadata} />""")
            .WithFile("tiny.onnx", "app/Models/tiny.onnx");
        File.WriteAllText(Path.Combine(app.ProjectDirectory, "Program.cs"), Program);
        return app;
    }

    [Fact]
    public void Forced_resource_build_embeds_the_weights_and_predicts_with_no_allocation()
    {
        var app = App("resource", """QuantGenWeights="Resource" QuantGenPrecision="Float32" """);

        var build = app.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains(" 0 Warning(s)", build.Output, StringComparison.Ordinal);
        string quantgen = Path.Combine(app.IntermediateDirectory, "quantgen", "Models");
        Assert.True(File.Exists(Path.Combine(quantgen, "tiny.onnx.weights")), build.ToString());
        Assert.Contains("resource: QuantGen.Weights/Models/tiny.onnx", File.ReadAllText(Path.Combine(quantgen, "tiny.onnx.qgw")), StringComparison.Ordinal);

        var run = app.Run();
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("Output=2.75 0 3.75", run.Output, StringComparison.Ordinal); // exact: make_models.py's numbers
        Assert.Contains("Allocated=0", run.Output, StringComparison.Ordinal);
        Assert.Contains("Resources=QuantGen.Weights/Models/tiny.onnx", run.Output, StringComparison.Ordinal);

        // A second build changes nothing: the task is skipped, the blob keeps its time, the compiler does not run.
        string dll = Path.Combine(app.ProjectDirectory, "bin", "Debug", ConsumerProject.TargetFramework, "app.dll");
        DateTime blobTime = File.GetLastWriteTimeUtc(Path.Combine(quantgen, "tiny.onnx.weights"));
        DateTime dllTime = File.GetLastWriteTimeUtc(dll);
        build = app.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Equal(blobTime, File.GetLastWriteTimeUtc(Path.Combine(quantgen, "tiny.onnx.weights")));
        Assert.Equal(dllTime, File.GetLastWriteTimeUtc(dll));

        // Back to literals: the manifest and blob go, and nothing is embedded.
        app.WithProject("""<AdditionalFiles Include="Models/tiny.onnx" QuantGenWeights="Literals" />""");
        build = app.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.False(File.Exists(Path.Combine(quantgen, "tiny.onnx.qgw")));
        run = app.Run();
        Assert.Contains("Output=2.75 0 3.75", run.Output, StringComparison.Ordinal);
        Assert.Contains("Resources=\n", run.Output.Replace("\r", ""), StringComparison.Ordinal);
    }

    [Fact]
    public void Tampered_weights_in_obj_are_embedded_but_rejected_at_the_first_Predict()
    {
        var app = App("tampered", """QuantGenWeights="Resource" QuantGenPrecision="Float32" """);
        Assert.Equal(0, app.Build().ExitCode);

        // Flip one bit of one weight in the blob the task wrote; the next build embeds it (it is an input of the
        // compiler) while the task, whose inputs did not change, keeps the manifest and so the expected hash.
        string blob = Path.Combine(app.IntermediateDirectory, "quantgen", "Models", "tiny.onnx.weights");
        byte[] bytes = File.ReadAllBytes(blob);
        bytes[1] ^= 0x40;
        File.WriteAllBytes(blob, bytes);
        var build = app.Build();
        Assert.True(build.ExitCode == 0, build.ToString());

        var run = app.Run();
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("SHA-256 mismatch", run.ToString(), StringComparison.Ordinal);
        Assert.Contains("QuantGen.Weights/Models/tiny.onnx", run.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Resource_compiled_with_other_options_than_the_attribute_fails_the_build_with_QG0029()
    {
        // No QuantGenPrecision: the task compiles the weights in INT8, the attribute asks for Float32.
        var app = App("mismatch", """QuantGenWeights="Resource" """);
        var build = app.Build();
        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains("QG0029", build.Output, StringComparison.Ordinal);
        Assert.Contains("QuantGenPrecision", build.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_token_model_with_free_dimensions_takes_the_resource_path_with_QuantGenDimensions()
    {
        // input_ids int64 [batch, sequence] -> Gather from a 10x3 table -> mean over the sequence (make_models.py).
        var app = new ConsumerProject(_feed, "tokens")
            .WithProject("""<AdditionalFiles Include="Models/tiny_tokens.onnx" QuantGenWeights="Resource" QuantGenPrecision="Float32" QuantGenDimensions="sequence=4" />""")
            .WithFile("tiny_tokens.onnx", "app/Models/tiny_tokens.onnx");
        File.WriteAllText(Path.Combine(app.ProjectDirectory, "Program.cs"), """
            using System;
            using System.Globalization;

            long[] ids = { 1, 4, 9, 0 };
            float[] output = new float[Tokens.OutputLength];
            Tokens.Predict(ids, output);
            Console.WriteLine("Output=" + string.Join(" ", Array.ConvertAll(output, v => v.ToString("R", CultureInfo.InvariantCulture))));
            Console.WriteLine("Resources=" + string.Join(",", typeof(Tokens).Assembly.GetManifestResourceNames()));

            [QuantGen.OnnxModel("Models/tiny_tokens.onnx", Precision = QuantGen.Precision.Float32, Dimensions = new[] { "sequence=4" })]
            public static partial class Tokens;
            """);

        var build = app.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains("Dimensions sequence=4", File.ReadAllText(Path.Combine(app.IntermediateDirectory, "quantgen", "Models", "tiny_tokens.onnx.qgw")), StringComparison.Ordinal);
        var run = app.Run();
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("Output=-1.125 -0.875 -0.625", run.Output, StringComparison.Ordinal); // make_models.py's numbers
        Assert.Contains("Resources=QuantGen.Weights/Models/tiny_tokens.onnx", run.Output, StringComparison.Ordinal);
    }
}
