using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using FashionMnist;
using QuantGen.Compiler.Calibration;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Cli.Tests.Commands;

/// <summary>The committed 1000-image test slice as .npy files, with the sample CNN and its calibration, written once.</summary>
public sealed class EvaluateFixture : IDisposable
{
    public EvaluateFixture()
    {
        var data = FashionMnistData.FromFiles(
            Path.Combine(AppContext.BaseDirectory, "Data", "t10k-images-idx3-ubyte.slice1000.gz"),
            Path.Combine(AppContext.BaseDirectory, "Data", "t10k-labels-idx1-ubyte.slice1000.gz"));
        Images = data.Images;
        Labels = data.Labels.Select(l => (int)l).ToArray();
        Model = Folder.CopyModel();
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Models", "fashion_cnn.calib.json"), Folder.File("fashion_cnn.calib.json"));
        // Every float is an exact k / 255f, so uint8 with --scale 255 gives the same inputs.
        Pixels = Folder.Write("x.npy", NpyWriter.UInt8(new long[] { Images.Count, 28, 28 }, Images.SelectMany(i => i.Select(p => (byte)Math.Round(p * 255f))).ToArray()));
        LabelFile = Folder.Write("y.npy", NpyWriter.Bytes("<i8", new long[] { Labels.Length }, Labels.SelectMany(l => BitConverter.GetBytes((long)l)).ToArray()));
    }

    internal TempFolder Folder { get; } = new();
    public IReadOnlyList<float[]> Images { get; }
    public int[] Labels { get; }
    public string Model { get; }
    public string Pixels { get; }
    public string LabelFile { get; }

    public void Dispose() => Folder.Dispose();
}

/// <summary><c>quantgen evaluate</c> in process on the sample CNN and the committed Fashion-MNIST test slice.</summary>
public sealed class EvaluateCommandTests : IClassFixture<EvaluateFixture>
{
    private readonly EvaluateFixture _f;

    public EvaluateCommandTests(EvaluateFixture fixture) => _f = fixture;

    private CliResult Evaluate(params string[] extra) =>
        CliResult.Run(new[] { "evaluate", _f.Model, "--data", _f.Pixels, "--scale", "255" }.Concat(extra).ToArray());

