using System.Linq;
using QuantGen.Compiler.Calibration;
using QuantGen.Compiler.Diagnostics;
using Xunit;

namespace QuantGen.Compiler.Tests.Calibration;

public class CalibrationDiagnosticsTests
{
    private const string FileSha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private const string ModelSha = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

    [Fact]
    public void A_file_for_another_model_names_both_hashes_and_the_command_to_run()
    {
        var d = CalibrationDiagnostics.ForAnotherModel("Models/fashion.calib.json", FileSha, "Models/fashion.onnx", ModelSha);
        Assert.Equal(("QG0018", ModelDiagnosticSeverity.Warning), (d.Id, d.Severity));
        Assert.Contains("computed for another model", d.Message);
        Assert.Contains("0123456789ab...", d.Message);
        Assert.Contains("fedcba987654...", d.Message);
        Assert.DoesNotContain("0123456789abc", d.Message);
        Assert.Contains("ignores it and quantizes activations dynamically", d.Message);
        Assert.Contains("quantgen calibrate Models/fashion.onnx --data X.npy --output Models/fashion.calib.json", d.Message);
    }

    [Fact]
    public void An_unreadable_file_gives_the_position_of_the_problem()
    {
        Assert.False(CalibrationFile.TryRead("{\n  \"format\": \"quantgen-calibration\",\n  \"version\": 1,,\n}", out _, out var error));
        var d = CalibrationDiagnostics.Unreadable("Models/m.calib.json", "Models/m.onnx", error!);
        Assert.Equal(("QG0019", ModelDiagnosticSeverity.Error), (d.Id, d.Severity));
        Assert.Contains("'Models/m.calib.json' for 'Models/m.onnx' cannot be read: line 3, column 16: invalid JSON: expected a member name", d.Message);
        Assert.Contains("quantgen calibrate Models/m.onnx --data X.npy", d.Message);
    }

    [Fact]
    public void Missing_statistics_list_at_most_five_names()
    {
        var names = Enumerable.Range(1, 8).Select(i => "t" + i).ToList();
        var d = CalibrationDiagnostics.MissingStatistics("m.calib.json", "m.onnx", names);
        Assert.Equal(("QG0020", ModelDiagnosticSeverity.Warning), (d.Id, d.Severity));
        Assert.Contains("lacks statistics for the tensors of 8 node(s), which stay in float: 't1', 't2', 't3', 't4', 't5' and 3 more.", d.Message);
        Assert.DoesNotContain("'t6'", d.Message);

        var two = CalibrationDiagnostics.MissingStatistics("m.calib.json", "m.onnx", new[] { "a", "b" });
        Assert.Contains("of 2 node(s), which stay in float: 'a', 'b'.", two.Message);
    }

    [Fact]
    public void MissingTensors_keeps_the_order_asked_for()
    {
        var file = CalibrationFileTests.Sample();
        Assert.Equal(new[] { "z", "a" }, CalibrationDiagnostics.MissingTensors(file, new[] { "z", "x", "a", "y" }));
    }

    [Fact]
    public void The_catalogue_ids_continue_in_sequence()
    {
        var ids = DiagnosticCatalog.All.Select(d => d.Id).ToList();
        Assert.Equal(Enumerable.Range(1, ids.Count).Select(i => $"QG{i:D4}"), ids);
        Assert.Contains(DiagnosticCatalog.CalibrationForAnotherModel, DiagnosticCatalog.All);
        Assert.Contains(DiagnosticCatalog.UnreadableCalibration, DiagnosticCatalog.All);
        Assert.Contains(DiagnosticCatalog.MissingCalibrationStatistics, DiagnosticCatalog.All);
    }
}
