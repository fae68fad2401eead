using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Calibration;
using QuantGen.Compiler.Execution;
using QuantGen.Compiler.Ir;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Testing.OnnxAttribute;

namespace QuantGen.Compiler.Tests.Calibration;

public class CalibratorTests
{
    /// <summary>Conv → BatchNormalization → Relu → MaxPool → Flatten → Gemm → Tanh: BN folds and Relu fuses into the Conv.</summary>
    internal static byte[] SmallCnn() => new OnnxModelBuilder()
        .Input("x", 1, 2, 6, 6)
        .Initializer("w", new long[] { 3, 2, 3, 3 }, OnnxModelBuilder.RandomFloats(54, 7))
        .Initializer("b", new long[] { 3 }, new float[] { 0.1f, -0.2f, 0.3f })
        .Node("conv", "Conv", new[] { "x", "w", "b" }, new[] { "c" })
        .Initializer("scale", new long[] { 3 }, new float[] { 1.5f, 0.5f, -1f })
        .Initializer("shift", new long[] { 3 }, new float[] { 0.1f, 0.2f, 0.3f })
        .Initializer("mean", new long[] { 3 }, new float[] { 0.05f, -0.1f, 0f })
        .Initializer("var", new long[] { 3 }, new float[] { 1f, 2f, 0.5f })
        .Node("bn", "BatchNormalization", new[] { "c", "scale", "shift", "mean", "var" }, new[] { "n" })
        .Node("relu", "Relu", new[] { "n" }, new[] { "r" })
        .Node("pool", "MaxPool", new[] { "r" }, new[] { "p" }, Ints("kernel_shape", 2, 2), Ints("strides", 2, 2))
        .Node("flat", "Flatten", new[] { "p" }, new[] { "f" })
        .Initializer("gw", new long[] { 4, 12 }, OnnxModelBuilder.RandomFloats(48, 8))
        .Initializer("gb", new long[] { 4 }, OnnxModelBuilder.RandomFloats(4, 9))
        .Node("fc", "Gemm", new[] { "f", "gw", "gb" }, new[] { "g" }, Int("transB", 1))
        .Node("tanh", "Tanh", new[] { "g" }, new[] { "y" })
        .Output("y")
        .ToBytes();

    /// <summary>Samples of growing scale, so later samples move the ranges.</summary>
    internal static IEnumerable<float[]> Samples(int count, int length, int seed = 1)
    {
        for (int i = 0; i < count; i++)
            yield return OnnxModelBuilder.RandomFloats(length, seed + i, 0.5f + i % 7);
    }

    [Fact]
    public void MinMax_records_the_extremes_of_every_float_tensor_of_the_optimized_graph()
    {
        byte[] model = SmallCnn();
        var samples = Samples(25, 72).ToList();
        var file = Calibrator.Calibrate(model, "Models/small.onnx", samples, CalibrationMethod.MinMax);

        // The optimized graph: BatchNormalization folded and Relu fused into the Conv, whose output is now "r".
        Assert.Equal(new[] { "f", "g", "p", "r", "x", "y" }, file.Tensors.Keys);
        Assert.Equal(CalibrationMethod.MinMax, file.Method);
        Assert.Equal(25, file.Samples);
        Assert.Equal(ModelHash.Sha256Hex(model), file.ModelSha256);
        Assert.Equal("small.onnx", file.ModelName);
        Assert.StartsWith("QuantGen ", file.Producer);

        // Independently: every sample through the reference executor, all values kept, extremes by LINQ.
        var graph = ModelCompiler.Prepare(model, "Models/small.onnx");
        var runs = samples.Select(s => ReferenceExecutor.Run(graph, new[] { Tensor.FromFloats(new[] { 1, 2, 6, 6 }, s) })).ToList();
        foreach (var pair in file.Tensors)
        {
            var all = runs.SelectMany(r => r[pair.Key].Floats!).ToList();
            Assert.Equal(all.Min(), pair.Value.Min);
            Assert.Equal(all.Max(), pair.Value.Max);
            Assert.Null(pair.Value.Histogram);
            Assert.Equal(0, pair.Value.NonFinite);
        }
        Assert.Equal(samples.SelectMany(s => s).Min(), file.Tensors["x"].Min);
        Assert.Equal(samples.SelectMany(s => s).Max(), file.Tensors["x"].Max);
        Assert.Equal(0f, file.Tensors["r"].Min); // post-Relu values, some of them clamped
        Assert.InRange(file.Tensors["y"].Max, -1f, 1f);

        // And against the unoptimized graph, where Conv, BatchNormalization and Relu are separate nodes.
        var unoptimized = Onnx.OnnxModelReader.Read(model, "small.onnx");
        Compiler.Passes.CheckSupportedOperators.Run(unoptimized);
        Compiler.Passes.ShapeInference.Run(unoptimized);
        var plain = samples.Select(s => ReferenceExecutor.Run(unoptimized, new[] { Tensor.FromFloats(new[] { 1, 2, 6, 6 }, s) })).ToList();
        foreach (var name in new[] { "r", "p", "g", "y" })
        {
            var all = plain.SelectMany(r => r[name].Floats!).ToList();
            Assert.Equal(all.Min(), file.Tensors[name].Min, 4);
            Assert.Equal(all.Max(), file.Tensors[name].Max, 4);
        }
        Assert.True(plain[0].ContainsKey("c") && plain[0].ContainsKey("n"));
        Assert.False(file.Tensors.ContainsKey("c") || file.Tensors.ContainsKey("n"));
    }

