using System;
using System.Linq;
using QuantGen.Compiler.Calibration;
using Xunit;

namespace QuantGen.Compiler.Tests.Calibration;

public class ValueHistogramBuilderTests
{
    [Fact]
    public void Growing_range_merges_bins_in_pairs_and_a_negative_value_makes_the_domain_symmetric()
    {
        var h = new ValueHistogramBuilder(16);
        h.Add(0.5f);                  // R = 1, [0, 1), w = 1/16: bin 8
        Assert.Equal((0.0, 1.0, 8), (h.Low, h.High, Nonzero(h).Single()));
        h.Add(1.5f);                  // R = 2, w = 1/8: 0.5 -> bin 4, 1.5 -> bin 12
        Assert.Equal(new[] { 4, 12 }, Nonzero(h));
        h.Add(-3f);                   // R = 4 ([0, 4): 0.5 -> 2, 1.5 -> 6), then [-4, 4), w = 1/2: 0.5 -> 9, 1.5 -> 11, -3 -> 2
        Assert.Equal((-4.0, 4.0, true), (h.Low, h.High, h.Signed));
        Assert.Equal(new[] { 2, 9, 11 }, Nonzero(h));
        h.Add(3.75f);                 // still inside: bin 8 + 7 = 15
        h.Add(-4f);                   // |x| = R: R = 8, [-8, 8), w = 1: -4 -> 4, -3 -> 5, 0.5 -> 8, 1.5 -> 9, 3.75 -> 11
        Assert.Equal(new[] { 4, 5, 8, 9, 11 }, Nonzero(h));
        Assert.Equal(5, h.Count);
    }

    [Fact]
    public void Zeros_seen_before_the_range_is_known_go_to_the_bin_that_starts_at_0()
    {
        var unsigned = new ValueHistogramBuilder(16);
        unsigned.Add(0f);
        unsigned.Add(-0f);
        Assert.Equal((0.0, 1.0, 2L), (unsigned.Low, unsigned.High, unsigned[0])); // only zeros: [0, 1)
        unsigned.Add(1f);             // R = 2: 1 -> bin 8
        Assert.Equal((2L, 1L), (unsigned[0], unsigned[8]));

        var signed = new ValueHistogramBuilder(16);
        signed.Add(0f);
        signed.Add(-1f);              // R = 2, [-2, 2), w = 1/4: 0 -> bin 8, -1 -> bin 4
        Assert.Equal((1L, 1L, 1L), (signed[8], signed[4], signed.Zeros));
    }

    [Fact]
    public void A_tiny_negative_value_lands_just_below_0_not_in_the_bin_of_0()
    {
        var h = new ValueHistogramBuilder(16);
        h.Add(-0.75f);
        h.Add(-1e-30f);
        Assert.Equal(1, h[7]);
        Assert.Equal(0, h[8]);
    }

    [Fact]
    public void The_histogram_is_the_same_whatever_the_order_and_batching_and_equals_one_built_on_the_final_domain()
    {
        var random = new Random(7);
        // Multiples of 2^-10 below 2^12: every edge and every x - low below is exact in double, so the direct count is exact too.
        var values = Enumerable.Range(0, 20_000).Select(_ => (float)(random.Next(-40_000, 3_000_000) / 1024.0)).ToArray();
        values[3] = 0;

        var inOrder = Build(values, 1);
        var shuffled = Build(values.OrderBy(_ => random.Next()).ToArray(), 1);
        var batched = Build(values.Reverse().ToArray(), 1000);
        Assert.Equal(inOrder.ToHistogram(), shuffled.ToHistogram());
        Assert.Equal(inOrder.ToHistogram(), batched.ToHistogram());

        double r = 4096; // smallest power of two above 3,000,000 / 1024 = 2929.7
        Assert.Equal((-r, r), (inOrder.Low, inOrder.High));
        var direct = new long[2048];
        foreach (float x in values)
            direct[(int)Math.Floor((x + r) / (2 * r / 2048))]++;
        Assert.Equal(direct, inOrder.ToHistogram().Bins);
        Assert.Equal(values.Length, inOrder.ToHistogram().Total);
    }

    [Fact]
    public void Bin_counts_that_are_not_a_power_of_two_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ValueHistogramBuilder(1000));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ValueHistogramBuilder(8));
    }

    private static ValueHistogramBuilder Build(float[] values, int batch)
    {
        var h = new ValueHistogramBuilder();
        for (int i = 0; i < values.Length; i += batch)
            foreach (float x in values.AsSpan(i, Math.Min(batch, values.Length - i)))
                h.Add(x);
        return h;
    }

    private static int[] Nonzero(ValueHistogramBuilder h) =>
        Enumerable.Range(0, h.BinCount).Where(i => h[i] != 0).ToArray();
}
