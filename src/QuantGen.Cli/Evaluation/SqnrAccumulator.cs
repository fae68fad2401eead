using System;

namespace QuantGen.Cli.Evaluation;

/// <summary>
/// Signal-to-quantization-noise ratio of one tensor over many samples, accumulated as two sums of squares so that no
/// sample's values are kept: SQNR = 10 log10(Σ x² / Σ (x - x̂)²) over every element of every sample, x the FP32
/// value and x̂ the INT8 value dequantized. Summing energies (not averaging per-sample dB) weights every element
/// equally, the way the noise adds up downstream.
/// </summary>
internal sealed class SqnrAccumulator
{
    public double SignalEnergy { get; private set; }

    public double NoiseEnergy { get; private set; }

    public long Elements { get; private set; }

    public void Add(ReadOnlySpan<float> reference, ReadOnlySpan<float> quantized)
    {
        if (reference.Length != quantized.Length)
            throw new ArgumentException($"{reference.Length} reference values, {quantized.Length} quantized");
        // double sums: 10,000 samples of 10^5 elements each would lose the small terms in float.
        double signal = 0, noise = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double x = reference[i];
            double d = x - quantized[i];
            signal += x * x;
            noise += d * d;
        }
        SignalEnergy += signal;
        NoiseEnergy += noise;
        Elements += reference.Length;
    }

    /// <summary>In dB; +∞ when the INT8 values are exact, -∞ when the reference is all zeros and the INT8 values are not.</summary>
    public double Sqnr => Decibels(SignalEnergy, NoiseEnergy);

    public static double Decibels(double signal, double noise)
    {
        if (noise == 0) return double.PositiveInfinity;
        if (signal == 0) return double.NegativeInfinity;
        return 10 * Math.Log10(signal / noise);
    }
}
