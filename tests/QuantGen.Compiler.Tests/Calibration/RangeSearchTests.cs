using System;
using System.Linq;
using QuantGen.Compiler.Calibration;
using Xunit;

namespace QuantGen.Compiler.Tests.Calibration;

/// <summary>The entropy and mse searches on histograms whose answer can be worked out by hand.</summary>
public class RangeSearchTests
{
    [Fact]
    public void Mse_trades_clipping_one_outlier_against_rounding_a_million_values()
    {
        // [0, 16), 16 bins of width 1: a million values in bin 0 (center 0.5), one in bin 15 (center 15.5).
        // E(b) = (15.5 − b)² + 1e6 · (b / 255)² / 12 for b = 1..15, and 1,000,001 · (16 / 255)² / 12 for b = 16:
        //   b = 6: 90.25 + 46.14 = 136.39    b = 7: 72.25 + 62.80 = 135.05    b = 8: 56.25 + 82.02 = 138.27
        //   b = 16: 328.09
        var bins = new long[16];
        bins[0] = 1_000_000;
        bins[15] = 1;
        var (low, high) = MseRangeSearch.Find(new Histogram(HistogramDomain.Value, 0, 16, bins));
        Assert.Equal((0.0, 7.0), (low, high));
    }

    [Fact]
    public void Mse_clips_a_uniform_distribution_where_the_calculus_says()
    {
        // Uniform density N/R on [0, R): E(b) = N (R − b)³ / (3R) + N (b / 255)² / 12. dE/db = 0 gives
        // (R − b)² = R b / (6 · 255²), so b* ≈ R (1 − 1 / (255 √6)) = 3.99360 for R = 4: clipping the last 1/625 of
        // the range saves more rounding error than it costs. The search sees bins of width 4/2048, and their centers.
        var bins = Enumerable.Repeat(1000L, 2048).ToArray();
        var (low, high) = MseRangeSearch.Find(new Histogram(HistogramDomain.Value, 0, 4, bins));
        double expected = 4 * (1 - 1 / (255 * Math.Sqrt(6)));
        Assert.Equal(0.0, low);
        Assert.InRange(high, expected - 2 * 4.0 / 2048, expected + 2 * 4.0 / 2048);
        Assert.True(high < 4);
    }

    [Fact]
    public void Mse_leaves_exact_zeros_out_of_the_rounding_error()
    {
        // Same as the first case, but the million values are exact zeros: no rounding error at all, so the outlier is kept.
        var bins = new long[16];
        bins[0] = 1_000_000;
        bins[15] = 1;
        var histogram = new Histogram(HistogramDomain.Value, 0, 16, bins);
        Assert.Equal((0.0, 16.0), MseRangeSearch.Find(histogram, zeros: 1_000_000));
    }

    [Fact]
    public void Mse_clips_each_side_of_a_signed_distribution_on_its_own()
    {
        // Gaussian body, a lone outlier far on each side, asymmetric: both ends move inside the extremes.
        var h = Gaussian(seed: 1, count: 200_000, outliers: new[] { -40f, 90f });
        var (low, high) = MseRangeSearch.Find(h.ToHistogram(), h.Zeros);
        Assert.InRange(low, -40, -3);
        Assert.InRange(high, 3, 90);
        Assert.True(low > -40 && high < 90, $"[{low}, {high}]");
    }

    [Fact]
    public void Entropy_divergence_of_a_window_that_needs_no_merging_is_0()
    {
        // 256 bins and 256 levels: Q is P.
        var bins = Enumerable.Range(0, 256).Select(i => (long)(i % 7 + 1)).ToArray();
        Assert.Equal(0.0, EntropyRangeSearch.Divergence(new Histogram(HistogramDomain.Value, 0, 1, bins), 0, 256), 12);
    }

