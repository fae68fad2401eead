using System;
using System.IO;
using System.Linq;
using QuantGen.Cli.Commands;
using QuantGen.Compiler;
using QuantGen.Compiler.Calibration;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Cli.Tests.Commands;

/// <summary><c>quantgen export</c>: its defaults, and one clear line and a distinct exit code for each bad input.</summary>
public sealed class ExportCommandTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static string CalibrationPath => Path.Combine(AppContext.BaseDirectory, "Models", "fashion_cnn.calib.json");

    /// <summary>The sample CNN and its calibration file in the temporary folder.</summary>
    private string CopyModelWithCalibration()
    {
        string model = _folder.CopyModel();
        File.Copy(CalibrationPath, _folder.File("fashion_cnn.calib.json"));
        return model;
    }

    private static string OneLine(CliResult result)
    {
        string[] lines = result.Error.TrimEnd('\n').Split('\n');
        return lines[0];
    }

    [Fact]
    public void By_default_it_reads_the_calibration_beside_the_model_and_writes_model_int8_onnx_beside_it()
    {
        string model = CopyModelWithCalibration();
        var result = CliResult.Run("export", model);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("", result.Error);
        string expected = _folder.File("fashion_cnn.int8.onnx");
        Assert.True(File.Exists(expected));
        Assert.StartsWith($"wrote {expected}: QDQ, opset 13, ", result.Out, StringComparison.Ordinal);
        Assert.Contains("4 layers with int8 weights, 8 uint8 tensors, 0 nodes kept in float", result.Out, StringComparison.Ordinal);
        Assert.Contains("activations: static, calibrated by mse over 512 samples", result.Out, StringComparison.Ordinal);
        // Only the output: no temporary file left behind.
        Assert.Equal(new[] { "fashion_cnn.calib.json", "fashion_cnn.int8.onnx", "fashion_cnn.onnx" },
            Directory.GetFiles(_folder.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public void The_same_inputs_give_the_same_bytes()
    {
        string model = CopyModelWithCalibration();
        Assert.Equal(0, CliResult.Run("export", model, "-o", _folder.File("a.onnx")).ExitCode);
        Assert.Equal(0, CliResult.Run("export", model, "-o", _folder.File("b.onnx")).ExitCode);
        Assert.Equal(File.ReadAllBytes(_folder.File("a.onnx")), File.ReadAllBytes(_folder.File("b.onnx")));
    }

    [Fact]
    public void A_qat_model_exports_with_its_own_scales_and_no_calibration_file()
    {
        string model = _folder.File("fashion_qat.onnx");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Models", "fashion_qat.onnx"), model);
        var result = CliResult.Run("export", model);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("activations: static, from the model's own QuantizeLinear/DequantizeLinear scales", result.Out, StringComparison.Ordinal);
        Assert.True(File.Exists(_folder.File("fashion_qat.int8.onnx")));
    }

    [Theory]
    [InlineData("models/fashion.onnx", "models/fashion.int8.onnx")]
    [InlineData("fashion.ONNX", "fashion.int8.onnx")]
    [InlineData("dir/model.bin", "dir/model.int8.onnx")]
    [InlineData("model", "model.int8.onnx")]
    public void The_default_output_replaces_the_extension(string model, string expected) =>
        Assert.Equal(expected, ExportOptions.DefaultOutputFor(model));

    [Fact]
    public void Options_take_aliases_equals_signs_and_comma_separated_keep_float_names()
    {
        var options = ExportOptions.Parse(new[] { "m.onnx", "-c", "m.json", "--output=out.onnx", "--keep-float", "/a/Conv, /b/Gemm" });
        Assert.Equal("m.onnx", options.Model);
        Assert.Equal("m.json", options.Calibration);
        Assert.Equal("out.onnx", options.OutputPath);
        Assert.Equal(new[] { "/a/Conv", "/b/Gemm" }, options.KeepFloat);
    }

    [Fact]
    public void A_missing_model_is_exit_code_3()
    {
        var result = CliResult.Run("export", _folder.File("nope.onnx"));
        Assert.Equal(ExitCodes.FileNotFound, result.ExitCode);
        Assert.Equal($"quantgen: model not found: {_folder.File("nope.onnx")}", OneLine(result));
    }

    [Fact]
    public void A_missing_calibration_file_is_exit_code_3()
    {
        string model = _folder.CopyModel();
        var given = CliResult.Run("export", model, "--calibration", _folder.File("none.calib.json"));
        Assert.Equal(ExitCodes.FileNotFound, given.ExitCode);
        Assert.Equal($"quantgen: calibration file not found: {_folder.File("none.calib.json")}", OneLine(given));

        // None given and none beside the model: a QDQ file needs fixed scales, so there is no dynamic fallback.
        var none = CliResult.Run("export", model);
        Assert.Equal(ExitCodes.FileNotFound, none.ExitCode);
        Assert.StartsWith($"quantgen: no calibration file for {model} (looked for {_folder.File("fashion_cnn.calib.json")})", OneLine(none), StringComparison.Ordinal);
        Assert.False(File.Exists(_folder.File("fashion_cnn.int8.onnx")));
    }

    [Fact]
    public void A_model_that_does_not_load_is_exit_code_5()
    {
        string model = _folder.Write("broken.onnx", new byte[] { 0x0a, 0xff, 0xff, 0x01, 0x02 });
        File.Copy(CalibrationPath, _folder.File("broken.calib.json"));
        var result = CliResult.Run("export", model);
        Assert.Equal(ExitCodes.ModelError, result.ExitCode);
        Assert.StartsWith($"quantgen: {model}: ", OneLine(result), StringComparison.Ordinal);
        Assert.False(File.Exists(_folder.File("broken.int8.onnx")));
    }

    [Fact]
    public void A_model_below_opset_13_is_exit_code_5_with_the_way_out()
    {
        byte[] model = new OnnxModelBuilder(12).Input("x", 1, 4)
            .Initializer("w", new long[] { 3, 4 }, OnnxModelBuilder.RandomFloats(12, 1))
            .Node("fc", "Gemm", new[] { "x", "w" }, new[] { "y" }, OnnxAttribute.Int("transB", 1))
            .Output("y", 1, 3)
            .ToBytes();
        string path = _folder.Write("old.onnx", model);
        var calibrator = new Calibrator(ModelCompiler.Prepare(model, path));
        calibrator.Observe(new[] { 0.5f, -1f, 2f, 0f });
        File.WriteAllText(_folder.File("old.calib.json"), calibrator.Finish(ModelHash.Sha256Hex(model), "old.onnx").Write());

        var result = CliResult.Run("export", path);
        Assert.Equal(ExitCodes.ModelError, result.ExitCode);
        Assert.Contains("uses ai.onnx opset 12; the QDQ export writes per-channel DequantizeLinear, which needs opset 13 or later. Convert the model with onnx.version_converter first.",
            result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(_folder.File("old.int8.onnx")));
    }

    [Fact]
    public void A_calibration_file_for_another_model_is_exit_code_7()
    {
        string model = _folder.CopyModel();
        string other = Path.Combine(AppContext.BaseDirectory, "Models", "fashion_mlp.calib.json");
        var result = CliResult.Run("export", model, "--calibration", other);
        Assert.Equal(ExitCodes.BadCalibration, result.ExitCode);
        Assert.Equal($"quantgen: {other} was computed for another model (its SHA-256 differs from {model}'s): recalibrate with quantgen calibrate {model} --data X.npy",
            OneLine(result));
        Assert.Single(result.Error.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void An_unreadable_calibration_file_is_exit_code_7()
    {
        string model = _folder.CopyModel();
        string calibration = _folder.Write("bad.calib.json", "{ \"format\": 3 "u8.ToArray());
        var result = CliResult.Run("export", model, "-c", calibration);
        Assert.Equal(ExitCodes.BadCalibration, result.ExitCode);
        Assert.Equal($"quantgen: {calibration} is not a usable calibration file:", OneLine(result));
    }

    [Fact]
    public void An_output_that_cannot_be_written_is_exit_code_1()
    {
        string model = CopyModelWithCalibration();
        string blocker = _folder.Write("file", new byte[] { 1 });
        var result = CliResult.Run("export", model, "--output", Path.Combine(blocker, "model.int8.onnx"));
        Assert.Equal(ExitCodes.Unexpected, result.ExitCode);
        Assert.StartsWith($"quantgen: cannot write {Path.Combine(blocker, "model.int8.onnx")}: ", OneLine(result), StringComparison.Ordinal);

        Directory.CreateDirectory(_folder.File("folder.onnx"));
        var folder = CliResult.Run("export", model, "--output", _folder.File("folder.onnx"));
        Assert.Equal(ExitCodes.Unexpected, folder.ExitCode);
    }

    [Fact]
    public void An_unknown_keep_float_node_is_exit_code_5_with_the_closest_names()
    {
        string model = CopyModelWithCalibration();
        var result = CliResult.Run("export", model, "--keep-float", "/classifier/classifier.4/Gem");
        Assert.Equal(ExitCodes.ModelError, result.ExitCode);
        Assert.Contains("/classifier/classifier.4/Gemm", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new string[0], "quantgen: export needs the model: quantgen export MODEL.onnx --calibration MODEL.calib.json")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy" }, "quantgen: unknown option '--data' for export")]
    [InlineData(new[] { "m.onnx", "--output" }, "quantgen: --output needs a value")]
    [InlineData(new[] { "m.onnx", "--output", "" }, "quantgen: --output needs a path")]
    [InlineData(new[] { "m.onnx", "--calibration=" }, "quantgen: --calibration needs a path")]
    [InlineData(new[] { "m.onnx", "--keep-float", "a,,b" }, "quantgen: --keep-float 'a,,b' must be node names separated by commas, e.g. --keep-float /fc/Gemm,/conv1/Conv")]
    [InlineData(new[] { "m.onnx", "-o", "m.onnx" }, "quantgen: --output m.onnx is the model itself: write the QDQ model to another file")]
    [InlineData(new[] { "a.onnx", "b.onnx" }, "quantgen: unexpected argument 'b.onnx': export takes one model")]
    public void Usage_errors_are_exit_code_2_and_point_to_the_help(string[] args, string message)
    {
        var result = CliResult.Run(new[] { "export" }.Concat(args).ToArray());
        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Equal(new[] { message, "Run 'quantgen export --help' for usage." }, result.Error.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void Help_describes_the_command_and_the_exit_codes()
    {
        var result = CliResult.Run("export", "--help");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("quantgen export MODEL.onnx [--calibration PATH] [--output PATH] [--keep-float N1,N2]", result.Out, StringComparison.Ordinal);
        Assert.Contains("  7  the calibration file is not usable: not a calibration file, or computed for", result.Out, StringComparison.Ordinal);
        Assert.Contains("quantgen export MODEL.onnx", CliResult.Run("--help").Out, StringComparison.Ordinal);
    }
}
