using System;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using QuantGen.Testing;
using Xunit;
using Steps = QuantGen.Generator.OnnxModelGenerator.Steps;

namespace QuantGen.Generator.Tests;

/// <summary>
/// The IDE re-runs generators on every keystroke: an edit that does not touch an [OnnxModel] class or a model file
/// must not recompile the model. Checked through the driver's tracked steps (OnnxModelGenerator.Steps).
/// </summary>
public class IncrementalCachingTests
{
    private const string ModelPath = "Models/tiny_cnn.onnx";

    private const string ModelSource = """
        namespace Tests;

        [QuantGen.OnnxModel("Models/tiny_cnn.onnx", Precision = QuantGen.Precision.Float32)]
        public static partial class TinyNet;
        """;

    private const string OtherSource = """
        namespace Tests;

        public static class Other
        {
            public static int Answer() => 42;
        }
        """;

    private static readonly string[] AllSteps = { Steps.Requests, Steps.ModelTexts, Steps.Inputs, Steps.Results };

    private static readonly AdditionalText Model = ModelFiles.Transport(SnapshotTests.TinyCnn(), ModelPath);

    private static GeneratorRun FirstRun(out CSharpCompilation compilation)
    {
        compilation = GeneratorHarness.CreateCompilation(new[] { ModelSource, OtherSource });
        var run = GeneratorHarness.Run(Array.Empty<string>(), new[] { Model }, compilation: compilation);
        Assert.Empty(run.AllDiagnostics);
        Assert.All(AllSteps, step =>
            Assert.Equal(IncrementalStepRunReason.New, Assert.Single(GeneratorCaching.Reasons(run, step))));
        return run;
    }

    [Fact]
    public void Adding_an_unrelated_file_leaves_every_step_cached()
    {
        var first = FirstRun(out var compilation);
        var edited = compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("namespace Tests; public class Added { }", GeneratorHarness.ParseOptions, path: "/project/Added.cs"));

        var second = GeneratorHarness.Run(Array.Empty<string>(), Array.Empty<AdditionalText>(), first.Driver, edited);

