using System;
using QuantGen.Cli.Evaluation;
using Xunit;

namespace QuantGen.Cli.Tests.Evaluation;

public sealed class SqnrAccumulatorTests
{
    [Fact]
    public void Sums_energies_over_samples_rather_than_averaging_decibels()
    {
        var a = new SqnrAccumulator();
        a.Add(new float[] { 3, 4 }, new float[] { 3, 4 });          // signal 25, noise 0
        a.Add(new float[] { 1, 0 }, new float[] { 0, 0 });          // signal 1, noise 1
        Assert.Equal(26, a.SignalEnergy);
        Assert.Equal(1, a.NoiseEnergy);
        Assert.Equal(4, a.Elements);
        Assert.Equal(10 * Math.Log10(26), a.Sqnr, 12);
    }

    [Fact]
    public void Exact_values_are_infinite_and_noise_on_silence_is_minus_infinite()
    {
        var exact = new SqnrAccumulator();
        exact.Add(new float[] { 1, -2 }, new float[] { 1, -2 });
        Assert.Equal(double.PositiveInfinity, exact.Sqnr);
        var silence = new SqnrAccumulator();
        silence.Add(new float[] { 0 }, new float[] { 0.5f });
        Assert.Equal(double.NegativeInfinity, silence.Sqnr);
        Assert.Throws<ArgumentException>(() => exact.Add(new float[2], new float[3]));
    }

    [Fact]
    public void A_uniform_quantizer_gives_about_six_decibels_a_bit()
    {
        // A full-scale sine through an 8-bit uniform quantizer: 6.02 * 8 + 1.76 = 49.9 dB.
        var a = new SqnrAccumulator();
        var x = new float[10000];
        var q = new float[x.Length];
        float step = 2f / 255;
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)Math.Sin(i * 0.01237);
            q[i] = MathF.Round(x[i] / step) * step;
        }
        a.Add(x, q);
        Assert.InRange(a.Sqnr, 49, 51);
    }
}

public sealed class LayerErrorTests
{
    [Fact]
    public void Own_sqnr_is_the_noise_added_on_top_of_the_worst_input()
    {
        // Input at 30 dB (noise 0.001 of the signal), output at 20 dB (0.01): the node adds 0.009, 20.46 dB.
        var row = new LayerError("y", "n", "Conv", "integer kernel", true, Sqnr: 20, Elements: 1, InputSqnr: 30);
        Assert.Equal(0.009, row.AddedNoise, 12);
        Assert.Equal(-10 * Math.Log10(0.009), row.OwnSqnr, 9);
        // Without a measured input the node carries all its noise; a node that makes the error no worse adds none.
        Assert.Equal(20, new LayerError("y", "n", "Conv", "", true, 20, 1).OwnSqnr, 9);
        Assert.Equal(double.PositiveInfinity, new LayerError("y", "n", "Relu", "", true, 31, 1, 30).OwnSqnr);
    }
}
