using System;
using System.IO;
using System.Linq;
using System.Text;
using QuantGen.Compiler.Calibration;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Cli.Tests.Commands;

/// <summary><c>quantgen calibrate</c> run in process on the sample CNN and a few Fashion-MNIST images.</summary>
public sealed class CalibrateCommandTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static byte[] ExpectedBytes(string modelPath, int count, CalibrationMethod method = Calibrator.DefaultMethod, CalibratorSettings? settings = null) =>
        Encoding.UTF8.GetBytes(Calibrator.Calibrate(File.ReadAllBytes(modelPath), modelPath, Samples.Images(count), method, settings).Write());

    private string FloatData(int count, string name = "calib.npy") =>
        _folder.Write(name, NpyWriter.Float32(new long[] { count, 1, 28, 28 }, Samples.Images(count).SelectMany(i => i)));

    [Fact]
    public void The_reference_engine_gives_the_calibrators_file_byte_for_byte_at_the_models_default_path()
    {
        string model = _folder.CopyModel();
        string data = FloatData(12);

        var result = CliResult.Run("calibrate", model, "--data", data, "--engine", "reference");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("", result.Error);
        string output = _folder.File("fashion_cnn.calib.json");
        Assert.Equal(ExpectedBytes(model, 12), File.ReadAllBytes(output));
        int tensors = CalibrationFile.Read(File.ReadAllText(output)).Tensors.Count;
        Assert.EndsWith($"wrote {output}: mse, 12 samples, {tensors} tensors\n", result.Out, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_folder.Path, "*.tmp*"));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Uint8_data_with_scale_255_gives_the_same_file_as_the_images_in_float(int version)
    {
        string model = _folder.CopyModel();
        string data = _folder.Write("pixels.npy", NpyWriter.UInt8(new long[] { 8, 28, 28 }, Samples.Pixels(8), version));

        var result = CliResult.Run("calibrate", model, "--data", data, "--scale", "255", "--engine", "reference");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(ExpectedBytes(model, 8), File.ReadAllBytes(_folder.File("fashion_cnn.calib.json")));
    }

    [Fact]
    public void Percentile_samples_and_output_are_passed_on()
    {
        string model = _folder.CopyModel();
        string data = _folder.Write("flat.npy", NpyWriter.Float32(new long[] { 12, 784 }, Samples.Images(12).SelectMany(i => i)));
        string output = _folder.File("out/sub/p.calib.json");

        var result = CliResult.Run("calibrate", model, "--data", data, "--method", "percentile", "--percentile", "99.9", "--samples", "10", "--output", output, "--engine", "reference");

        Assert.True(result.ExitCode == 0, result.ToString());
        var expected = ExpectedBytes(model, 10, CalibrationMethod.Percentile, new CalibratorSettings { Percentile = 99.9 });
        Assert.Equal(expected, File.ReadAllBytes(output));
        Assert.Contains($"wrote {output}: percentile, 10 samples, ", result.Out, StringComparison.Ordinal);
        Assert.False(File.Exists(_folder.File("fashion_cnn.calib.json")));
    }

    [Fact]
    public void An_existing_file_is_replaced()
    {
        string model = _folder.CopyModel();
        string output = _folder.File("fashion_cnn.calib.json");
        File.WriteAllText(output, "old");
        var result = CliResult.Run("calibrate", model, "--data", FloatData(2), "--engine", "reference");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(ExpectedBytes(model, 2), File.ReadAllBytes(output));
    }

    [Fact]
    public void Redirected_progress_is_a_line_per_tenth_between_a_header_and_a_summary()
    {
        string model = _folder.CopyModel();
        var result = CliResult.Run("calibrate", model, "--data", FloatData(20), "--batch", "2");

        Assert.True(result.ExitCode == 0, result.ToString());
        string[] lines = result.Out.TrimEnd('\n').Split('\n');
        Assert.Equal(12, lines.Length);
        Assert.StartsWith($"calibrating {model} with mse on 20 samples: 'input' 1x1x28x28 from ", lines[0], StringComparison.Ordinal);
        Assert.EndsWith("(float32 (20, 1, 28, 28))", lines[0], StringComparison.Ordinal);
        for (int tenth = 1; tenth <= 10; tenth++)
            Assert.StartsWith($"calibrating: {2 * tenth}/20 samples ({10 * tenth}%)", lines[tenth], StringComparison.Ordinal);
        Assert.StartsWith("wrote ", lines[11], StringComparison.Ordinal);
        Assert.DoesNotContain('\r', result.Out);
    }

    [Fact]
    public void Help_lists_the_options_the_limits_and_the_exit_codes()
    {
        var result = CliResult.Run("calibrate", "--help");
        Assert.Equal(0, result.ExitCode);
        foreach (string text in new[] { "--data X.npy", "--data NAME=PATH", "--method minmax|percentile|entropy|mse", "--percentile 99.99", "--samples N", "--batch B", "--engine onnxruntime|reference", "--scale S", "--output PATH", "ONNX Runtime", "Exit codes:" })
            Assert.Contains(text, result.Out, StringComparison.Ordinal);
    }

    // Exit codes. Each error is one line on stderr (the model's diagnostics follow theirs, indented), nothing is written.

    private void AssertFails(CliResult result, int exitCode, params string[] said)
    {
        Assert.True(result.ExitCode == exitCode, result.ToString());
        Assert.StartsWith("quantgen: ", result.Error, StringComparison.Ordinal);
        foreach (string text in said)
            Assert.Contains(text, result.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_folder.Path, "*.calib.json", SearchOption.AllDirectories));
    }

    [Fact]
    public void Exit_2_for_usage_errors_with_a_pointer_to_the_help()
    {
        var result = CliResult.Run("calibrate", _folder.CopyModel());
        AssertFails(result, ExitCodes.Usage, "needs --data", "Run 'quantgen calibrate --help' for usage.");
        Assert.Equal(2, result.Error.TrimEnd('\n').Split('\n').Length);
    }

    [Fact]
    public void Exit_2_for_uint8_data_without_scale()
    {
        string data = _folder.Write("pixels.npy", NpyWriter.UInt8(new long[] { 2, 784 }, Samples.Pixels(2)));
        AssertFails(CliResult.Run("calibrate", _folder.CopyModel(), "--data", data), ExitCodes.Usage, "holds uint8 data: pass --scale S", "--scale 255");
    }

    [Fact]
    public void Exit_2_for_scale_with_float32_data() =>
        AssertFails(CliResult.Run("calibrate", _folder.CopyModel(), "--data", FloatData(2), "--scale", "255"), ExitCodes.Usage, "--scale applies to uint8 data");

    [Fact]
    public void Exit_3_when_the_model_is_missing() =>
        AssertFails(CliResult.Run("calibrate", _folder.File("nope.onnx"), "--data", FloatData(2)), ExitCodes.FileNotFound, "model not found: ", "nope.onnx");

    [Fact]
    public void Exit_3_when_the_data_is_missing() =>
        AssertFails(CliResult.Run("calibrate", _folder.CopyModel(), "--data", _folder.File("nope.npy")), ExitCodes.FileNotFound, "data file not found: ", "nope.npy");

    [Fact]
    public void Exit_3_when_the_data_is_a_directory() =>
        AssertFails(CliResult.Run("calibrate", _folder.CopyModel(), "--data", _folder.Path), ExitCodes.FileNotFound, "is a directory");

    [Fact]
    public void Exit_4_for_a_sample_size_that_is_not_the_inputs_and_the_shape_to_save()
    {
        string data = _folder.Write("small.npy", NpyWriter.Float32(new long[] { 3, 10, 10 }, new float[300]));
        AssertFails(CliResult.Run("calibrate", _folder.CopyModel(), "--data", data), ExitCodes.BadData,
            "small.npy: each sample of (3, 10, 10) holds 100 values", "input 'input' (1x1x28x28) needs 784", "shape (N, 1, 28, 28)");
    }

    [Fact]
    public void Exit_4_for_another_dtype() =>
        AssertFails(CliResult.Run("calibrate", _folder.CopyModel(), "--data", _folder.Write("d.npy", NpyWriter.Bytes("<f8", new long[] { 1, 784 }, new byte[784 * 8]))),
            ExitCodes.BadData, "d.npy: the .npy dtype is '<f8' (float64)");

    [Fact]
    public void Exit_4_for_fortran_order() =>
        AssertFails(CliResult.Run("calibrate", _folder.CopyModel(), "--data", _folder.Write("f.npy", NpyWriter.Bytes("<f4", new long[] { 784, 2 }, new byte[784 * 8], fortranOrder: true))),
            ExitCodes.BadData, "Fortran");

    [Fact]
    public void Exit_4_for_a_file_that_is_not_npy() =>
        AssertFails(CliResult.Run("calibrate", _folder.CopyModel(), "--data", _folder.Write("x.npy", Encoding.ASCII.GetBytes("1,2,3\n"))),
            ExitCodes.BadData, "not a NumPy .npy file");

    [Fact]
    public void Exit_4_for_a_truncated_file()
    {
        byte[] bytes = NpyWriter.Float32(new long[] { 2, 1, 28, 28 }, Samples.Images(2).SelectMany(i => i));
        AssertFails(CliResult.Run("calibrate", _folder.CopyModel(), "--data", _folder.Write("t.npy", bytes.AsSpan(0, bytes.Length - 100).ToArray())),
            ExitCodes.BadData, "truncated");
    }

    [Fact]
    public void Exit_4_for_more_samples_than_the_file_holds() =>
        AssertFails(CliResult.Run("calibrate", _folder.CopyModel(), "--data", FloatData(3), "--samples", "4"), ExitCodes.BadData, "--samples 4, but ", "holds only 3 samples");

    [Fact]
    public void Exit_4_for_an_empty_array() =>
        AssertFails(CliResult.Run("calibrate", _folder.CopyModel(), "--data", _folder.Write("e.npy", NpyWriter.Float32(new long[] { 0, 784 }, Array.Empty<float>()))),
            ExitCodes.BadData, "holds no samples");

    [Fact]
    public void Exit_5_for_a_file_that_is_not_a_model() =>
        AssertFails(CliResult.Run("calibrate", _folder.Write("junk.onnx", Encoding.ASCII.GetBytes("this is not protobuf at all")), "--data", FloatData(2)),
            ExitCodes.ModelError, "junk.onnx: QuantGen cannot compile this model", "\n  QG0004");

    [Fact]
    public void Exit_5_prints_the_QG_diagnostics_of_a_model_that_does_not_compile()
    {
        byte[] model = new OnnxModelBuilder()
            .Input("x", 1, 4)
            .Node("weird", "NoSuchOperator", new[] { "x" }, new[] { "y" })
            .Output("y", 1, 4)
            .ToBytes();
        var result = CliResult.Run("calibrate", _folder.Write("weird.onnx", model), "--data", _folder.Write("x.npy", NpyWriter.Float32(new long[] { 1, 4 }, new float[4])));
        AssertFails(result, ExitCodes.ModelError, "weird.onnx: QuantGen cannot compile this model (1 error):", "NoSuchOperator");
        Assert.Contains("\n  QG", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Exit_5_for_a_model_with_a_bool_input()
    {
        byte[] model = new OnnxModelBuilder()
            .TypedInput("keep", OnnxModelBuilder.ElementType.Bool, 1L, 4L)
            .Input("x", 1, 4)
            .Initializer("zero", Array.Empty<long>(), new[] { 0f })
            .Node("mask", "Where", new[] { "keep", "x", "zero" }, new[] { "y" })
            .Output("y", 1, 4)
            .ToBytes();
        string data = _folder.Write("x.npy", NpyWriter.Float32(new long[] { 1, 4 }, new float[4]));
        var result = CliResult.Run("calibrate", _folder.Write("keep.onnx", model), "--data", data, "--data", data);
        AssertFails(result, ExitCodes.ModelError, ".npy files feed float, int64 and int32 inputs", "keep", "is not one of them");
    }

    [Fact]
    public void Exit_2_when_the_data_files_do_not_match_the_inputs()
    {
        string model = _folder.Write("two.onnx", TwoInputModel.Bytes());
        string a = _folder.Write("a.npy", TwoInputModel.Data(3, 0));
        AssertFails(CliResult.Run("calibrate", model, "--data", a), ExitCodes.Usage, "no --data for input 'b'", "--data NAME=PATH");
        AssertFails(CliResult.Run("calibrate", model, "--data", a, "--data", a, "--data", a), ExitCodes.Usage, "3 --data files for 2 inputs");
        AssertFails(CliResult.Run("calibrate", model, "--data", "a=" + a, "--data", "a=" + a), ExitCodes.Usage, "gives input 'a' twice");
    }

    [Fact]
    public void Exit_4_when_the_inputs_data_files_hold_different_sample_counts()
    {
        string model = _folder.Write("two.onnx", TwoInputModel.Bytes());
        AssertFails(CliResult.Run("calibrate", model, "--data", _folder.Write("a.npy", TwoInputModel.Data(3, 0)), "--data", _folder.Write("b.npy", TwoInputModel.Data(4, 1))),
            ExitCodes.BadData, "different numbers of samples", "a.npy: 3", "b.npy: 4");
    }

    [Fact]
    public void Exit_1_when_the_output_cannot_be_written()
    {
        string model = _folder.CopyModel();
        Directory.CreateDirectory(_folder.File("fashion_cnn.calib.json"));
        var result = CliResult.Run("calibrate", model, "--data", FloatData(2));
        Assert.True(result.ExitCode == ExitCodes.Unexpected, result.ToString());
        Assert.StartsWith("quantgen: cannot write ", result.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_folder.Path, "*.tmp*"));
    }
}
