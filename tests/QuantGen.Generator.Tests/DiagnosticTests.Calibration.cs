using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Testing.OnnxModelBuilder;

namespace QuantGen.Generator.Tests;

// Diagnostics of INT8 builds and their calibration files.
public partial class DiagnosticTests
{
    // INT8 and calibration files

    private const string CalibrationFullPath = "/project/Models/model.calib.json";

    private static string Calibrate(byte[] model) =>
        QuantGen.Compiler.Calibration.Calibrator.Calibrate(model, ModelPath, new[] { RandomFloats(36, 1), RandomFloats(36, 2) }).Write();

    private static GeneratorRun RunInt8(byte[] model, string attributeArguments = "", params AdditionalText[] jsonFiles) =>
        GeneratorHarness.Run(new[] { Source(ModelPath, attributeArguments) }, new AdditionalText[] { ModelFiles.Transport(model, ModelPath) }.Concat(jsonFiles));

    /// <summary>The run's one diagnostic <paramref name="id"/>, with its catalogued severity, at the start of <paramref name="file"/>.</summary>
    private static Diagnostic InFile(GeneratorRun run, string id, string file)
    {
        var d = run.GeneratorDiagnostics.SingleOrDefault(x => x.Id == id);
        Assert.True(d != null, $"expected {id}, got:\n" + string.Join("\n", run.GeneratorDiagnostics));
        AssertSeverity(d!);
        Assert.Equal(file, d!.Location.GetLineSpan().Path);
        return d;
    }

    [Fact]
    public void QG0021_int8_without_calibration_warns_and_compiles_with_dynamic_quantization()
    {
        var run = RunInt8(SnapshotTests.TinyCnn());
        var d = InFile(run, "QG0021", ModelFullPath);
        AssertMessage(d, "'Models/model.onnx'", "'Models/model.calib.json'", "quantgen calibrate Models/model.onnx", "Precision.Float32");
        Assert.Equal(new[] { "QG0021" }, run.AllDiagnostics.Select(x => x.Id)); // and the generated code compiles
        Assert.NotEmpty(run.Sources);
    }

    [Fact]
    public void QG0022_nodes_kept_in_float_are_listed()
    {
        var run = RunInt8(SnapshotTests.TinyCnn(), ", KeepFloat = new[] { \"/conv/Conv\" }");
        var d = InFile(run, "QG0022", ModelFullPath);
        AssertMessage(d, "1 node(s)", "/conv/Conv (Conv: listed in KeepFloat)");
        Assert.NotEmpty(run.Sources);
    }

    [Fact]
    public void QG0023_unknown_KeepFloat_node_points_at_the_attribute_and_suggests_names()
    {
        var run = RunInt8(SnapshotTests.TinyCnn(), ", KeepFloat = new[] { \"/conv/Con\" }");
        var d = AttributeDiagnostic(run, "QG0023");
        AssertMessage(d, "'/conv/Con'", "'Models/model.onnx'", "did you mean '/conv/Conv'?");
    }

    [Fact]
    public void QG0024_named_calibration_file_not_among_AdditionalFiles()
    {
        var run = RunInt8(SnapshotTests.TinyCnn(), ", Calibration = \"Models/tuned.calib.json\"",
            new InMemoryAdditionalText(CalibrationFullPath, Calibrate(SnapshotTests.TinyCnn())));
        var d = AttributeDiagnostic(run, "QG0024");
        AssertMessage(d, "'Models/tuned.calib.json'", "'Tests.Model'", "<AdditionalFiles Include=\"Models/tuned.calib.json\" />");
    }

    [Fact]
    public void QG0025_ambiguous_calibration_path()
    {
        string json = Calibrate(SnapshotTests.TinyCnn());
        var run = RunInt8(SnapshotTests.TinyCnn(), ", Calibration = \"tuned.calib.json\"",
            new InMemoryAdditionalText("/project/A/tuned.calib.json", json), new InMemoryAdditionalText("/project/B/tuned.calib.json", json));
        var d = AttributeDiagnostic(run, "QG0025");
        AssertMessage(d, "'tuned.calib.json'", "'Tests.Model'", "/project/A/tuned.calib.json", "/project/B/tuned.calib.json");
    }

    [Fact]
    public void Calibration_file_beside_the_model_is_used_without_diagnostics()
    {
        var run = RunInt8(SnapshotTests.TinyCnn(), "", new InMemoryAdditionalText(CalibrationFullPath, Calibrate(SnapshotTests.TinyCnn())));
        Assert.Empty(run.AllDiagnostics);
        Assert.Contains("static, calibrated", run.Sources["Tests.Model.g.cs"], StringComparison.Ordinal);
    }

    [Fact]
    public void QG0018_calibration_file_for_another_model_is_ignored_with_a_warning_at_the_file()
    {
        var other = new OnnxModelBuilder(graphName: "other").Input("image", 1, 1, 6, 6).Node("r", "Relu", new[] { "image" }, new[] { "logits" }).Output("logits").ToBytes();
        var run = RunInt8(SnapshotTests.TinyCnn(), "", new InMemoryAdditionalText(CalibrationFullPath, Calibrate(other)));
        var d = InFile(run, "QG0018", CalibrationFullPath);
        string modelHash = QuantGen.Compiler.Calibration.ModelHash.Sha256Hex(SnapshotTests.TinyCnn());
        AssertMessage(d, "'Models/model.calib.json'", "'Models/model.onnx'", modelHash.Substring(0, 12), "quantgen calibrate Models/model.onnx");
        Assert.NotEmpty(run.Sources);
    }

    [Fact]
    public void QG0019_unreadable_calibration_file_is_an_error_at_the_file()
    {
        var run = RunInt8(SnapshotTests.TinyCnn(), "", new InMemoryAdditionalText(CalibrationFullPath, "{\n  \"format\": \"quantgen-calibration\",\n  oops\n}"));
        var d = InFile(run, "QG0019", CalibrationFullPath);
        AssertMessage(d, "'Models/model.calib.json'", "'Models/model.onnx'", "line 3");
        Assert.Empty(run.Sources);
    }

    [Fact]
    public void QG0020_calibration_file_that_lacks_tensors_warns_at_the_file()
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(Calibrate(SnapshotTests.TinyCnn()))!;
        var tensors = json["tensors"]!.AsObject();
        tensors.Remove("relu_out");
        tensors.Remove("pool_out");
        var run = RunInt8(SnapshotTests.TinyCnn(), "", new InMemoryAdditionalText(CalibrationFullPath, json.ToJsonString()));
        var d = InFile(run, "QG0020", CalibrationFullPath);
        AssertMessage(d, "'Models/model.calib.json'", "quantgen calibrate Models/model.onnx");
        Assert.NotEmpty(run.Sources);
    }
}
