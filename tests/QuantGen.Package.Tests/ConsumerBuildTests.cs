using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using Xunit;

namespace QuantGen.Package.Tests;

/// <summary>Real consumer projects built with `dotnet build` against the packed QuantGen package.</summary>
[Collection(PackageCollection.Name)]
public class ConsumerBuildTests
{
    // tiny.onnx is y = Relu(x W + b); these numbers are printed by Models/make_models.py.
    private static readonly float[] Input = { 1f, 2f, 3f, 4f };
    private static readonly float[] Expected = { 2.75f, 0f, 3.75f };

    private readonly PackedFeed _feed;

    public ConsumerBuildTests(PackedFeed feed) => _feed = feed;

    [Fact]
    public void Model_in_a_subfolder_builds_without_warnings_and_predicts()
    {
        var app = new ConsumerProject(_feed, "subfolder")
            .WithProject("""<AdditionalFiles Include="Models/tiny.onnx" />""")
            .WithFile("tiny.onnx", "app/Models/tiny.onnx")
            .WithTinyModelProgram("Models/tiny.onnx", Input);

        AssertCleanBuild(app.Build());
        Assert.True(File.Exists(Path.Combine(app.IntermediateDirectory, "quantgen", "Models", "tiny.onnx.qgm")));
        AssertPredicts(app.Run(), Expected);
    }

    [Fact]
    public void Model_linked_from_outside_the_project_folder_is_known_by_its_link()
    {
        var app = new ConsumerProject(_feed, "linked")
            .WithProject("""<AdditionalFiles Include="../shared/tiny.onnx" Link="Models/linked.onnx" />""")
            .WithFile("tiny.onnx", "shared/tiny.onnx")
            .WithTinyModelProgram("Models/linked.onnx", Input);

        AssertCleanBuild(app.Build());
        string qgm = Assert.Single(Directory.GetFiles(Path.Combine(app.IntermediateDirectory, "quantgen"), "*.qgm", SearchOption.AllDirectories));
        Assert.StartsWith(Path.Combine(app.IntermediateDirectory, "quantgen", "_outside"), qgm, StringComparison.Ordinal);
        Assert.Contains("#path Models/linked.onnx\n", File.ReadAllText(qgm), StringComparison.Ordinal);
        AssertPredicts(app.Run(), Expected);
    }

    [Fact]
    public void Model_with_external_data_builds_and_is_encoded_again_when_only_the_data_changes()
    {
        var app = new ConsumerProject(_feed, "external")
            .WithProject("""<AdditionalFiles Include="Models/tiny.onnx" />""")
            .WithFile("tiny_external.onnx", "app/Models/tiny.onnx")
            .WithFile("tiny_external.weights", "app/Models/tiny_external.weights")
            .WithTinyModelProgram("Models/tiny.onnx", Input);
        string qgm = Path.Combine(app.IntermediateDirectory, "quantgen", "Models", "tiny.onnx.qgm");

        AssertCleanBuild(app.Build());
        AssertPredicts(app.Run(), Expected);
        DateTime firstWrite = File.GetLastWriteTimeUtc(qgm);

        // Doubling every weight and bias doubles the output (Relu(2z) = 2 Relu(z)), exactly in float32.
        string weights = Path.Combine(app.ProjectDirectory, "Models", "tiny_external.weights");
        float[] values = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(weights)).ToArray();
        File.WriteAllBytes(weights, MemoryMarshal.AsBytes(values.Select(v => 2 * v).ToArray().AsSpan()).ToArray());

        AssertCleanBuild(app.Build());
        Assert.NotEqual(firstWrite, File.GetLastWriteTimeUtc(qgm));
        AssertPredicts(app.Run(), Expected.Select(v => 2 * v).ToArray());
    }

    [Fact]
    public void Second_build_skips_the_encoding_and_keeps_the_qgm_untouched_and_clean_removes_it()
    {
        var app = new ConsumerProject(_feed, "incremental")
            .WithProject("""<AdditionalFiles Include="Models/tiny.onnx" />""")
            .WithFile("tiny.onnx", "app/Models/tiny.onnx")
            .WithTinyModelProgram("Models/tiny.onnx", Input);
        string qgm = Path.Combine(app.IntermediateDirectory, "quantgen", "Models", "tiny.onnx.qgm");

        AssertCleanBuild(app.Build());
        DateTime firstWrite = File.GetLastWriteTimeUtc(qgm);

        var second = app.Build("-v:detailed");
        AssertCleanBuild(second);
        Assert.Contains("Skipping target \"_QuantGenEncodeModels\" because all output files are up-to-date", second.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Building target \"_QuantGenEncodeModels\"", second.Output, StringComparison.Ordinal);
        Assert.Contains("Skipping target \"CoreCompile\" because all output files are up-to-date", second.Output, StringComparison.Ordinal);
        Assert.Equal(firstWrite, File.GetLastWriteTimeUtc(qgm));

        var clean = app.Dotnet("clean", "-c", "Debug");
        Assert.True(clean.ExitCode == 0, clean.ToString());
        Assert.False(File.Exists(qgm), ".qgm left behind by dotnet clean");
    }

    [Fact]
    public void Design_time_build_hands_the_compiler_the_qgm_instead_of_the_onnx()
    {
        // What an IDE does: Compile with the compiler call skipped, to learn its command line.
        var app = new ConsumerProject(_feed, "designtime")
            .WithProject("""<AdditionalFiles Include="Models/tiny.onnx" />""")
            .WithFile("tiny.onnx", "app/Models/tiny.onnx")
            .WithTinyModelProgram("Models/tiny.onnx", Input);
        var restore = app.Dotnet("restore");
        Assert.True(restore.ExitCode == 0, restore.ToString());

        var designTime = app.Dotnet("msbuild", "-t:Compile", "-v:detailed",
            "-p:DesignTimeBuild=true", "-p:BuildingProject=false", "-p:SkipCompilerExecution=true",
            "-p:ProvideCommandLineArgs=true", "-p:BuildingInsideVisualStudio=true");

        Assert.True(designTime.ExitCode == 0, designTime.ToString());
        string qgm = Path.Combine(app.IntermediateDirectory, "quantgen", "Models", "tiny.onnx.qgm");
        Assert.True(File.Exists(qgm), designTime.ToString());
        Assert.Contains("/additionalfile:" + qgm, designTime.Output, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"/additionalfile:\S*\.onnx(\s|$)", designTime.Output);
    }

    private static void AssertCleanBuild(CommandResult build)
    {
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains(" 0 Warning(s)", build.Output, StringComparison.Ordinal);
        Assert.Contains(" 0 Error(s)", build.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("CS2015", build.Output, StringComparison.Ordinal);
    }

    private static void AssertPredicts(CommandResult run, float[] expected)
    {
        Assert.True(run.ExitCode == 0, run.ToString());
        string[] lines = run.Output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("InputLength=4", lines);
        Assert.Contains("OutputLength=3", lines);
        string outputLine = lines.Single(l => l.StartsWith("Output=", StringComparison.Ordinal));
        float[] actual = outputLine.Substring("Output=".Length).Split(' ')
            .Select(v => float.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6f, $"output[{i}] = {actual[i]}, expected {expected[i]}\n{run}");
    }
}
