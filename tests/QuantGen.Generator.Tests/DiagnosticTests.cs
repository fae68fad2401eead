using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Testing.OnnxModelBuilder;

namespace QuantGen.Generator.Tests;

/// <summary>
/// Every QGxxxx the generator reports for a broken model or a wrong [OnnxModel], checked for id, severity, what the
/// message names and where it points: the model file for problems inside the model, the attribute for problems
/// the user fixes in source. This file: problems inside the model; DiagnosticTests.Attribute.cs: the attribute and the
/// files it names; DiagnosticTests.Calibration.cs: INT8 and calibration files.
/// </summary>
public partial class DiagnosticTests
{
    private const string ModelPath = "Models/model.onnx";
    private const string ModelFullPath = "/project/Models/model.onnx";
    private const string Float32 = ", Precision = QuantGen.Precision.Float32";

    /// <summary>A valid model: y = relu(x + b).</summary>
    private static OnnxModelBuilder Valid() => new OnnxModelBuilder()
        .Input("x", 1, 4)
        .Initializer("b", new long[] { 4 }, new float[] { 1, 2, 3, 4 })
        .Node("add0", "Add", new[] { "x", "b" }, new[] { "s" })
        .Node("relu0", "Relu", new[] { "s" }, new[] { "y" })
        .Output("y", 1, 4);

    [Fact]
    public void A_valid_model_reports_nothing()
    {
        var run = GeneratorHarness.RunModel(Valid().ToBytes());
        Assert.Empty(run.AllDiagnostics);
        Assert.NotEmpty(run.Sources);
    }

    [Fact]
    public void QG0005_every_unsupported_operator_is_reported_in_one_run()
    {
        var model = new OnnxModelBuilder()
            .Input("x", 1, 4)
            .Node("nms", "NonMaxSuppression", new[] { "x" }, new[] { "a" })
            .Node("relu0", "Relu", new[] { "a" }, new[] { "b" })
            .Node("tfidf", "TfIdfVectorizer", new[] { "b" }, new[] { "c" })
            .Node("custom", "FancyOp", new[] { "c" }, new[] { "y" }).InDomain("com.example")
            .Opset("com.example", 1)
            .Output("y", 1, 4);

        var diagnostics = ModelDiagnostics(model.ToBytes(), "QG0005", count: 3);

        AssertMessage(diagnostics[0], "'nms'", "NonMaxSuppression", "ai.onnx", "opset 13", "docs/ops.md");
        AssertMessage(diagnostics[1], "'tfidf'", "TfIdfVectorizer");
        AssertMessage(diagnostics[2], "'custom'", "FancyOp", "com.example", "only the standard ai.onnx domain");
    }

    [Fact]
    public void QG0004_truncated_protobuf()
    {
        var bytes = Valid().ToBytes();
        var d = ModelDiagnostics(bytes.AsSpan(0, bytes.Length - 7).ToArray(), "QG0004").Single();
        AssertMessage(d, ModelPath, "not a valid ONNX model", "damaged");
    }

    [Fact]
    public void QG0004_bytes_that_are_not_protobuf()
    {
        var text = System.Text.Encoding.ASCII.GetBytes("this is a text file, not an ONNX model\n");
        var d = ModelDiagnostics(text, "QG0004").Single();
        AssertMessage(d, ModelPath, "not a valid ONNX model");
    }

    [Fact]
    public void QG0004_a_model_without_a_graph()
    {
        var builder = Valid();
        builder.Proto.Graph = null;
        var d = ModelDiagnostics(builder.ToBytes(), "QG0004").Single();
        AssertMessage(d, ModelPath, "no graph");
    }

    [Fact]
    public void QG0006_conv_group_that_does_not_divide_the_channels()
    {
        var model = new OnnxModelBuilder()
            .Input("x", 1, 3, 6, 6)
            .Initializer("w", new long[] { 4, 1, 3, 3 }, RandomFloats(36, 1))
            .Node("conv0", "Conv", new[] { "x", "w" }, new[] { "y" }, OnnxAttribute.Int("group", 2), OnnxAttribute.Ints("kernel_shape", 3, 3))
            .Output("y");
        var d = ModelDiagnostics(model.ToBytes(), "QG0006").Single();
        AssertMessage(d, "'conv0'", "Conv", "group 2", "3 input", "4 output");
    }

