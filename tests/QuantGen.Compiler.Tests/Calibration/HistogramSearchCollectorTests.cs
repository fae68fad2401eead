using System;
using System.Linq;
using QuantGen.Compiler.Calibration;
using Xunit;

namespace QuantGen.Compiler.Tests.Calibration;

public class HistogramSearchCollectorTests
{
    [Theory]
    [InlineData(CalibrationMethod.Entropy)]
    [InlineData(CalibrationMethod.Mse)]
    public void The_range_is_inside_minmax_and_the_same_however_the_values_are_batched(CalibrationMethod method)
    {
        var random = new Random(11);
        var values = Enumerable.Range(0, 100_000).Select(_ => (float)(-Math.Log(1 - random.NextDouble()) * (random.Next(2) == 0 ? 1 : -0.25))).ToArray();
        values[5] = 30f;
        values[6] = -20f;

        var whole = RangeCollectors.Create(method);
        whole.Observe(values);
        var batched = RangeCollectors.Create(method);
        for (int i = 0; i < values.Length; i += 777)
            batched.Observe(values.AsSpan(i, Math.Min(777, values.Length - i)));

        var s = whole.Finish()!;
        Assert.Equal(s, batched.Finish());
        Assert.True(s.Min > -20 && s.Min < 0, $"{method}: min {s.Min}");
        Assert.True(s.Max < 30 && s.Max > 0, $"{method}: max {s.Max}");
        Assert.Equal(HistogramDomain.Value, s.Histogram!.Domain);
        Assert.Equal((-32.0, 32.0, 2048), (s.Histogram.Min, s.Histogram.Max, s.Histogram.Bins.Count));
    }

    [Fact]
    public void A_window_edge_beyond_the_data_is_pulled_back_to_the_extreme_seen()
    {
        // Uniform on [0, 3): entropy keeps the whole histogram [0, 4), whose upper edge is above the largest value.
        var c = RangeCollectors.Create(CalibrationMethod.Entropy);
        c.Observe(Enumerable.Range(0, 3 * 4096).Select(i => i / 4096f).ToArray());
        var s = c.Finish()!;
        Assert.Equal(0f, s.Min);
        Assert.Equal(3f - 1 / 4096f, s.Max);
    }

    [Fact]
    public void Only_non_finite_values_give_no_statistics_and_non_finite_ones_are_counted()
    {
        var c = new HistogramSearchCollector(CalibrationMethod.Mse);
        c.Observe(new[] { float.NaN });
        Assert.Null(c.Finish());
        c.Observe(new[] { 1f, float.NegativeInfinity });
        Assert.Equal(2, c.Finish()!.NonFinite);
        Assert.Throws<ArgumentOutOfRangeException>(() => new HistogramSearchCollector(CalibrationMethod.Percentile));
    }
}
