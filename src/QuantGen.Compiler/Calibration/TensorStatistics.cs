using System;
using System.Collections.Generic;
using System.Linq;

namespace QuantGen.Compiler.Calibration;

/// <summary>How a calibration file's ranges were chosen; written as the lower-case name.</summary>
public enum CalibrationMethod
{
    /// <summary>The smallest and largest value seen ("minmax").</summary>
    MinMax,

    /// <summary>The range clipped at a percentile of |x| ("percentile").</summary>
    Percentile,

    /// <summary>The clipping threshold that minimizes the KL divergence of the quantized distribution ("entropy").</summary>
    Entropy,

    /// <summary>The clipping threshold that minimizes the mean squared quantization error ("mse").</summary>
    Mse,
}

/// <summary>What a <see cref="Histogram"/> counts.</summary>
public enum HistogramDomain
{
    /// <summary>The values themselves ("value"), over [min, max).</summary>
    Value,

    /// <summary>Their magnitudes |x| ("abs"), over [0, max).</summary>
    Abs,
}

/// <summary>Names of <see cref="CalibrationMethod"/> and <see cref="HistogramDomain"/> in the file.</summary>
public static class CalibrationNames
{
    public static string Of(CalibrationMethod method) => method switch
    {
        CalibrationMethod.MinMax => "minmax",
        CalibrationMethod.Percentile => "percentile",
        CalibrationMethod.Entropy => "entropy",
        CalibrationMethod.Mse => "mse",
        _ => throw new ArgumentOutOfRangeException(nameof(method)),
    };

    public static bool TryParseMethod(string name, out CalibrationMethod method)
    {
        foreach (CalibrationMethod m in Enum.GetValues(typeof(CalibrationMethod)))
        {
            if (Of(m) == name)
            {
                method = m;
                return true;
            }
        }
        method = default;
        return false;
    }

    public static string Of(HistogramDomain domain) => domain == HistogramDomain.Abs ? "abs" : "value";

    /// <summary>"minmax, percentile, entropy or mse": for messages.</summary>
    public static string AllMethods => "minmax, percentile, entropy or mse";
}

/// <summary>
/// Counts of values in <see cref="Bins"/> equal-width bins over [<see cref="Min"/>, <see cref="Max"/>) of the
/// <see cref="Domain"/>; bin i covers [Min + i·w, Min + (i+1)·w) with w = (Max − Min) / Bins.Length.
/// </summary>
public sealed class Histogram : IEquatable<Histogram>
{
    /// <exception cref="ArgumentException">No bins, a negative count, a non-finite or empty range, or an |x| histogram not starting at 0.</exception>
    public Histogram(HistogramDomain domain, double min, double max, IReadOnlyList<long> bins)
    {
        if (bins == null) throw new ArgumentNullException(nameof(bins));
        string? problem = Check(domain, min, max, bins);
        if (problem != null) throw new ArgumentException(problem);
        Domain = domain;
        Min = min;
        Max = max;
        Bins = bins.ToArray();
    }

    public HistogramDomain Domain { get; }
    public double Min { get; }
    public double Max { get; }
    public IReadOnlyList<long> Bins { get; }

    public long Total => Bins.Sum();

    internal static string? Check(HistogramDomain domain, double min, double max, IReadOnlyList<long> bins)
    {
        if (bins.Count == 0) return "a histogram needs at least one bin";
        if (bins.Any(b => b < 0)) return "histogram counts cannot be negative";
        if (!IsFinite(min) || !IsFinite(max)) return "the histogram range must be finite";
        if (!(min < max)) return $"the histogram range is empty (min {min} is not below max {max})";
        if (domain == HistogramDomain.Abs && min != 0) return "a histogram of |x| starts at 0";
        return null;
    }

    internal static bool IsFinite(double d) => !double.IsNaN(d) && !double.IsInfinity(d);

    public bool Equals(Histogram? other) =>
        other != null && Domain == other.Domain && Min.Equals(other.Min) && Max.Equals(other.Max) && Bins.SequenceEqual(other.Bins);

    public override bool Equals(object? obj) => Equals(obj as Histogram);

    public override int GetHashCode() => (Domain, Min, Max, Bins.Count).GetHashCode();
}

/// <summary>
/// What calibration learned about one tensor. <see cref="Min"/> and <see cref="Max"/> are the range to quantize to, as
/// the method chose it (for minmax the extremes seen; for percentile the clipped range); the quantizer widens it to
/// include 0. <see cref="Histogram"/> is there when the method kept one. <see cref="NonFinite"/> counts NaN and
/// infinite values, which the range leaves out (an attention mask's -inf, for instance).
/// </summary>
public sealed class TensorStatistics : IEquatable<TensorStatistics>
{
    /// <exception cref="ArgumentException">A non-finite bound, <paramref name="min"/> above <paramref name="max"/>, or a negative count.</exception>
    public TensorStatistics(float min, float max, Histogram? histogram = null, long nonFinite = 0)
    {
        string? problem = Check(min, max);
        if (problem != null) throw new ArgumentException(problem);
        if (nonFinite < 0) throw new ArgumentOutOfRangeException(nameof(nonFinite), "the count of non-finite values cannot be negative");
        Min = min;
        Max = max;
        Histogram = histogram;
        NonFinite = nonFinite;
    }

    public float Min { get; }
    public float Max { get; }
    public Histogram? Histogram { get; }
    public long NonFinite { get; }

    internal static string? Check(float min, float max)
    {
        if (!Histogram.IsFinite(min) || !Histogram.IsFinite(max)) return $"the range [{min}, {max}] is not finite";
        if (min > max) return $"min {min} is greater than max {max}";
        return null;
    }

    public bool Equals(TensorStatistics? other) =>
        other != null && Min.Equals(other.Min) && Max.Equals(other.Max) && NonFinite == other.NonFinite && Equals(Histogram, other.Histogram);

    public override bool Equals(object? obj) => Equals(obj as TensorStatistics);

    public override int GetHashCode() => (Min, Max, NonFinite).GetHashCode();

    public override string ToString() => $"[{Min}, {Max}]" + (Histogram != null ? $" + {Histogram.Bins.Count}-bin histogram" : "");
}