    private static (int Hits, int Total) Count(string output, string label)
    {
        var m = Regex.Match(output, Regex.Escape(label) + @"\s+[0-9.]+%\s+\((\d+)/(\d+)\)");
        Assert.True(m.Success, $"no '{label}' line in:\n{output}");
        return (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>The per-layer rows: (SQNR, own SQNR, tensor, node description), in printed order.</summary>
    private static List<(double Sqnr, double Own, string Tensor, string Node)> Layers(string output)
    {
        var rows = new List<(double, double, string, string)>();
        bool inTable = false;
        foreach (string line in output.Split('\n'))
        {
            if (line.StartsWith("  SQNR dB", StringComparison.Ordinal)) { inTable = true; continue; }
            if (!inTable) continue;
            var m = Regex.Match(line, @"^\s+(\S+)\s+(\S+)  (.+?)  <-  (.+)$");
            if (!m.Success) break;
            double sqnr = m.Groups[1].Value == "exact" ? double.PositiveInfinity : double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            double own = m.Groups[2].Value == "-" ? double.PositiveInfinity : double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            rows.Add((sqnr, own, m.Groups[3].Value, m.Groups[4].Value));
        }
        return rows;
    }

    private static double Drop(string output)
    {
        var m = Regex.Match(output, @"drop ([0-9.]+) points");
        Assert.True(m.Success, output);
        return double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [Fact]
    public void Reports_onnx_runtimes_top1_int8_within_a_point_and_every_quantized_tensor_worst_first()
    {
        string plot = _f.Folder.File("plots/cnn.svg");
        var result = Evaluate("--labels", _f.LabelFile, "--plot", plot);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("", result.Error);
        Assert.Contains("INT8: static, calibrated by mse over 512 samples", result.Out, StringComparison.Ordinal);
        // Per-layer FP32 values come from ONNX Runtime (the model edited to output them), not the fallback.
        Assert.DoesNotContain("per-layer FP32 values from QuantGen's float reference", result.Out, StringComparison.Ordinal);

        // FP32 top-1 as ONNX Runtime computes it, independently of the tool.
        using var ort = new OnnxRuntimeReference(File.ReadAllBytes(_f.Model));
        int expected = 0;
        for (int i = 0; i < _f.Images.Count; i++)
        {
            var logits = ort.Run(new[] { _f.Images[i] }, new[] { new[] { 1, 1, 28, 28 } })[0];
            if (Array.IndexOf(logits, logits.Max()) == _f.Labels[i]) expected++;
        }
        var fp32 = Count(result.Out, "top-1 FP32 (ONNX Runtime)");
        var int8 = Count(result.Out, "top-1 INT8 (QuantGen)");
        Assert.Equal((expected, 1000), fp32);
        Assert.InRange(int8.Hits, fp32.Hits - 10, fp32.Hits + 10);
        Assert.InRange(Count(result.Out, "top-1 agreement").Hits, 950, 1000);
        var sqnr = Regex.Match(result.Out, @"output SQNR\s+([0-9.]+) dB");
        Assert.True(sqnr.Success && double.Parse(sqnr.Groups[1].Value, CultureInfo.InvariantCulture) > 20, result.Out);

        // Every tensor the calibration file covers is quantized in this model, and each has a row.
        var layers = Layers(result.Out);
        var calibrated = CalibrationFile.Read(File.ReadAllText(_f.Folder.File("fashion_cnn.calib.json"))).Tensors.Keys;
        Assert.Equal(calibrated.OrderBy(n => n, StringComparer.Ordinal), layers.Select(l => l.Tensor).OrderBy(n => n, StringComparer.Ordinal));
        Assert.All(layers, l => Assert.True(double.IsFinite(l.Sqnr) && l.Sqnr > 0, $"{l.Tensor}: {l.Sqnr}"));
        Assert.Equal(layers.Select(l => l.Sqnr).OrderBy(s => s), layers.Select(l => l.Sqnr));
        Assert.Contains(layers, l => l.Tensor == "logits" && l.Node == "/classifier/classifier.4/Gemm (Gemm, integer kernel)");
        Assert.Contains(layers, l => l.Tensor == "input" && l.Node == "graph input");
        // A node can add no more noise than its output carries: its own SQNR is never below its output's.
        Assert.All(layers, l => Assert.True(l.Own >= l.Sqnr - 0.05, $"{l.Tensor}: own {l.Own} < {l.Sqnr}"));
        Assert.Equal(layers.Single(l => l.Tensor == "input").Sqnr, layers.Single(l => l.Tensor == "input").Own);

        // The plot: well-formed SVG with a bar label per layer.
        Assert.Contains("wrote " + plot, result.Out, StringComparison.Ordinal);
        var svg = XDocument.Load(plot);
        Assert.Equal("svg", svg.Root!.Name.LocalName);
        var texts = svg.Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value.Trim()).ToList();
        foreach (var l in layers)
            Assert.Contains(l.Sqnr.ToString("0.0", CultureInfo.InvariantCulture), texts);
        Assert.Contains("logits", texts);
    }

    [Fact]
    public void Without_labels_it_compares_with_fp32_and_a_png_plot_is_a_png()
    {
        string plot = _f.Folder.File("cnn.png");
        var result = Evaluate("--samples", "50", "--plot", plot);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("no labels: INT8 against FP32 only", result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("top-1 FP32", result.Out, StringComparison.Ordinal);
        Assert.Equal(50, Count(result.Out, "top-1 agreement").Total);
        // Redirected output: progress is plain lines, one per tenth.
        Assert.Equal(10, result.Out.Split('\n').Count(l => l.StartsWith("evaluating: ", StringComparison.Ordinal)));
        byte[] png = File.ReadAllBytes(plot);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, png.Take(8));
        Assert.True(png.Length > 1000);
    }

    [Fact]
    public void Without_a_calibration_file_it_evaluates_dynamic_int8_like_the_build()
    {
        using var folder = new TempFolder();
        string model = folder.CopyModel();
        var result = CliResult.Run("evaluate", model, "--data", _f.Pixels, "--scale", "255", "--labels", _f.LabelFile, "--samples", "100");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("INT8: dynamic (no calibration file)", result.Out, StringComparison.Ordinal);
        Assert.Contains("QG0021", result.Out, StringComparison.Ordinal);
        var layers = Layers(result.Out);
        Assert.Contains(layers, l => l.Tensor == "logits" && l.Node.Contains("integer kernel", StringComparison.Ordinal));
        Assert.All(layers, l => Assert.True(double.IsFinite(l.Sqnr), l.Tensor));
    }

    [Fact]
    public void Budget_search_with_a_bad_calibration_finds_keep_float_nodes_that_really_meet_the_budget()
    {
        string bad = ClippedCalibration();

        var result = Evaluate("--labels", _f.LabelFile, "--calibration", bad, "--budget", "0.5");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(Drop(result.Out) > 2, result.Out);
        var attribute = Regex.Match(result.Out, @"\[QuantGen\.OnnxModel\(""fashion_cnn\.onnx"", Calibration = ""clipped\.calib\.json"", KeepFloat = new\[\] \{ (.+) \}\)\]");
        Assert.True(attribute.Success, result.Out);
        var chosen = Regex.Matches(attribute.Groups[1].Value, "\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToArray();
        Assert.Contains("/features/features.0/Conv", chosen);

        // Evaluating again with those nodes in float gives a drop within the budget; and each one is needed.
        var check = Evaluate("--labels", _f.LabelFile, "--calibration", bad, "--keep-float", string.Join(",", chosen));
        Assert.True(check.ExitCode == 0, check.ToString());
        Assert.Contains("kept in float: " + string.Join(", ", chosen), check.Out, StringComparison.Ordinal);
        Assert.InRange(Drop(check.Out), 0, 0.5);
        foreach (string node in chosen)
        {
            var fewer = chosen.Where(n => n != node).ToArray();
            if (fewer.Length == 0) continue;
            var without = Evaluate("--labels", _f.LabelFile, "--calibration", bad, "--keep-float", string.Join(",", fewer), "--samples", "1000");
            Assert.True(Drop(without.Out) > 0.5, $"{node} was not needed:\n{without.Out}");
        }
    }

    /// <summary>The sample's calibration with the ranges of conv1's output and the max-pool after it cut to a tenth: INT8 loses about 10 points.</summary>
    private string ClippedCalibration()
    {
        string bad = _f.Folder.File("clipped.calib.json");
        var file = CalibrationFile.Read(File.ReadAllText(_f.Folder.File("fashion_cnn.calib.json")));
        var tensors = file.Tensors.ToDictionary(t => t.Key, t => t.Value);
        foreach (string name in new[] { "/features/features.2/Relu_output_0", "/features/features.3/MaxPool_output_0" })
        {
            var t = tensors[name];
            tensors[name] = new TensorStatistics(t.Min, t.Max / 10);
        }
        File.WriteAllText(bad, new CalibrationFile(file.ModelSha256, file.ModelName, file.Method, file.Samples, tensors, file.Producer).Write());
        return bad;
    }

    [Fact]
    public void Without_labels_the_budget_is_on_disagreement_with_fp32()
    {
        var result = Evaluate("--calibration", ClippedCalibration(), "--samples", "300", "--budget", "1");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("KeepFloat search: budget 1 points of top-1 disagreement with FP32; now ", result.Out, StringComparison.Ordinal);
        var agreement = Count(result.Out, "top-1 agreement");
        Assert.True(agreement.Hits < 297, result.Out);   // more than 1 point of disagreement before the search
        var found = Regex.Match(result.Out, @"brings the top-1 disagreement with FP32 to ([0-9.]+) points \(<= 1\)");
        Assert.True(found.Success, result.Out);
        Assert.InRange(double.Parse(found.Groups[1].Value, CultureInfo.InvariantCulture), 0, 1);
        Assert.Contains("KeepFloat = new[] { ", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Keep_float_nodes_leave_the_table_and_their_float_outputs_are_quantized_after()
    {
        var result = Evaluate("--samples", "20", "--keep-float", "/features/features.4/Conv");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("kept in float: /features/features.4/Conv", result.Out, StringComparison.Ordinal);
        Assert.Contains("  /features/features.4/Conv (Conv): listed in KeepFloat", result.Out, StringComparison.Ordinal);
        var layers = Layers(result.Out);
        Assert.DoesNotContain(layers, l => l.Tensor == "/features/features.6/Relu_output_0");
        Assert.Contains(layers, l => l.Tensor == "/classifier/classifier.0/Flatten_output_0" && l.Node == "/classifier/classifier.0/Flatten (Flatten, float, quantized after)");
        Assert.Contains(layers, l => l.Tensor == "/features/features.3/MaxPool_output_0" && l.Node == "/features/features.3/MaxPool (MaxPool, passes uint8 through)");
    }

    [Fact]
    public void A_budget_already_met_keeps_everything_in_int8()
    {
        var result = Evaluate("--labels", _f.LabelFile, "--samples", "100", "--budget", "100");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("within budget already: no node needs to stay float", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_inputs_get_their_exit_code_and_one_line()
    {
        string missing = _f.Folder.File("missing.npy");
        string floats = _f.Folder.Write("floats.npy", NpyWriter.Float32(new long[] { 4, 784 }, Enumerable.Repeat(0.5f, 4 * 784)));
        string wrongShape = _f.Folder.Write("wide.npy", NpyWriter.UInt8(new long[] { 4, 28, 29 }, new byte[4 * 28 * 29]));
        string fewLabels = _f.Folder.Write("few.npy", NpyWriter.Bytes("<i8", new long[] { 3 }, new byte[24]));
        string bigLabels = _f.Folder.Write("big.npy", NpyWriter.Bytes("|u1", new long[] { 1000 }, Enumerable.Repeat((byte)3, 999).Append((byte)10).ToArray()));
        string floatLabels = _f.Folder.Write("flabels.npy", NpyWriter.Float32(new long[] { 1000 }, new float[1000]));
        string notAModel = _f.Folder.Write("garbage.onnx", Enumerable.Range(0, 300).Select(i => (byte)(i * 37)).ToArray());
        string otherCalibration = _f.Folder.Write("other.calib.json", System.Text.Encoding.UTF8.GetBytes(
            File.ReadAllText(_f.Folder.File("fashion_cnn.calib.json")).Replace("72ccc719", "00000000", StringComparison.Ordinal)));
        string notCalibration = _f.Folder.Write("not.calib.json", System.Text.Encoding.UTF8.GetBytes("{\"format\": 1"));

        var cases = new (string[] Args, int Code, string Said)[]
        {
            (new[] { "evaluate", _f.Folder.File("none.onnx"), "--data", _f.Pixels }, ExitCodes.FileNotFound, "model not found"),
            (new[] { "evaluate", _f.Model, "--data", missing }, ExitCodes.FileNotFound, "data file not found"),
            (new[] { "evaluate", _f.Model, "--data", _f.Pixels, "--scale", "255", "--labels", missing }, ExitCodes.FileNotFound, "labels file not found"),
            (new[] { "evaluate", _f.Model, "--data", _f.Pixels, "--scale", "255", "--calibration", missing }, ExitCodes.FileNotFound, "calibration file not found"),
            (new[] { "evaluate", _f.Model, "--data", _f.Pixels }, ExitCodes.Usage, "holds uint8 data: pass --scale"),
            (new[] { "evaluate", _f.Model, "--data", floats, "--scale", "255" }, ExitCodes.Usage, "--scale applies to uint8 data"),
            (new[] { "evaluate", _f.Model, "--data", wrongShape, "--scale", "255" }, ExitCodes.BadData, "holds 812 values, but the model's input 'input'"),
            (new[] { "evaluate", _f.Model, "--data", _f.Pixels, "--scale", "255", "--samples", "1001" }, ExitCodes.BadData, "holds only 1000 samples"),
            (new[] { "evaluate", _f.Model, "--data", _f.Pixels, "--scale", "255", "--labels", fewLabels }, ExitCodes.BadData, "holds 3 labels for 1000 samples"),
            (new[] { "evaluate", _f.Model, "--data", _f.Pixels, "--scale", "255", "--labels", floatLabels }, ExitCodes.BadData, "labels are class indices"),
            (new[] { "evaluate", _f.Model, "--data", _f.Pixels, "--scale", "255", "--labels", bigLabels }, ExitCodes.BadData, "label 1000 is 10, but the model's first output 'logits' scores 10 classes (0 to 9)"),
            (new[] { "evaluate", _f.Model, "--data", _f.LabelFile }, ExitCodes.BadData, "holds int64 data, but the model's input 'input' is float"),
            (new[] { "evaluate", notAModel, "--data", _f.Pixels, "--scale", "255" }, ExitCodes.ModelError, notAModel),
            (new[] { "evaluate", _f.Model, "--data", _f.Pixels, "--scale", "255", "--calibration", otherCalibration }, ExitCodes.BadCalibration, "was computed for another model"),
            (new[] { "evaluate", _f.Model, "--data", _f.Pixels, "--scale", "255", "--calibration", notCalibration }, ExitCodes.BadCalibration, "not a usable calibration file"),
            (new[] { "evaluate", _f.Model, "--data", _f.Pixels, "--scale", "255", "--keep-float", "/classifier/classifier.4/Gem" }, ExitCodes.Usage, "did you mean '/classifier/classifier.4/Gemm'"),
        };
        foreach (var (args, code, said) in cases)
        {
            var result = CliResult.Run(args);
            string context = string.Join(" ", args) + "\n" + result;
            Assert.True(result.ExitCode == code, context);
            Assert.Contains(said, result.Error, StringComparison.Ordinal);
            Assert.StartsWith("quantgen: ", result.Error, StringComparison.Ordinal);
            if (code != ExitCodes.ModelError)
            {
                Assert.Equal("", result.Out);
                Assert.Single(result.Error.TrimEnd('\n').Split('\n'), l => !l.StartsWith("Run '", StringComparison.Ordinal));
            }
        }
    }

    [Fact]
    public void Help_lists_the_options_and_the_exit_codes()
    {
        var result = CliResult.Run("evaluate", "--help");
        Assert.Equal(0, result.ExitCode);
        foreach (string text in new[] { "--labels Y.npy", "--calibration", "--keep-float", "--budget", "--plot", "7  the calibration file is not usable" })
            Assert.Contains(text, result.Out, StringComparison.Ordinal);
        Assert.Contains("quantgen evaluate MODEL.onnx --data X.npy [--labels Y.npy]", CliResult.Run("--help").Out, StringComparison.Ordinal);
    }
}