    [Fact]
    public void QG0006_attribute_of_the_wrong_kind()
    {
        var model = new OnnxModelBuilder()
            .Input("x", 1, 4)
            .Node("flat", "Flatten", new[] { "x" }, new[] { "y" }, OnnxAttribute.String("axis", "one"))
            .Output("y");
        var d = ModelDiagnostics(model.ToBytes(), "QG0006").Single();
        AssertMessage(d, "'flat'", "Flatten", "'axis'");
    }

    [Fact]
    public void QG0007_add_of_shapes_that_do_not_broadcast()
    {
        var model = new OnnxModelBuilder()
            .Input("x", 1, 3)
            .Initializer("b", new long[] { 4 }, new float[] { 1, 2, 3, 4 })
            .Node("add0", "Add", new[] { "x", "b" }, new[] { "y" })
            .Output("y");
        var d = ModelDiagnostics(model.ToBytes(), "QG0007").Single();
        AssertMessage(d, "'add0'", "Add", "1x3 and 4", "do not broadcast");
    }

    [Fact]
    public void QG0008_free_dimension_that_is_not_the_batch()
    {
        var model = new OnnxModelBuilder()
            .TypedInput("x", ElementType.Float, "batch", 3, "height", 4)
            .Node("relu0", "Relu", new[] { "x" }, new[] { "y" })
            .Output("y");
        var d = ModelDiagnostics(model.ToBytes(), "QG0008").Single();
        AssertMessage(d, "'x'", "'height'", "axis 2");
    }

    [Fact]
    public void QG0008_a_token_model_without_Dimensions_names_the_option_to_set()
    {
        var d = ModelDiagnostics(TokenInputTests.MeanPoolingClassifier(), "QG0008").Single();
        AssertMessage(d, "'input_ids'", "'sequence'", "axis 1", "Dimensions = new[] { \"sequence=N\" }");
    }

    [Fact]
    public void QG0008_a_free_leading_dimension_is_the_batch_and_compiles()
    {
        var model = new OnnxModelBuilder()
            .TypedInput("x", ElementType.Float, "batch", 4)
            .Node("relu0", "Relu", new[] { "x" }, new[] { "y" })
            .Output("y");
        Assert.Empty(GeneratorHarness.RunModel(model.ToBytes()).AllDiagnostics);
    }

    [Theory]
    [InlineData("../weights.bin", "leaves the model's folder")]
    [InlineData("/etc/weights.bin", "leaves the model's folder")]
    [InlineData("weights.bin", "not found beside the model")]
    public void QG0009_external_data_outside_the_model_folder_or_missing(string location, string reason)
    {
        var model = new OnnxModelBuilder()
            .Input("x", 1, 4)
            .ExternalInitializer("b", new long[] { 4 }, location)
            .Node("add0", "Add", new[] { "x", "b" }, new[] { "y" })
            .Output("y");
        var d = ModelDiagnostics(model.ToBytes(), "QG0009").Single();
        AssertMessage(d, "'b'", "'" + location + "'", reason);
    }

    [Fact]
    public void QG0009_external_data_beside_the_model_is_read()
    {
        var model = new OnnxModelBuilder()
            .Input("x", 1, 4)
            .ExternalInitializer("b", new long[] { 4 }, "weights.bin", offset: 4, length: 16)
            .Node("add0", "Add", new[] { "x", "b" }, new[] { "y" })
            .Output("y");
        var weights = new byte[24];
        var external = new List<KeyValuePair<string, byte[]>> { new("weights.bin", weights) };
        var run = GeneratorHarness.Run(new[] { Source(ModelPath, Float32) }, new[] { ModelFiles.Transport(model.ToBytes(), ModelPath, external) });
        Assert.Empty(run.AllDiagnostics);
    }

    [Fact]
    public void QG0011_double_input()
    {
        var model = new OnnxModelBuilder()
            .TypedInput("x", ElementType.Double, 1, 4)
            .Node("relu0", "Relu", new[] { "x" }, new[] { "y" })
            .Output("y");
        var d = ModelDiagnostics(model.ToBytes(), "QG0011").Single();
        AssertMessage(d, "'x'", "DOUBLE");
    }

    [Fact]
    public void QG0011_float16_initializer()
    {
        var model = Valid().RawInitializer("half", ElementType.Float16, new long[] { 2 }, new byte[4]);
        var d = ModelDiagnostics(model.ToBytes(), "QG0011").Single();
        AssertMessage(d, "'half'", "FLOAT16");
    }

