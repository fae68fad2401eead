using System;
using System.Globalization;
using System.IO;
using System.Linq;
using Xunit;

namespace QuantGen.Package.Tests;

/// <summary>INT8 models built by real consumer projects against the packed package.</summary>
[Collection(PackageCollection.Name)]
public class Int8ConsumerTests
{
    private readonly PackedFeed _feed;

    public Int8ConsumerTests(PackedFeed feed) => _feed = feed;

    /// <summary>A program that runs the model as INT8 (the default precision) and as Float32 on the same input.</summary>
    private static ConsumerProject WithComparisonProgram(ConsumerProject app, string modelPath)
    {
        File.WriteAllText(Path.Combine(app.ProjectDirectory, "Program.cs"), $$"""
            using System;
            using System.Globalization;

            var input = new float[Int8Model.InputLength];
            for (int i = 0; i < input.Length; i++) input[i] = (i * 37 % 256) / 255f;
            var int8 = new float[Int8Model.OutputLength];
            var fp32 = new float[FloatModel.OutputLength];
            Int8Model.Predict(input, int8);
            FloatModel.Predict(input, fp32);
            Console.WriteLine("Int8=" + string.Join(" ", Array.ConvertAll(int8, v => v.ToString("R", CultureInfo.InvariantCulture))));
            Console.WriteLine("Float=" + string.Join(" ", Array.ConvertAll(fp32, v => v.ToString("R", CultureInfo.InvariantCulture))));

            [QuantGen.OnnxModel("{{modelPath}}")]
            public static partial class Int8Model;

            [QuantGen.OnnxModel("{{modelPath}}", Precision = QuantGen.Precision.Float32)]
            public static partial class FloatModel;
            """);
        return app;
    }

    [Theory]
    [InlineData("calibrated", true)]
    [InlineData("dynamic", false)]
    public void Cnn_builds_in_int8_with_and_without_a_calibration_file(string name, bool calibrated)
    {
        var app = new ConsumerProject(_feed, "int8-" + name)
            .WithProject(calibrated
                ? """<AdditionalFiles Include="Models/fashion_cnn.onnx" /><AdditionalFiles Include="Models/fashion_cnn.calib.json" />"""
                : """<AdditionalFiles Include="Models/fashion_cnn.onnx" />""",
                // The missing-calibration warning is the point of this case: keep it a warning.
                calibrated ? "" : "<WarningsNotAsErrors>QG0021</WarningsNotAsErrors>")
            .WithFile("fashion_cnn.onnx", "app/Models/fashion_cnn.onnx");
        if (calibrated)
            app.WithFile("fashion_cnn.calib.json", "app/Models/fashion_cnn.calib.json");
        WithComparisonProgram(app, "Models/fashion_cnn.onnx");

        var build = app.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        // Without calibration the build says how to calibrate (QG0021); with it, the build is clean.
        Assert.Equal(!calibrated, build.Output.Contains("warning QG0021", StringComparison.Ordinal));
        Assert.Contains(calibrated ? " 0 Warning(s)" : " 1 Warning(s)", build.Output, StringComparison.Ordinal);
        AssertCloseToFloat(app.Run());
    }

    [Fact]
    public void Qdq_model_builds_in_int8_from_its_own_scales_without_calibration()
    {
        var app = WithComparisonProgram(new ConsumerProject(_feed, "int8-qdq")
            .WithProject("""<AdditionalFiles Include="Models/fashion_qat.onnx" />""")
            .WithFile("fashion_qat.onnx", "app/Models/fashion_qat.onnx"), "Models/fashion_qat.onnx");

        var build = app.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains(" 0 Warning(s)", build.Output, StringComparison.Ordinal);
        AssertCloseToFloat(app.Run());
    }

    /// <summary>INT8 logits follow the float ones: same argmax, and close relative to their magnitude.</summary>
    private static void AssertCloseToFloat(CommandResult run)
    {
        Assert.True(run.ExitCode == 0, run.ToString());
        float[] Read(string prefix) => run.Output.Split('\n').Single(l => l.StartsWith(prefix, StringComparison.Ordinal))
            .Substring(prefix.Length).Trim().Split(' ').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        var int8 = Read("Int8=");
        var fp32 = Read("Float=");
        Assert.Equal(Array.IndexOf(fp32, fp32.Max()), Array.IndexOf(int8, int8.Max()));
        float scale = fp32.Max(Math.Abs);
        Assert.True(int8.Zip(fp32, (a, b) => Math.Abs(a - b)).Max() <= 0.1f * scale, run.ToString());
    }
}