    [Fact]
    public void The_file_round_trips_and_Matches_its_model()
    {
        byte[] model = SmallCnn();
        var file = Calibrator.Calibrate(model, "small.onnx", Samples(5, 72), CalibrationMethod.Percentile);
        var back = CalibrationFile.Read(file.Write());
        Assert.Equal(file, back);
        Assert.True(back.Matches(ModelHash.Sha256Hex(model)));
        model[model.Length - 1] ^= 1;
        Assert.False(back.Matches(ModelHash.Sha256Hex(model)));
    }

    [Fact]
    public void Tensors_are_listed_in_name_order_and_constants_and_integer_tensors_are_left_out()
    {
        // Gather with a runtime int64 index input: the indices have no range to record.
        byte[] model = new OnnxModelBuilder()
            .Input("x", 1, 4)
            .TypedInput("idx", OnnxModelBuilder.ElementType.Int64, 2L)
            .Node("gather", "Gather", new[] { "x", "idx" }, new[] { "gathered" }, Int("axis", 1))
            .Initializer("k", new long[] { 1 }, new float[] { 10f })
            .Node("mul", "Mul", new[] { "gathered", "k" }, new[] { "y" })
            .Output("y")
            .ToBytes();
        var graph = ModelCompiler.Prepare(model, "m.onnx");
        var calibrator = new Calibrator(graph, CalibrationMethod.MinMax);
        Assert.Equal(new[] { "gathered", "x", "y" }, calibrator.TensorNames);

        var samples = new[]
        {
            new[] { Tensor.FromFloats(new[] { 1, 4 }, new float[] { 1, 2, 3, 4 }), Tensor.FromLongs(DataType.Int64, new[] { 2 }, new long[] { 0, 3 }) },
            new[] { Tensor.FromFloats(new[] { 1, 4 }, new float[] { -5, 2, 3, 9 }), Tensor.FromLongs(DataType.Int64, new[] { 2 }, new long[] { 1, 2 }) },
        };
        var file = Calibrator.Calibrate(model, "m.onnx", samples, CalibrationMethod.MinMax);
        Assert.Equal((-5f, 9f), (file.Tensors["x"].Min, file.Tensors["x"].Max));
        Assert.Equal((1f, 4f), (file.Tensors["gathered"].Min, file.Tensors["gathered"].Max)); // {1, 4} then {2, 3}
        Assert.Equal((10f, 40f), (file.Tensors["y"].Min, file.Tensors["y"].Max));

        Assert.Throws<ArgumentException>(() => calibrator.Observe(new float[4])); // two inputs: float[] is not enough
    }

    [Fact]
    public void NaN_and_infinities_are_counted_and_left_out_of_the_range()
    {
        byte[] model = new OnnxModelBuilder().Input("x", 1, 4).Node("relu", "Relu", new[] { "x" }, new[] { "y" }).Output("y").ToBytes();
        var file = Calibrator.Calibrate(model, "m.onnx", new[]
        {
            new[] { 1f, float.NaN, -2f, float.NegativeInfinity },
            new[] { 0.5f, 3f, float.PositiveInfinity, -1f },
        }, CalibrationMethod.MinMax);
        var x = file.Tensors["x"];
        Assert.Equal((-2f, 3f, 3L), (x.Min, x.Max, x.NonFinite));
        Assert.Equal(CalibrationFile.Read(file.Write()), file);

        // A tensor with no finite value at all has no range to record.
        var allNaN = Calibrator.Calibrate(model, "m.onnx", new[] { new[] { float.NaN, float.NaN, float.NaN, float.NaN } }, CalibrationMethod.MinMax);
        Assert.False(allNaN.Tensors.ContainsKey("x"));
    }