    [Theory]
    [InlineData(6, 8, "ai.onnx opset 6")]
    [InlineData(22, 8, "ai.onnx opset 22")]
    [InlineData(13, 2, "IR version 2")]
    [InlineData(13, 11, "IR version 11")]
    public void QG0012_opset_or_ir_version_out_of_range(long opset, long irVersion, string named)
    {
        var model = new OnnxModelBuilder(opset, irVersion)
            .Input("x", 1, 4)
            .Node("relu0", "Relu", new[] { "x" }, new[] { "y" })
            .Output("y");
        var d = ModelDiagnostics(model.ToBytes(), "QG0012").Single();
        AssertMessage(d, ModelPath, named, "opsets 7 to 21");
    }

    [Theory]
    [InlineData(7)]
    [InlineData(21)]
    public void QG0012_opset_bounds_are_accepted(long opset)
    {
        var model = new OnnxModelBuilder(opset)
            .Input("x", 1, 4)
            .Node("relu0", "Relu", new[] { "x" }, new[] { "y" })
            .Output("y");
        Assert.Empty(GeneratorHarness.RunModel(model.ToBytes()).AllDiagnostics);
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("bad base64")]
    [InlineData("wrong length")]
    [InlineData("bad magic")]
    public void QG0013_corrupt_transport_text(string damage)
    {
        string text = ModelFiles.Transport(Valid().ToBytes(), ModelPath).GetText().ToString();
        string corrupt = damage switch
        {
            "truncated" => text.Substring(0, text.Length / 2),
            "bad base64" => text.Replace("#end", "!!not base64!!\n#end", StringComparison.Ordinal),
            "wrong length" => text.Replace("#file ", "#file 9", StringComparison.Ordinal),
            _ => "#quantgen-model 99" + text.Substring(text.IndexOf('\n', StringComparison.Ordinal)),
        };
        var run = GeneratorHarness.Run(
            new[] { Source(ModelPath, Float32) },
            new[] { new InMemoryAdditionalText("/project/obj/quantgen/Models/model.onnx.qgm", corrupt) });
        var d = AttributeDiagnostic(run, "QG0013");
        AssertMessage(d, "model.onnx.qgm", "unreadable", "obj/");
    }

    [Fact]
    public void QG0016_node_reads_a_value_nothing_produces()
    {
        var model = new OnnxModelBuilder()
            .Input("x", 1, 4)
            .Node("add0", "Add", new[] { "x", "ghost" }, new[] { "y" })
            .Output("y");
        var d = ModelDiagnostics(model.ToBytes(), "QG0016").Single();
        AssertMessage(d, ModelPath, "'add0'", "Add", "'ghost'");
    }

    [Fact]
    public void QG0016_cycle()
    {
        var model = new OnnxModelBuilder()
            .Input("x", 1, 4)
            .Node("a", "Add", new[] { "x", "d" }, new[] { "c" })
            .Node("b", "Relu", new[] { "c" }, new[] { "d" })
            .Output("d");
        var d = ModelDiagnostics(model.ToBytes(), "QG0016").Single();
        AssertMessage(d, ModelPath, "cycle", "'a'");
    }

    [Fact]
    public void QG0016_value_produced_twice()
    {
        var model = new OnnxModelBuilder()
            .Input("x", 1, 4)
            .Node("r1", "Relu", new[] { "x" }, new[] { "y" })
            .Node("r2", "Relu", new[] { "x" }, new[] { "y" })
            .Output("y");
        var d = ModelDiagnostics(model.ToBytes(), "QG0016").Single();
        AssertMessage(d, "'y'", "produced twice", "'r2'");
    }

    [Fact]
    public void QG0016_graph_output_never_produced()
    {
        var model = Valid().Output("nowhere");
        var d = ModelDiagnostics(model.ToBytes(), "QG0016").Single();
        AssertMessage(d, "'nowhere'", "never produced");
    }

    [Fact]
    public void QG0017_input_with_more_than_2_to_the_31_elements()
    {
        var model = new OnnxModelBuilder()
            .Input("x", 1, 1, 28, int.MaxValue)
            .Node("relu0", "Relu", new[] { "x" }, new[] { "y" })
            .Output("y");
        var d = ModelDiagnostics(model.ToBytes(), "QG0017").Single();
        AssertMessage(d, "'x'", "1x1x28x2147483647", "2^31 - 1");
    }

    [Fact]
    public void QG0017_initializer_with_more_than_2_to_the_31_elements()
    {
        var model = Valid().RawInitializer("big", ElementType.Float, new long[] { 65536, 65536 }, new byte[4]);
        var d = ModelDiagnostics(model.ToBytes(), "QG0017").Single();
        AssertMessage(d, "'big'", "65536x65536");
    }

