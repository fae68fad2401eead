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
