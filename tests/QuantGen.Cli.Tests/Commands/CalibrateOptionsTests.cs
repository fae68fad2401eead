using System;
using QuantGen.Cli.Commands;
using QuantGen.Compiler.Calibration;
using Xunit;

namespace QuantGen.Cli.Tests.Commands;

public class CalibrateOptionsTests
{
    [Fact]
    public void The_model_and_data_are_enough_and_the_rest_has_defaults()
    {
        var options = CalibrateOptions.Parse(new[] { "Models/fashion.onnx", "--data", "calib.npy" });
        Assert.Equal("Models/fashion.onnx", options.Model);
        Assert.Equal("calib.npy", options.Data);
        Assert.Equal(CalibrationMethod.Mse, options.Method);
        Assert.Equal(99.99, options.Percentile);
        Assert.Null(options.Samples);
        Assert.Null(options.Scale);
        Assert.Null(options.Output);
        Assert.Equal("Models/fashion.calib.json", options.OutputPath);
    }

    [Fact]
    public void Every_option_in_any_order()
    {
        var options = CalibrateOptions.Parse(new[]
        {
            "--method", "percentile", "--percentile", "99.9", "--samples", "100", "--data", "x.npy",
            "--scale", "255", "m.onnx", "--output", "out/m.calib.json",
        });
        Assert.Equal(new CalibrateOptions
        {
            Model = "m.onnx", Data = "x.npy", Method = CalibrationMethod.Percentile, Percentile = 99.9,
            Samples = 100, Scale = 255f, Output = "out/m.calib.json",
        }, options);
        Assert.Equal("out/m.calib.json", options.OutputPath);
    }

    [Fact]
    public void Values_may_follow_an_equals_sign_and_o_is_output()
    {
        var options = CalibrateOptions.Parse(new[] { "m.onnx", "--data=x.npy", "--method=PERCENTILE", "-o", "p.json", "--scale=1e2" });
        Assert.Equal("x.npy", options.Data);
        Assert.Equal(CalibrationMethod.Percentile, options.Method);
        Assert.Equal("p.json", options.Output);
        Assert.Equal(100f, options.Scale);
    }

    [Fact]
    public void Double_dash_ends_the_options()
    {
        var options = CalibrateOptions.Parse(new[] { "--data", "x.npy", "--", "-model-.onnx" });
        Assert.Equal("-model-.onnx", options.Model);
        Assert.Equal("-model-.calib.json", options.OutputPath);
    }

    [Fact]
    public void Data_may_be_given_once_per_input_and_batch_and_engine_parse()
    {
        var options = CalibrateOptions.Parse(new[] { "m.onnx", "--data", "a=x.npy", "--data=y.npy", "--batch", "7", "--engine", "reference" });
        Assert.Equal("a=x.npy", options.Data);
        Assert.Equal(new[] { "a=x.npy", "y.npy" }, options.AllData);
        Assert.Equal(7, options.Batch);
        Assert.Equal(CalibrationEngine.Reference, options.Engine);
        var defaults = CalibrateOptions.Parse(new[] { "m.onnx", "--data", "x.npy" });
        Assert.Equal((CalibrateOptions.DefaultBatch, CalibrationEngine.OnnxRuntime), (defaults.Batch, defaults.Engine));
        Assert.Equal(CalibrationEngine.OnnxRuntime, CalibrateOptions.Parse(new[] { "m.onnx", "--data", "x.npy", "--engine", "ORT" }).Engine);
    }

    [Fact]
    public void Entropy_and_mse_parse()
    {
        Assert.Equal(CalibrationMethod.Entropy, CalibrateOptions.Parse(new[] { "m.onnx", "--data", "x.npy", "--method", "entropy" }).Method);
        Assert.Equal(CalibrationMethod.Mse, CalibrateOptions.Parse(new[] { "m.onnx", "--data", "x.npy", "--method", "mse" }).Method);
    }

    [Theory]
    [InlineData("-h")]
    [InlineData("m.onnx --help")]
    [InlineData("--data x.npy -?")]
    public void Help_is_asked_for_anywhere_before_double_dash(string args) =>
        Assert.True(CalibrateOptions.AsksForHelp(args.Split(' ')));

    [Fact]
    public void Help_after_double_dash_is_a_file_name() =>
        Assert.False(CalibrateOptions.AsksForHelp(new[] { "--data", "x.npy", "--", "--help" }));

    [Theory]
    [InlineData(new string[0], "needs the model")]
    [InlineData(new[] { "--data", "x.npy" }, "needs the model")]
    [InlineData(new[] { "m.onnx" }, "needs --data")]
    [InlineData(new[] { "m.onnx", "n.onnx", "--data", "x.npy" }, "unexpected argument 'n.onnx'")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--bins", "10" }, "unknown option '--bins'")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--bins=10" }, "unknown option '--bins'")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "-x" }, "unknown option '-x'")]
    [InlineData(new[] { "m.onnx", "--data" }, "--data needs a value")]
    [InlineData(new[] { "m.onnx", "--data", "" }, "--data needs a path")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--batch", "0" }, "--batch '0' must be a whole number from 1 to 65536")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--batch", "70000" }, "--batch '70000'")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--batch", "8", "--batch", "8" }, "--batch is given twice")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--engine", "tensorrt" }, "--engine 'tensorrt' is not an engine: use onnxruntime or reference")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--data", "" }, "--data needs a path")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "-o", "a", "--output", "b" }, "--output is given twice")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--output=" }, "--output needs a path")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--method", "kl" }, "'kl' is not a calibration method")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--percentile", "99" }, "--percentile applies to --method percentile")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--method", "percentile", "--percentile", "0" }, "(0, 100]")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--method", "percentile", "--percentile", "100.5" }, "(0, 100]")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--method", "percentile", "--percentile", "NaN" }, "(0, 100]")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--method", "percentile", "--percentile", "99,9" }, "(0, 100]")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--samples", "0" }, "--samples '0'")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--samples", "-5" }, "--samples '-5'")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--samples", "1.5" }, "--samples '1.5'")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--scale", "0" }, "--scale '0'")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--scale", "-255" }, "--scale '-255'")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--scale", "Infinity" }, "--scale 'Infinity'")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--scale", "1e300" }, "--scale '1e300'")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--scale", "pixels" }, "--scale 'pixels'")]
    public void Bad_arguments_are_usage_errors_that_say_what_is_wrong(string[] args, string said)
    {
        var e = Assert.Throws<CliException>(() => CalibrateOptions.Parse(args));
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Contains(said, e.Message, StringComparison.Ordinal);
        Assert.Equal("quantgen calibrate --help", e.HelpHint);
    }
}