        GeneratorCaching.AssertCached(second, Steps.Requests, Steps.ModelTexts);
        GeneratorCaching.AssertNotRun(second, Steps.Results);
        Assert.Equal(first.Sources, second.Sources);
    }

    [Fact]
    public void Editing_an_unrelated_file_leaves_every_step_cached()
    {
        var first = FirstRun(out var compilation);
        var other = compilation.SyntaxTrees.Single(t => t.ToString().Contains("class Other", StringComparison.Ordinal));
        var edited = compilation.ReplaceSyntaxTree(other, other.WithChangedText(other.GetText().Replace(other.ToString().IndexOf("42", StringComparison.Ordinal), 2, "43")));

        var second = GeneratorHarness.Run(Array.Empty<string>(), Array.Empty<AdditionalText>(), first.Driver, edited);

        GeneratorCaching.AssertCached(second, Steps.Requests, Steps.ModelTexts);
        GeneratorCaching.AssertNotRun(second, Steps.Results);
    }

    [Fact]
    public void Editing_the_model_class_file_elsewhere_leaves_the_model_compiled()
    {
        // A comment after the class: Parse runs again for the file but yields an equal request, so Results is cached.
        var first = FirstRun(out var compilation);
        var tree = compilation.SyntaxTrees.Single(t => t.ToString().Contains("TinyNet", StringComparison.Ordinal));
        var edited = compilation.ReplaceSyntaxTree(tree, tree.WithChangedText(tree.GetText().WithChanges(new Microsoft.CodeAnalysis.Text.TextChange(new Microsoft.CodeAnalysis.Text.TextSpan(tree.Length, 0), "\n// a comment\n"))));

        var second = GeneratorHarness.Run(Array.Empty<string>(), Array.Empty<AdditionalText>(), first.Driver, edited);

        GeneratorCaching.AssertCached(second, Steps.Requests, Steps.ModelTexts);
        GeneratorCaching.AssertNotRun(second, Steps.Results);
    }

    [Fact]
    public void Editing_above_the_model_class_moves_its_diagnostics_without_recompiling_the_model()
    {
        // Lines added above [OnnxModel] change where the attribute is, not what it asks for: the model is not
        // compiled again, but a diagnostic that points at the attribute follows it.
        // QG0023 (an unknown KeepFloat name) comes out of compiling the model and points at the attribute.
        string source = ModelSource.Replace("Precision = QuantGen.Precision.Float32", "KeepFloat = new[] { \"nope\" }", StringComparison.Ordinal);
        var first = GeneratorHarness.Run(Array.Empty<string>(), new[] { Model }, compilation: GeneratorHarness.CreateCompilation(new[] { source }));
        Assert.Equal("QG0023", Assert.Single(first.GeneratorDiagnostics).Id);
        Assert.Equal(2, first.GeneratorDiagnostics[0].Location.GetLineSpan().StartLinePosition.Line);

        var tree = first.OutputCompilation.SyntaxTrees.First();
        var edited = first.OutputCompilation.RemoveSyntaxTrees(first.OutputCompilation.SyntaxTrees.Skip(1))
            .ReplaceSyntaxTree(tree, tree.WithChangedText(tree.GetText().WithChanges(new Microsoft.CodeAnalysis.Text.TextChange(new Microsoft.CodeAnalysis.Text.TextSpan(0, 0), "// one\n// two\n"))));
        var second = GeneratorHarness.Run(Array.Empty<string>(), Array.Empty<AdditionalText>(), first.Driver, edited);

        Assert.Equal(IncrementalStepRunReason.Modified, Assert.Single(GeneratorCaching.Reasons(second, Steps.Requests)));
        GeneratorCaching.AssertCached(second, Steps.ModelTexts);
        GeneratorCaching.AssertNotRun(second, Steps.Results);
        var moved = Assert.Single(second.GeneratorDiagnostics);
        Assert.Equal("QG0023", moved.Id);
        Assert.Equal(4, moved.Location.GetLineSpan().StartLinePosition.Line);
    }

    [Fact]
    public void Editing_above_a_compiling_model_class_keeps_its_sources()
    {
        var first = FirstRun(out var compilation);
        var tree = compilation.SyntaxTrees.Single(t => t.ToString().Contains("TinyNet", StringComparison.Ordinal));
        var edited = compilation.ReplaceSyntaxTree(tree, tree.WithChangedText(tree.GetText().WithChanges(new Microsoft.CodeAnalysis.Text.TextChange(new Microsoft.CodeAnalysis.Text.TextSpan(0, 0), "using System;\n"))));

        var second = GeneratorHarness.Run(Array.Empty<string>(), Array.Empty<AdditionalText>(), first.Driver, edited);

        GeneratorCaching.AssertCached(second, Steps.ModelTexts);
        GeneratorCaching.AssertNotRun(second, Steps.Results);
        Assert.Equal(first.Sources, second.Sources);
        Assert.Empty(second.AllDiagnostics);
    }

    [Fact]
    public void Adding_another_model_file_does_not_recompile_this_one()
    {
        var first = FirstRun(out var compilation);
        var other = ModelFiles.Transport(new OnnxModelBuilder().Input("x", 1, 4).Node("r", "Relu", new[] { "x" }, new[] { "y" }).Output("y").ToBytes(), "Models/other.onnx");
        var driver = first.Driver.AddAdditionalTexts(System.Collections.Immutable.ImmutableArray.Create<AdditionalText>(other));

        var second = GeneratorHarness.Run(Array.Empty<string>(), Array.Empty<AdditionalText>(), driver, compilation);

        GeneratorCaching.AssertNotRun(second, Steps.Results);
        Assert.Equal(first.Sources, second.Sources);
    }

    [Fact]
    public void Editing_an_unrelated_json_file_does_not_recompile_the_model()
    {
        var settings = new InMemoryAdditionalText("/project/appsettings.json", "{ \"a\": 1 }");
        var compilation = GeneratorHarness.CreateCompilation(new[] { ModelSource });
        var first = GeneratorHarness.Run(Array.Empty<string>(), new[] { Model, settings }, compilation: compilation);
        var driver = first.Driver.ReplaceAdditionalText(settings, new InMemoryAdditionalText("/project/appsettings.json", "{ \"a\": 2 }"));

        var second = GeneratorHarness.Run(Array.Empty<string>(), Array.Empty<AdditionalText>(), driver, compilation);

        GeneratorCaching.AssertNotRun(second, Steps.Results);
    }

    [Fact]
    public void Changing_the_calibration_file_recompiles_the_model()
    {
        string Calibrate(int seed) => QuantGen.Compiler.Calibration.Calibrator.Calibrate(SnapshotTests.TinyCnn(), ModelPath, new[] { OnnxModelBuilder.RandomFloats(36, seed) }).Write();
        var calibration = new InMemoryAdditionalText("/project/Models/tiny_cnn.calib.json", Calibrate(1));
        string source = ModelSource.Replace(", Precision = QuantGen.Precision.Float32", "", StringComparison.Ordinal);
        var compilation = GeneratorHarness.CreateCompilation(new[] { source });
        var first = GeneratorHarness.Run(Array.Empty<string>(), new[] { Model, calibration }, compilation: compilation);
        Assert.Empty(first.AllDiagnostics);
        var driver = first.Driver.ReplaceAdditionalText(calibration, new InMemoryAdditionalText(calibration.Path, Calibrate(2)));

        var second = GeneratorHarness.Run(Array.Empty<string>(), Array.Empty<AdditionalText>(), driver, compilation);

        Assert.Equal(IncrementalStepRunReason.Modified, Assert.Single(GeneratorCaching.Reasons(second, Steps.Results)));
        Assert.NotEqual(first.Sources["Tests.TinyNet.Kernels.g.cs"], second.Sources["Tests.TinyNet.Kernels.g.cs"]);
    }

    [Fact]
    public void Changing_the_model_file_recompiles_it()
    {
        var first = FirstRun(out var compilation);
        // Same graph, one bias changed: the text differs, so the model must be compiled again.
        var changedModel = ModelFiles.Transport(ChangedTinyCnn(), ModelPath);
        var driver = first.Driver.ReplaceAdditionalText(Model, changedModel);

        var second = GeneratorHarness.Run(Array.Empty<string>(), Array.Empty<AdditionalText>(), driver, compilation);

        Assert.Equal(IncrementalStepRunReason.Modified, Assert.Single(GeneratorCaching.Reasons(second, Steps.ModelTexts)));
        Assert.Equal(IncrementalStepRunReason.Modified, Assert.Single(GeneratorCaching.Reasons(second, Steps.Results)));
        GeneratorCaching.AssertCached(second, Steps.Requests);
        Assert.NotEqual(first.Sources["Tests.TinyNet.Weights.g.cs"], second.Sources["Tests.TinyNet.Weights.g.cs"]);
    }

    [Fact]
    public void Changing_the_attribute_recompiles_the_model()
    {
        var first = FirstRun(out var compilation);
        var tree = compilation.SyntaxTrees.Single(t => t.ToString().Contains("TinyNet", StringComparison.Ordinal));
        var edited = compilation.ReplaceSyntaxTree(tree, CSharpSyntaxTree.ParseText(ModelSource.Replace("TinyNet", "SmallNet", StringComparison.Ordinal), GeneratorHarness.ParseOptions, path: tree.FilePath));

        var second = GeneratorHarness.Run(Array.Empty<string>(), Array.Empty<AdditionalText>(), first.Driver, edited);

        Assert.Contains(IncrementalStepRunReason.Modified, GeneratorCaching.Reasons(second, Steps.Results));
        Assert.Contains("Tests.SmallNet.g.cs", second.Sources.Keys);
    }

    [Fact]
    public void Changing_Dimensions_recompiles_the_model_and_equal_Dimensions_are_cached()
    {
        const string tokenSource = """
            namespace Tests;

            [QuantGen.OnnxModel("Models/tokens.onnx", Precision = QuantGen.Precision.Float32, Dimensions = new[] { "sequence=16" })]
            public static partial class TokenNet;
            """;
        var tokens = ModelFiles.Transport(TokenInputTests.MeanPoolingClassifier(), "Models/tokens.onnx");
        // The string[] argument reaches the pipeline as an equatable array: an equal compilation is served from cache.
        GeneratorCaching.AssertSecondRunCached(new[] { tokenSource }, new[] { tokens }, AllSteps);

        var compilation = GeneratorHarness.CreateCompilation(new[] { tokenSource });
        var first = GeneratorHarness.Run(Array.Empty<string>(), new[] { tokens }, compilation: compilation);
        Assert.Contains("public const int Input_idsLength = 16;", first.Sources["Tests.TokenNet.g.cs"], StringComparison.Ordinal);
        var tree = compilation.SyntaxTrees.Single();
        var edited = compilation.ReplaceSyntaxTree(tree, CSharpSyntaxTree.ParseText(tokenSource.Replace("sequence=16", "sequence=32", StringComparison.Ordinal), GeneratorHarness.ParseOptions, path: tree.FilePath));

        var second = GeneratorHarness.Run(Array.Empty<string>(), Array.Empty<AdditionalText>(), first.Driver, edited);

        Assert.Contains(IncrementalStepRunReason.Modified, GeneratorCaching.Reasons(second, Steps.Results));
        Assert.Contains("public const int Input_idsLength = 32;", second.Sources["Tests.TokenNet.g.cs"], StringComparison.Ordinal);
    }

    [Fact]
    public void A_second_run_on_an_equal_compilation_is_served_from_cache()
    {
        var run = GeneratorCaching.AssertSecondRunCached(new[] { ModelSource, OtherSource }, new[] { Model }, AllSteps);
        Assert.Equal(3, run.Sources.Count);
    }

    [Fact]
    public void A_second_run_is_cached_for_a_model_with_diagnostics_too()
    {
        // Diagnostics are part of the cached result, so a broken model is not recompiled on every keystroke either.
        var run = GeneratorCaching.AssertSecondRunCached(new[] { ModelSource }, new[] { ModelFiles.Transport(new byte[] { 1, 2, 3 }, ModelPath) }, AllSteps);
        Assert.Equal("QG0004", Assert.Single(run.GeneratorDiagnostics).Id);
    }

    private static byte[] ChangedTinyCnn()
    {
        var bytes = SnapshotTests.TinyCnn();
        // fc.bias is { 0.5, 0, -0.5 }: find 0.5f's little-endian bytes followed by 0f and change 0.5 to 0.75.
        var pattern = new byte[] { 0, 0, 0, 0x3F, 0, 0, 0, 0 };
        int at = bytes.AsSpan().IndexOf(pattern);
        Assert.True(at >= 0);
        bytes[at + 2] = 0x40; // 0x3F400000 = 0.75f
        return bytes;
    }
}
