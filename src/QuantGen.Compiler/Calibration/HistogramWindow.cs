using System;

namespace QuantGen.Compiler.Calibration;

/// <summary>
/// What the range searches (entropy, mse) share: a value histogram whose domain has 0 on a bin edge (the domains
/// <see cref="ValueHistogramBuilder"/> makes, [0, R) or [−R, R)), and candidate ranges that are windows of whole bins
/// [edge(low), edge(high)) containing the bin that starts at 0, because the quantizer always widens a range to hold 0.
/// </summary>
internal readonly struct HistogramWindow
{
    /// <summary>uint8 activations: 256 codes, 255 steps between the ends of the range.</summary>
    public const int Levels = 256;

    /// <param name="zeros">Values exactly 0, taken out of the bin that starts at 0 and kept in <see cref="Zeros"/>.</param>
    public HistogramWindow(Histogram histogram, long zeros = 0)
    {
        if (histogram == null) throw new ArgumentNullException(nameof(histogram));
        if (histogram.Domain != HistogramDomain.Value)
            throw new ArgumentException("the range searches need a histogram of the values (\"value\"), not of |x|", nameof(histogram));
        Bins = new long[histogram.Bins.Count];
        for (int i = 0; i < Bins.Length; i++)
            Bins[i] = histogram.Bins[i];
        Min = histogram.Min;
        Width = (histogram.Max - histogram.Min) / Bins.Length;
        double zero = -Min / Width;
        if (!(zero >= 0 && zero < Bins.Length && zero == Math.Floor(zero)))
            throw new ArgumentException($"0 must be a bin edge inside the histogram's domain [{histogram.Min}, {histogram.Max})", nameof(histogram));
        ZeroBin = (int)zero;
        if (zeros < 0 || zeros > Bins[ZeroBin])
            throw new ArgumentOutOfRangeException(nameof(zeros), $"{zeros} exact zeros, but the bin of 0 holds {Bins[ZeroBin]} values");
        Bins[ZeroBin] -= zeros;
        Zeros = zeros;
    }

    /// <summary>Values exactly 0, not in <see cref="Bins"/>.</summary>
    public long Zeros { get; }

    public long[] Bins { get; }
    public double Min { get; }
    public double Width { get; }

    /// <summary>The bin that starts at 0: every candidate window holds it.</summary>
    public int ZeroBin { get; }

    public int Count => Bins.Length;

    /// <summary>The value at the lower edge of bin <paramref name="index"/> (index = Count: the upper end of the domain).</summary>
    public double Edge(int index) => Min + index * Width;

    public double Center(int index) => Min + (index + 0.5) * Width;
}