    [Fact]
    public void Entropy_divergence_matches_the_hand_computed_value()
    {
        // 512 bins, pairs (3, 1): each level merges a pair, Q = (2, 2). P = (3, 1) / 1024 per pair, Q = (2, 2) / 1024:
        // KL = 256 · (3/1024 · ln(3/2) + 1/1024 · ln(1/2)) = (3 ln 1.5 + ln 0.5) / 4 = 0.130812...
        var bins = Enumerable.Range(0, 512).Select(i => i % 2 == 0 ? 3L : 1L).ToArray();
        double expected = (3 * Math.Log(1.5) + Math.Log(0.5)) / 4;
        Assert.Equal(expected, EntropyRangeSearch.Divergence(new Histogram(HistogramDomain.Value, 0, 1, bins), 0, 512), 12);
    }

    [Fact]
    public void Entropy_keeps_the_whole_range_of_a_uniform_distribution()
    {
        // With 2048 bins and 256 levels of 8 bins, Q equals P only when nothing is clipped.
        var bins = Enumerable.Repeat(1000L, 2048).ToArray();
        Assert.Equal((0.0, 2.0), EntropyRangeSearch.Find(new Histogram(HistogramDomain.Value, 0, 2, bins)));
    }

    [Fact]
    public void Entropy_clips_a_long_tail_inside_the_extremes()
    {
        // Exponential body (post-ReLU-like, [0, R)) with a sparse tail out to 50.
        var h = new ValueHistogramBuilder();
        var random = new Random(3);
        for (int i = 0; i < 200_000; i++)
            h.Add((float)-Math.Log(1 - random.NextDouble()));
        h.Add(50f);
        var (low, high) = EntropyRangeSearch.Find(h.ToHistogram());
        Assert.Equal(0.0, low);
        Assert.InRange(high, 4, 49);
    }

    [Fact]
    public void Entropy_gives_exact_zeros_no_weight_in_where_the_window_ends()
    {
        // A post-ReLU tensor: half exact zeros, the rest exponential. With the zeros merged into their bin, a window
        // whose first level is one bin wide (n < 512) kept the spike intact and one with two bins (n = 512) smeared
        // it: the divergence jumped fivefold between 511 and 512 bins and every search on the sample models stopped
        // at 511. Kept apart, neighbouring windows score alike.
        var h = new ValueHistogramBuilder();
        var random = new Random(4);
        for (int i = 0; i < 200_000; i++)
            h.Add(i % 2 == 0 ? 0f : (float)-Math.Log(1 - random.NextDouble()));
        var histogram = h.ToHistogram();
        double d511 = EntropyRangeSearch.Divergence(histogram, 0, 511, h.Zeros), d512 = EntropyRangeSearch.Divergence(histogram, 0, 512, h.Zeros);
        Assert.True(Math.Abs(d511 - d512) < 0.1 * d512, $"{d511} vs {d512}");
        double merged511 = EntropyRangeSearch.Divergence(histogram, 0, 511), merged512 = EntropyRangeSearch.Divergence(histogram, 0, 512);
        Assert.True(merged512 > 2 * merged511, $"the artifact this avoids: {merged511} vs {merged512}");
    }

    [Fact]
    public void Entropy_searches_both_ends_of_a_signed_distribution()
    {
        var h = Gaussian(seed: 2, count: 200_000, outliers: new[] { -60f, 100f });
        var (low, high) = EntropyRangeSearch.Find(h.ToHistogram());
        Assert.True(low > -60 && low < -2, $"low {low}");
        Assert.True(high < 100 && high > 2, $"high {high}");
    }

    [Fact]
    public void The_searches_refuse_abs_histograms_and_domains_without_0_on_an_edge()
    {
        var bins = new long[16];
        bins[3] = 1;
        Assert.Throws<ArgumentException>(() => MseRangeSearch.Find(new Histogram(HistogramDomain.Abs, 0, 1, bins)));
        Assert.Throws<ArgumentException>(() => EntropyRangeSearch.Find(new Histogram(HistogramDomain.Value, -1.5, 10, bins)));
    }

    private static ValueHistogramBuilder Gaussian(int seed, int count, float[] outliers)
    {
        var h = new ValueHistogramBuilder();
        var random = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            double u1 = 1 - random.NextDouble(), u2 = random.NextDouble();
            h.Add((float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2)));
        }
        foreach (float x in outliers)
            h.Add(x);
        return h;
    }
}
