using System;
using System.Linq;
using QuantGen.Compiler.Quantization;
using Xunit;

namespace QuantGen.Compiler.Tests.Quantization;

public class PerChannelWeightsTests
{
    [Fact]
    public void An_all_zero_channel_gets_scale_one_and_stays_exact()
    {
        var w = PerChannelWeights.Quantize(new float[] { 0, 0, 0, 1, -2, 0.5f }, 2);
        Assert.Equal(1f, w.Scales[0]);
        Assert.Equal(new sbyte[] { 0, 0, 0 }, w.Values.Take(3).ToArray());
        Assert.Equal(0, w.ChannelSum(0));
        Assert.Equal(2f / 127f, w.Scales[1]);
    }

    [Fact]
    public void A_constant_channel_maps_to_plus_or_minus_127()
    {
        var w = PerChannelWeights.Quantize(new float[] { 0.3f, 0.3f, 0.3f, -7f, -7f, -7f }, 2);
        Assert.Equal(new sbyte[] { 127, 127, 127, -127, -127, -127 }, w.Values);
        Assert.Equal(0.3f / 127f, w.Scales[0]);
        Assert.Equal(7f / 127f, w.Scales[1]);
        Assert.Equal(0.3f, w.Values[0] * w.Scales[0], 6);
        Assert.Equal(-7f, w.Values[3] * w.Scales[1], 5);
        Assert.Equal(3 * 127, w.ChannelSum(0));
        Assert.Equal(-3 * 127, w.ChannelSum(1));
    }

    [Fact]
    public void Signs_are_kept_and_the_largest_magnitude_is_127()
    {
        var random = new Random(5);
        int channels = 7, per = 19;
        var f = Enumerable.Range(0, channels * per).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        var w = PerChannelWeights.Quantize(f, channels);
        for (int c = 0; c < channels; c++)
        {
            var block = Enumerable.Range(c * per, per).ToArray();
            Assert.Equal(127, block.Max(i => Math.Abs((int)w.Values[i])));
            Assert.Equal(block.Max(i => Math.Abs(f[i])) / 127f, w.Scales[c]);
            foreach (int i in block)
            {
                Assert.InRange(w.Values[i], -127, 127);
                Assert.True(Math.Sign(w.Values[i]) == Math.Sign(f[i]) || w.Values[i] == 0, $"sign of {f[i]} lost: {w.Values[i]}");
                // Round to nearest: within half a step.
                Assert.True(Math.Abs(w.Values[i] * w.Scales[c] - f[i]) <= w.Scales[c] * 0.5f * (1 + 1e-5f), $"{f[i]} -> {w.Values[i]}");
            }
            Assert.Equal(block.Sum(i => (int)w.Values[i]), w.ChannelSum(c));
        }
    }

    [Fact]
    public void Only_the_negative_extreme_is_negative_127_never_128()
    {
        var w = PerChannelWeights.Quantize(new float[] { -1f, 1f, -0.5f, 0.5f, -1f }, 1);
        Assert.Equal(new sbyte[] { -127, 127 }, w.Values.Take(2).ToArray());
        Assert.Equal(-127, w.Values[4]);
        Assert.Equal(-(int)w.Values[3], (int)w.Values[2]); // symmetric: -x and x map to -q and q
        Assert.DoesNotContain((sbyte)-128, w.Values);
    }

    [Fact]
    public void Rejects_weights_that_do_not_split_into_channels()
    {
        Assert.Throws<ArgumentException>(() => PerChannelWeights.Quantize(new float[5], 2));
        Assert.Throws<ArgumentException>(() => PerChannelWeights.Quantize(new float[4], 0));
    }
}
