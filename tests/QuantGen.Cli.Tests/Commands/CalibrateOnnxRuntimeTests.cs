using System;
using System.IO;
using System.Linq;
using QuantGen.Compiler.Calibration;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Cli.Tests.Commands;

/// <summary>
/// The ONNX Runtime engine of <c>quantgen calibrate</c> (the default) against QuantGen's own float reference
/// (<c>--engine reference</c>, the in-process <see cref="Calibrator"/>), batching, several inputs, and every method.
/// </summary>
public sealed class CalibrateOnnxRuntimeTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string FloatData(int count) =>
        _folder.Write("calib.npy", NpyWriter.Float32(new long[] { count, 1, 28, 28 }, Samples.Images(count).SelectMany(i => i)));

    private CalibrationFile Calibrate(string model, params string[] options) => _folder.Calibrate(model, options);

    [Fact]
    public void OnnxRuntime_minmax_on_fashion_cnn_has_the_references_tensors_and_ranges_to_a_few_ulps()
    {
        string model = _folder.CopyModel();
        string data = FloatData(32);
        var ort = Calibrate(model, "--data", data, "--method", "minmax");
        var reference = Calibrate(model, "--data", data, "--method", "minmax", "--engine", "reference");

        Assert.Equal(reference.ModelSha256, ort.ModelSha256);
        Assert.Equal(reference.Samples, ort.Samples);
        Assert.Equal(reference.Tensors.Keys.OrderBy(k => k, StringComparer.Ordinal), ort.Tensors.Keys.OrderBy(k => k, StringComparer.Ordinal));
        // The input is the data itself: exact.
        Assert.Equal((reference.Tensors["input"].Min, reference.Tensors["input"].Max), (ort.Tensors["input"].Min, ort.Tensors["input"].Max));
        // The rest are sums of products: ONNX Runtime (MLAS, FMA, its own summation order) and QuantGen's reference
        // round differently, by 1 or 2 units in the last place on this model (measured). Not bit-exact, and cannot be.
        foreach (var (name, r) in reference.Tensors)
        {
            var o = ort.Tensors[name];
            Assert.True(Ulps(r.Min, o.Min) <= 4 && Ulps(r.Max, o.Max) <= 4, $"{name}: reference [{r.Min:R}, {r.Max:R}], ONNX Runtime [{o.Min:R}, {o.Max:R}]");
        }
    }

    [Fact]
    public void Batch_size_does_not_change_the_file()
    {
        // 13 samples: batches of 5 leave a last batch of 3.
        string model = _folder.CopyModel();
        string data = FloatData(13);
        var one = Calibrate(model, "--data", data, "--batch", "1", "--method", "entropy");
        var five = Calibrate(model, "--data", data, "--batch", "5", "--method", "entropy");
        Assert.Equal(one.Write(), five.Write());
    }

    [Fact]
    public void A_fixed_batch_of_1_runs_one_sample_at_a_time()
    {
        // A two-input model whose batch dimension is fixed at 1: --batch is ignored, and the result is the reference's.
        string model = _folder.Write("two.onnx", TwoInputModel.Bytes(batch: 1L));
        string a = _folder.Write("a.npy", TwoInputModel.Data(6, 0)), b = _folder.Write("b.npy", TwoInputModel.Data(6, 1));
        var ort = Calibrate(model, "--data", a, "--data", b, "--batch", "4");
        var reference = Calibrate(model, "--data", a, "--data", b, "--engine", "reference");
        Assert.Equal(reference.Write(), ort.Write());
    }

    [Fact]
    public void A_free_batch_dimension_the_graph_cannot_run_falls_back_to_one_sample_per_run()
    {
        // The input says [N, 4], but a Reshape to the constant [1, 4] only works for N = 1: the first batch fails in
        // ONNX Runtime, and calibration goes on one sample at a time, with the reference's result.
        byte[] bytes = new OnnxModelBuilder()
            .TypedInput("x", OnnxModelBuilder.ElementType.Float, "N", 4L)
            .Initializer("shape", new long[] { 2 }, new long[] { 1, 4 })
            .Node("reshape", "Reshape", new[] { "x", "shape" }, new[] { "r" })
            .Node("relu", "Relu", new[] { "r" }, new[] { "y" })
            .Output("y", 1, 4)
            .ToBytes();
        string model = _folder.Write("fixed.onnx", bytes);
        string data = _folder.Write("x.npy", TwoInputModel.Data(7, 3));
        string output = _folder.File("fixed.calib.json");
        var result = CliResult.Run("calibrate", model, "--data", data, "--batch", "4", "-o", output);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("note: the model declares a free batch dimension but ONNX Runtime could not run a batch", result.Out, StringComparison.Ordinal);
        var ort = CalibrationFile.Read(File.ReadAllText(output));
        var reference = Calibrate(model, "--data", data, "--engine", "reference");
        Assert.Equal(7, ort.Samples);
        Assert.Equal(reference.Write(), ort.Write());
    }

    [Fact]
    public void Two_inputs_by_name_or_in_order_give_the_references_file_byte_for_byte()
    {
        // Add then Relu: one fused node whose output is y; a + b in float32 is the same in both engines.
        string model = _folder.Write("two.onnx", TwoInputModel.Bytes());
        string a = _folder.Write("a.npy", TwoInputModel.Data(9, 0)), b = _folder.Write("b.npy", TwoInputModel.Data(9, 1));
        var inOrder = Calibrate(model, "--data", a, "--data", b, "--batch", "4", "--method", "minmax");
        var byName = Calibrate(model, "--data", "b=" + b, "--data", "a=" + a, "--method", "minmax");
        var reference = Calibrate(model, "--data", a, "--data", b, "--engine", "reference", "--method", "minmax");

        Assert.Equal(reference.Write(), inOrder.Write());
        Assert.Equal(reference.Write(), byName.Write());
        Assert.Equal(new[] { "a", "b", "y" }, inOrder.Tensors.Keys.OrderBy(k => k, StringComparer.Ordinal));
        var (aValues, bValues) = (TwoInputModel.Values(9, 0), TwoInputModel.Values(9, 1));
        Assert.Equal((aValues.Min(), aValues.Max()), (inOrder.Tensors["a"].Min, inOrder.Tensors["a"].Max));
        Assert.Equal(aValues.Zip(bValues, (x, y) => Math.Max(0, x + y)).Max(), inOrder.Tensors["y"].Max);
    }

    [Theory]
    [InlineData("percentile")]
    [InlineData("entropy")]
    [InlineData("mse")]
    public void Every_method_writes_ranges_inside_minmax_with_its_histogram(string method)
    {
        string model = _folder.CopyModel();
        string data = FloatData(32);
        var minmax = Calibrate(model, "--data", data, "--method", "minmax");
        var file = Calibrate(model, "--data", data, "--method", method);

        Assert.Equal(method, CalibrationNames.Of(file.Method));
        Assert.Equal(minmax.Tensors.Keys.OrderBy(k => k, StringComparer.Ordinal), file.Tensors.Keys.OrderBy(k => k, StringComparer.Ordinal));
        foreach (var (name, s) in file.Tensors)
        {
            var m = minmax.Tensors[name];
            Assert.True(s.Min >= m.Min && s.Max <= m.Max && s.Max > 0, $"{method} {name}: [{s.Min}, {s.Max}] vs minmax [{m.Min}, {m.Max}]");
            Assert.Equal(2048, s.Histogram!.Bins.Count);
            Assert.Equal(method == "percentile" ? HistogramDomain.Abs : HistogramDomain.Value, s.Histogram.Domain);
        }
    }

    private static long Ulps(float a, float b) => Math.Abs((long)BitConverter.SingleToInt32Bits(a) - BitConverter.SingleToInt32Bits(b));
}

/// <summary>y = Relu(a + b), inputs [N, 4] with a free batch dimension (or a fixed one), for the multi-input path.</summary>
internal static class TwoInputModel
{
    public static byte[] Bytes(object? batch = null) => new OnnxModelBuilder()
        .TypedInput("a", OnnxModelBuilder.ElementType.Float, batch ?? "N", 4L)
        .TypedInput("b", OnnxModelBuilder.ElementType.Float, batch ?? "N", 4L)
        .Node("add", "Add", new[] { "a", "b" }, new[] { "s" })
        .Node("relu", "Relu", new[] { "s" }, new[] { "y" })
        .TypedOutput("y", OnnxModelBuilder.ElementType.Float, batch ?? "N", 4L)
        .ToBytes();

    public static float[] Values(int samples, int seed) => OnnxModelBuilder.RandomFloats(samples * 4, seed, scale: 3f);

    public static byte[] Data(int samples, int seed) => NpyWriter.Float32(new long[] { samples, 4 }, Values(samples, seed));
}
