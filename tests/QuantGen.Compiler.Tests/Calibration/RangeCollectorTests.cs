using System;
using System.Linq;
using QuantGen.Compiler.Calibration;
using Xunit;

namespace QuantGen.Compiler.Tests.Calibration;

public class RangeCollectorTests
{
    [Fact]
    public void MinMax_spans_every_observation_and_ignores_non_finite_values()
    {
        var c = new MinMaxCollector();
        Assert.Null(c.Finish());
        c.Observe(new[] { 3f, -1f });
        c.Observe(ReadOnlySpan<float>.Empty);
        c.Observe(new[] { float.NaN, 2f, float.NegativeInfinity, 7f });
        var s = c.Finish()!;
        Assert.Equal((-1f, 7f, 2L), (s.Min, s.Max, s.NonFinite));
        Assert.Equal(s, c.Finish()); // Finish can be called again
    }

    [Fact]
    public void Negative_zero_is_recorded_as_zero_whatever_the_order()
    {
        var a = new MinMaxCollector();
        a.Observe(new[] { -0f, 0f });
        var b = new MinMaxCollector();
        b.Observe(new[] { 0f, -0f });
        Assert.Equal(JsonWriter.FormatSingle(a.Finish()!.Min), JsonWriter.FormatSingle(b.Finish()!.Min));
        Assert.Equal("0", JsonWriter.FormatSingle(a.Finish()!.Min));
    }

    [Fact]
    public void The_abs_histogram_is_the_same_whatever_the_order_of_the_values()
    {
        var random = new Random(5);
        var values = Enumerable.Range(0, 5000).Select(_ => (float)((random.NextDouble() - 0.5) * Math.Pow(2, random.Next(-20, 12)))).ToArray();
        values[17] = 0;
        values[18] = -0f;
        values[19] = 1e-45f;
        var reference = Build(values.OrderBy(v => Math.Abs(v)).Reverse().ToArray()); // largest first: R fixed from the start
        for (int trial = 0; trial < 5; trial++)
        {
            var shuffled = values.OrderBy(_ => random.Next()).ToArray();
            var h = Build(shuffled);
            Assert.Equal(reference.Range, h.Range);
            Assert.Equal(Enumerable.Range(0, h.BinCount).Select(i => reference[i]), Enumerable.Range(0, h.BinCount).Select(i => h[i]));
        }
        var ascending = Build(values.OrderBy(v => Math.Abs(v)).ToArray()); // smallest first: R doubles again and again
        Assert.Equal(Enumerable.Range(0, ascending.BinCount).Select(i => reference[i]), Enumerable.Range(0, ascending.BinCount).Select(i => ascending[i]));

        // R is the smallest power of two above max |x|, and each value is in the bin its magnitude says.
        double max = values.Max(v => Math.Abs((double)v));
        Assert.True(reference.Range > max && reference.Range / 2 <= max);
        for (int i = 0; i < reference.BinCount; i++)
        {
            double lo = i * reference.Range / reference.BinCount, hi = (i + 1) * reference.Range / reference.BinCount;
            Assert.Equal(values.Count(v => Math.Abs((double)v) >= lo && Math.Abs((double)v) < hi), reference[i]);
        }
        Assert.Equal(values.Length, reference.Count);

        static AbsHistogramBuilder Build(float[] values)
        {
            var h = new AbsHistogramBuilder(256);
            foreach (float v in values)
                h.Add(v);
            return h;
        }
    }

    [Fact]
    public void Zeros_only_and_extreme_magnitudes_are_handled()
    {
        var zeros = new AbsHistogramBuilder();
        zeros.Add(0);
        zeros.Add(-0f);
        Assert.Equal(0, zeros.Range);
        Assert.Equal(0, zeros.Threshold(99));
        var h = zeros.ToHistogram()!;
        Assert.Equal((0.0, 1.0, 2L), (h.Min, h.Max, h.Bins[0]));
        Assert.Null(new AbsHistogramBuilder().ToHistogram());

        var extreme = new AbsHistogramBuilder(16);
        extreme.Add(float.Epsilon);
        extreme.Add(float.MaxValue);
        Assert.Equal(Math.Pow(2, 128), extreme.Range);
        Assert.Equal(1, extreme[0]);
        Assert.Equal(1, extreme[15]);

        var c = new PercentileCollector(99, 16);
        c.Observe(new[] { float.MaxValue, -float.MaxValue, 0f });
        var s = c.Finish()!;
        Assert.Equal((-float.MaxValue, float.MaxValue), (s.Min, s.Max));
        Assert.Equal(Math.Pow(2, 128), s.Histogram!.Max);
        Assert.Equal(CalibrationFile.Read(new CalibrationFile(CalibrationFileTests.Sha, "m", CalibrationMethod.Percentile, 1, new[] { new System.Collections.Generic.KeyValuePair<string, TensorStatistics>("t", s) }).Write()).Tensors["t"], s);
    }

    [Theory]
    [InlineData(50, 50, 51)]
    [InlineData(90, 90, 91)]
    [InlineData(100, 100, 101)]
    public void The_percentile_threshold_is_the_upper_edge_of_its_bin(double percentile, double low, double high)
    {
        var h = new AbsHistogramBuilder(128); // R = 128 for 1..100: bins of width 1
        for (int i = 1; i <= 100; i++)
            h.Add(i % 2 == 0 ? i : -i);
        double t = h.Threshold(percentile);
        Assert.InRange(t, low, high);
    }

    [Fact]
    public void Percentile_clips_each_side_to_the_threshold_only_where_it_reaches_past_it()
    {
        var c = new PercentileCollector(99, 1024, keepHistogram: false);
        var values = Enumerable.Range(0, 1000).Select(i => i / 1000f).ToList(); // [0, 1)
        values.Add(-50f); // a rare negative outlier
        c.Observe(values.ToArray());
        var s = c.Finish()!;
        Assert.Null(s.Histogram);
        Assert.InRange(s.Min, -1.1f, -0.98f);
        Assert.Equal(0.999f, s.Max);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PercentileCollector(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PercentileCollector(100.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AbsHistogramBuilder(1000));
    }
}
