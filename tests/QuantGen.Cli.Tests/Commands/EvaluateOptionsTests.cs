using System;
using QuantGen.Cli.Commands;
using Xunit;

namespace QuantGen.Cli.Tests.Commands;

public sealed class EvaluateOptionsTests
{
    [Fact]
    public void Defaults_the_calibration_to_the_builds_path_and_everything_else_to_off()
    {
        var o = EvaluateOptions.Parse(new[] { "Models/m.onnx", "--data", "x.npy" });
        Assert.Equal("Models/m.onnx", o.Model);
        Assert.Equal(new[] { "x.npy" }, o.Data);
        Assert.Empty(o.Dimensions);
        Assert.Null(o.Labels);
        Assert.Null(o.Calibration);
        Assert.Equal("Models/m.calib.json", o.CalibrationPath.Replace('\\', '/'));
        Assert.Empty(o.KeepFloat);
        Assert.Null(o.Budget);
        Assert.Null(o.Samples);
        Assert.Null(o.Scale);
        Assert.Null(o.Plot);
    }

    [Fact]
    public void Every_option_is_read_in_both_spellings()
    {
        var o = EvaluateOptions.Parse(new[]
        {
            "m.onnx", "--data=x.npy", "--labels", "y.npy", "--calibration=c.json", "--keep-float", "/a/Conv, /fc/Gemm",
            "--budget", "0.5", "--samples=100", "--scale", "255", "--plot", "out/layers.SVG",
            "--data", "mask=m.npy", "--dim", "sequence=128", "--dim=batch=1",
        });
        Assert.Equal(new[] { "x.npy", "mask=m.npy" }, o.Data);
        Assert.Equal(new[] { "sequence=128", "batch=1" }, o.Dimensions);
        Assert.Equal("y.npy", o.Labels);
        Assert.Equal("c.json", o.Calibration);
        Assert.Equal("c.json", o.CalibrationPath);
        Assert.Equal(new[] { "/a/Conv", "/fc/Gemm" }, o.KeepFloat);
        Assert.Equal(0.5, o.Budget);
        Assert.Equal(100, o.Samples);
        Assert.Equal(255f, o.Scale);
        Assert.Equal("out/layers.SVG", o.Plot);
    }

    [Theory]
    [InlineData(new[] { "--data", "x.npy" }, "evaluate needs the model")]
    [InlineData(new[] { "m.onnx" }, "evaluate needs --data X.npy")]
    [InlineData(new[] { "m.onnx", "--data", "" }, "--data needs a path")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--labels" }, "--labels needs a value")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--method", "minmax" }, "unknown option '--method' for evaluate")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--budget", "-1" }, "--budget '-1' must be")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--budget", "half" }, "--budget 'half' must be")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--budget", "NaN" }, "--budget 'NaN' must be")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--samples", "0" }, "--samples '0' must be")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--scale", "0" }, "--scale '0' must be")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--plot", "p.pdf" }, "--plot 'p.pdf' must end in .svg or .png")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--keep-float", "a,,b" }, "has an empty name")]
    [InlineData(new[] { "m.onnx", "--data", "x.npy", "--keep-float", "a,a" }, "names a node twice")]
    [InlineData(new[] { "m.onnx", "n.onnx", "--data", "x.npy" }, "unexpected argument 'n.onnx'")]
    public void Bad_arguments_are_usage_errors_pointing_at_evaluates_help(string[] args, string said)
    {
        var e = Assert.Throws<CliException>(() => EvaluateOptions.Parse(args));
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Contains(said, e.Message, StringComparison.Ordinal);
        Assert.Equal("quantgen evaluate --help", e.HelpHint);
    }

    [Fact]
    public void The_attribute_names_the_model_by_file_name_and_a_calibration_only_when_it_is_not_the_default()
    {
        var plain = EvaluateOptions.Parse(new[] { "Models/m.onnx", "--data", "x.npy", "--calibration", "Models/m.calib.json" });
        Assert.Equal("[QuantGen.OnnxModel(\"m.onnx\", KeepFloat = new[] { \"/fc/Gemm\", \"a \\\"b\\\"\" })]",
            EvaluateCommand.Attribute(plain, new[] { "/fc/Gemm", "a \"b\"" }));
        var other = EvaluateOptions.Parse(new[] { "Models/m.onnx", "--data", "x.npy", "--calibration", "tuned.calib.json" });
        Assert.Equal("[QuantGen.OnnxModel(\"m.onnx\", Calibration = \"tuned.calib.json\", KeepFloat = new[] { \"/fc/Gemm\" })]",
            EvaluateCommand.Attribute(other, new[] { "/fc/Gemm" }));
    }
}