    /// <summary>QG0010 (INT8 unavailable) is retired: INT8 compiles, dynamically with QG0021 when uncalibrated.</summary>
    private static readonly string[] NotReportedByTheGeneratorYet = { "QG0010" };

    [Fact]
    public void Every_diagnostic_the_code_reports_is_covered_by_a_test_here()
    {
        // Entries no code uses yet (catalogued ahead of their feature) need no test until something reports them.
        string code = string.Join("\n", new[] { "src", "generator" }
            .SelectMany(dir => System.IO.Directory.EnumerateFiles(System.IO.Path.Combine(ModelFiles.RepoRoot, dir), "*.cs", System.IO.SearchOption.AllDirectories))
            .Where(f => System.IO.Path.GetFileName(f) != "DiagnosticCatalog.cs" && !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal))
            .Select(System.IO.File.ReadAllText));
        var reported = typeof(DiagnosticCatalog).GetFields()
            .Where(f => f.FieldType == typeof(DiagnosticDescriptorInfo) && code.Contains("DiagnosticCatalog." + f.Name, StringComparison.Ordinal))
            .Select(f => ((DiagnosticDescriptorInfo)f.GetValue(null)!).Id)
            .ToList();
        Assert.Contains("QG0005", reported);

        var covered = typeof(DiagnosticTests).GetMethods()
            .Select(m => m.Name)
            .Where(n => n.StartsWith("QG", StringComparison.Ordinal))
            .Select(n => n.Substring(0, 6))
            .ToHashSet();
        var missing = reported.Where(id => id != "QG0001" && !NotReportedByTheGeneratorYet.Contains(id) && !covered.Contains(id)).OrderBy(id => id, StringComparer.Ordinal).ToList();
        Assert.True(missing.Count == 0, "No test in DiagnosticTests for: " + string.Join(", ", missing));
    }

    // Helpers

    private static string Source(string path, string attributeArguments = "") => $$"""
        namespace Tests;

        [QuantGen.OnnxModel("{{path}}"{{attributeArguments}})]
        public static partial class Model;
        """;

    /// <summary>Runs the model (Float32, so INT8's QG0021 warning stays out of the way) and returns its diagnostics, all <paramref name="id"/>, located at the model file.</summary>
    private static List<Diagnostic> ModelDiagnostics(byte[] model, string id, int count = 1)
    {
        var run = GeneratorHarness.RunModel(model, attributeArguments: Float32, modelPath: ModelPath);
        var diagnostics = run.GeneratorDiagnostics.ToList();
        Assert.True(diagnostics.Count == count && diagnostics.All(d => d.Id == id),
            $"expected {count} x {id}, got:\n" + string.Join("\n", diagnostics));
        Assert.Empty(run.Sources);
        foreach (var d in diagnostics)
        {
            AssertSeverity(d);
            Assert.Equal(ModelFullPath, d.Location.GetLineSpan().Path);
        }
        return diagnostics;
    }

    /// <summary>The single diagnostic <paramref name="id"/> of the run, located at the [OnnxModel] attribute of <paramref name="source"/>.</summary>
    private static Diagnostic AttributeDiagnostic(GeneratorRun run, string id, string? source = null)
    {
        var d = Assert.Single(run.GeneratorDiagnostics);
        Assert.True(d.Id == id, $"expected {id}, got {d}");
        AssertSeverity(d);
        Assert.Empty(run.Sources);
        var span = d.Location.GetLineSpan();
        Assert.Equal("/project/Source0.cs", span.Path);
        string text = source ?? run.OutputCompilation.SyntaxTrees.First().ToString();
        string located = text.Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length);
        Assert.StartsWith("QuantGen.OnnxModel(", located, StringComparison.Ordinal);
        Assert.Equal(text.Substring(0, d.Location.SourceSpan.Start).Count(c => c == '\n'), span.StartLinePosition.Line);
        return d;
    }

    private static void AssertSeverity(Diagnostic d)
    {
        var expected = DiagnosticCatalog.All.Single(c => c.Id == d.Id).Severity;
        Assert.Equal(expected switch
        {
            ModelDiagnosticSeverity.Error => DiagnosticSeverity.Error,
            ModelDiagnosticSeverity.Warning => DiagnosticSeverity.Warning,
            _ => DiagnosticSeverity.Info,
        }, d.Severity);
    }

    private static void AssertMessage(Diagnostic d, params string[] fragments)
    {
        string message = d.GetMessage(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var fragment in fragments)
            Assert.True(message.Contains(fragment, StringComparison.Ordinal), $"{d.Id}: the message does not name \"{fragment}\":\n{message}");
    }
}
