using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Testing.OnnxModelBuilder;

namespace QuantGen.Generator.Tests;

// Diagnostics about [OnnxModel] and the files it names: where the model is, the class, its options.
public partial class DiagnosticTests
{
    [Fact]
    public void QG0002_model_path_not_among_AdditionalFiles_lists_what_is_there()
    {
        var bytes = Valid().ToBytes();
        var run = GeneratorHarness.Run(
            new[] { Source("Models/missing.onnx") },
            new[] { ModelFiles.Transport(bytes, "Models/a.onnx"), ModelFiles.Transport(bytes, "Other/b.onnx") });
        var d = AttributeDiagnostic(run, "QG0002");
        AssertMessage(d, "'Models/missing.onnx'", "'Tests.Model'", "Models/a.onnx, Other/b.onnx", "<AdditionalFiles Include=");
    }

    [Fact]
    public void QG0002_with_no_model_files_at_all()
    {
        var run = GeneratorHarness.Run(new[] { Source(ModelPath) }, Array.Empty<AdditionalText>());
        AssertMessage(AttributeDiagnostic(run, "QG0002"), "'Models/model.onnx'", "models found: none");
    }

    [Theory]
    [InlineData("[QuantGen.OnnxModel(\"Models/model.onnx\")] public partial class Model;")]
    [InlineData("[QuantGen.OnnxModel(\"Models/model.onnx\")] public static class Model { }")]
    [InlineData("public class Outer { [QuantGen.OnnxModel(\"Models/model.onnx\")] public static partial class Model; }")]
    public void QG0003_class_must_be_static_partial(string declaration)
    {
        string source = "namespace Tests;\n\n" + declaration + "\n";
        var run = GeneratorHarness.Run(new[] { source }, new[] { ModelFiles.Transport(Valid().ToBytes(), ModelPath) });
        var d = AttributeDiagnostic(run, "QG0003", source);
        AssertMessage(d, "'Model'", "static partial", "Declare it as 'public static partial class Model;'");
        Assert.DoesNotContain("{0}", d.GetMessage(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Predict")]
    [InlineData("Weights")]
    [InlineData("Kernels")]
    public void QG0026_class_named_like_a_generated_member(string name)
    {
        string source = $"namespace Tests;\n\n[QuantGen.OnnxModel(\"{ModelPath}\", Precision = QuantGen.Precision.Float32)]\npublic static partial class {name};\n";
        var run = GeneratorHarness.Run(new[] { source }, new[] { ModelFiles.Transport(Valid().ToBytes(), ModelPath) });
        var d = AttributeDiagnostic(run, "QG0026", source);
        AssertMessage(d, $"'{name}'", "Rename the class");
    }

    [Fact]
    public void QG0029_weights_resource_compiled_with_other_options_than_the_attribute()
    {
        // The build task compiled the weights in INT8 (no QuantGenPrecision metadata); the attribute asks for Float32.
        byte[] model = SnapshotTests.TinyCnn(); // has Conv and Gemm weights, which INT8 changes
        var blob = QuantGen.Compiler.ModelCompiler.Compile(model, new QuantGen.Compiler.CompilerOptions { ModelPath = ModelPath, WeightStorage = QuantGen.Compiler.WeightStorage.Resource }).Weights!;
        var manifest = new InMemoryAdditionalText($"/project/obj/quantgen/{ModelPath}.qgw", QuantGen.Compiler.Transport.WeightsManifest.Write(new(ModelPath, blob.ResourceName, blob.Bytes.Length, blob.Sha256Hex, "Int8")));
        string source = $"namespace Tests;\n\n[QuantGen.OnnxModel(\"{ModelPath}\", Precision = QuantGen.Precision.Float32)]\npublic static partial class Model;\n";
        var run = GeneratorHarness.Run(new[] { source }, new[] { ModelFiles.Transport(model, ModelPath), manifest });
        var d = AttributeDiagnostic(run, "QG0029", source);
        AssertMessage(d, blob.Sha256Hex, "task: Int8; attribute: Float32", "QuantGenPrecision=\"Float32\"");
    }

    [Theory]
    [InlineData("sequence", "not of the form name=size")]
    [InlineData("sequence=16=2", "not of the form name=size")]
    [InlineData("=16", "the dimension name is empty")]
    [InlineData("sequence=", "the size '' is not a whole number")]
    [InlineData("sequence=sixteen", "the size 'sixteen' is not a whole number")]
    [InlineData("sequence=1.5", "the size '1.5' is not a whole number")]
    [InlineData("sequence=0", "at least 1, not 0")]
    [InlineData("sequence=-128", "at least 1, not -128")]
    [InlineData("sequence=4294967296", "more than 2147483647")]
    public void QG0027_invalid_Dimensions_entry_points_at_the_attribute(string entry, string reason)
    {
        var run = GeneratorHarness.RunModel(TokenInputTests.MeanPoolingClassifier(), attributeArguments: Float32 + $", Dimensions = new[] {{ \"{entry}\" }}", modelPath: ModelPath);
        var d = AttributeDiagnostic(run, "QG0027");
        AssertMessage(d, "\"" + entry + "\"", ModelPath, reason, "name=size");
    }

    [Fact]
    public void QG0027_a_dimension_given_twice()
    {
        var run = GeneratorHarness.RunModel(TokenInputTests.MeanPoolingClassifier(), attributeArguments: Float32 + ", Dimensions = new[] { \"sequence=16\", \"sequence=32\" }", modelPath: ModelPath);
        var d = AttributeDiagnostic(run, "QG0027");
        AssertMessage(d, "\"sequence=32\"", "'sequence' is given more than once");
    }

    [Fact]
    public void QG0028_unknown_dimension_name_lists_the_model_dimensions_and_suggests_the_closest()
    {
        var run = GeneratorHarness.RunModel(TokenInputTests.MeanPoolingClassifier(), attributeArguments: Float32 + ", Dimensions = new[] { \"sequense=16\" }", modelPath: ModelPath);
        var d = AttributeDiagnostic(run, "QG0028");
        AssertMessage(d, "'sequense'", ModelPath, "'batch', 'sequence'", "did you mean 'sequence'?");
    }

    [Fact]
    public void QG0028_Dimensions_for_a_model_without_named_dimensions()
    {
        var run = GeneratorHarness.RunModel(Valid().ToBytes(), attributeArguments: Float32 + ", Dimensions = new[] { \"sequence=128\" }", modelPath: ModelPath);
        var d = AttributeDiagnostic(run, "QG0028");
        AssertMessage(d, "'sequence'", "named dimensions: none");
    }

    [Theory]
    [InlineData("\"\"")]
    [InlineData("\"   \"")]
    [InlineData("null")]
    public void QG0014_empty_path(string argument)
    {
        string source = $$"""
            namespace Tests;

            [QuantGen.OnnxModel({{argument}}, Precision = QuantGen.Precision.Float32)]
            public static partial class Model;
            """;
        var run = GeneratorHarness.Run(new[] { source }, new[] { ModelFiles.Transport(Valid().ToBytes(), ModelPath) });
        var d = AttributeDiagnostic(run, "QG0014", source);
        AssertMessage(d, "'Tests.Model'", "path is empty");
    }

    [Fact]
    public void QG0015_ambiguous_file_name_match()
    {
        var bytes = Valid().ToBytes();
        var run = GeneratorHarness.Run(
            new[] { Source("model.onnx", Float32) },
            new[] { ModelFiles.Transport(bytes, "A/model.onnx"), ModelFiles.Transport(bytes, "B/model.onnx") });
        var d = AttributeDiagnostic(run, "QG0015");
        AssertMessage(d, "'model.onnx'", "'Tests.Model'", "A/model.onnx", "B/model.onnx");
    }

    [Fact]
    public void QG0015_a_unique_file_name_match_is_accepted()
    {
        var bytes = Valid().ToBytes();
        var run = GeneratorHarness.Run(
            new[] { Source("model.onnx", Float32) },
            new[] { ModelFiles.Transport(bytes, "A/model.onnx"), ModelFiles.Transport(bytes, "B/other.onnx") });
        Assert.Empty(run.AllDiagnostics);
    }
}