    [Fact]
    public void Percentile_clips_rare_outliers_and_keeps_the_histogram()
    {
        byte[] model = new OnnxModelBuilder().Input("x", 1, 1000).Node("relu", "Relu", new[] { "x" }, new[] { "y" }).Output("y").ToBytes();
        var samples = Enumerable.Range(0, 20).Select(i =>
        {
            var s = OnnxModelBuilder.RandomFloats(1000, i, 0.999f);
            if (i == 7) s[123] = 1000f; // one outlier in 20,000 values
            return s;
        }).ToList();

        var minmax = Calibrator.Calibrate(model, "m.onnx", samples, CalibrationMethod.MinMax);
        Assert.Equal(1000f, minmax.Tensors["x"].Max);

        var percentile = Calibrator.Calibrate(model, "m.onnx", samples, CalibrationMethod.Percentile, new CalibratorSettings { Percentile = 99.9 });
        var x = percentile.Tensors["x"];
        Assert.Equal(CalibrationMethod.Percentile, percentile.Method);
        // |x| < 1 except the outlier; R = 1024, 2048 bins of 0.5: the 99.9th percentile's bin ends at 1.
        Assert.Equal(1f, x.Max);
        Assert.Equal(minmax.Tensors["x"].Min, x.Min);
        Assert.Equal(HistogramDomain.Abs, x.Histogram!.Domain);
        Assert.Equal(1024.0, x.Histogram.Max);
        Assert.Equal(2048, x.Histogram.Bins.Count);
        Assert.Equal(20_000, x.Histogram.Total);
        Assert.Equal(0f, percentile.Tensors["y"].Min);

        var noHistograms = Calibrator.Calibrate(model, "m.onnx", samples, CalibrationMethod.Percentile, new CalibratorSettings { KeepHistograms = false });
        Assert.Null(noHistograms.Tensors["x"].Histogram);
    }

    [Fact]
    public void Every_method_has_a_collector_and_a_custom_collector_plugs_in()
    {
        var graph = ModelCompiler.Prepare(SmallCnn(), "m.onnx");
        foreach (CalibrationMethod method in Enum.GetValues(typeof(CalibrationMethod)))
        {
            var each = new Calibrator(graph, method);
            each.Observe(Enumerable.Range(0, 72).Select(i => i / 72f - 0.25f).ToArray());
            Assert.Equal(method, each.Finish(ModelHash.Sha256Hex(new byte[] { 1 }), "m.onnx").Method);
        }

        // A method can also be any collector per tensor.
        var calibrator = new Calibrator(graph, CalibrationMethod.Mse, name => new FixedRange(name == "x" ? -1 : 0, 1));
        calibrator.Observe(new float[72]);
        var file = calibrator.Finish(ModelHash.Sha256Hex(new byte[] { 1 }), "m.onnx");
        Assert.Equal(CalibrationMethod.Mse, file.Method);
        Assert.Equal((-1f, 1f), (file.Tensors["x"].Min, file.Tensors["x"].Max));
        Assert.Equal((0f, 1f), (file.Tensors["y"].Min, file.Tensors["y"].Max));
    }

    [Fact]
    public void Misuse_is_refused_with_a_reason()
    {
        var graph = ModelCompiler.Prepare(SmallCnn(), "m.onnx");
        var calibrator = new Calibrator(graph);
        Assert.Throws<InvalidOperationException>(() => calibrator.Finish(CalibrationFileTests.Sha, "m.onnx"));
        var e = Assert.Throws<ArgumentException>(() => calibrator.Observe(new float[71]));
        Assert.Contains("72", e.Message);
        Assert.Equal(0, calibrator.SampleCount);
        Assert.Throws<Diagnostics.ModelCompileException>(() => Calibrator.Calibrate(new byte[] { 1, 2, 3 }, "bad.onnx", new[] { new float[1] }));
    }

    private sealed class FixedRange : IRangeCollector
    {
        private readonly float _min, _max;

        public FixedRange(float min, float max) => (_min, _max) = (min, max);

        public void Observe(ReadOnlySpan<float> values)
        {
        }

        public TensorStatistics? Finish() => new(_min, _max);
    }
}
