using System;

namespace QuantGen.Compiler.Calibration;

/// <summary>
/// Watches one tensor's values across calibration samples and picks its range. The calibrator gives it each sample's
/// values as they are computed and keeps nothing else, so a collector's state is all the memory calibration holds
/// per tensor: make it a fixed size (a few numbers, a histogram), never a list of what it saw.
/// A new method is a new collector; see <see cref="RangeCollectors.Create"/>.
/// </summary>
public interface IRangeCollector
{
    /// <summary>One sample's values of the tensor. May contain NaN and infinities; the range leaves them out.</summary>
    void Observe(ReadOnlySpan<float> values);

    /// <summary>The statistics to record, or null when no finite value was seen. May be called more than once.</summary>
    TensorStatistics? Finish();
}

/// <summary>Settings of the histogram methods; minmax ignores them.</summary>
public sealed class CalibratorSettings
{
    /// <summary>Percentile of |x| kept by <see cref="CalibrationMethod.Percentile"/>, in (0, 100].</summary>
    public double Percentile { get; set; } = 99.99;

    /// <summary>Bins of each histogram (|x| for percentile, x for entropy and mse): a power of two from 16 to 2^20.</summary>
    public int HistogramBins { get; set; } = AbsHistogramBuilder.DefaultBins;

    /// <summary>Whether histogram methods write their histograms to the file (2048 counts per tensor by default).</summary>
    public bool KeepHistograms { get; set; } = true;
}

/// <summary>The collectors QuantGen knows, by method.</summary>
public static class RangeCollectors
{
    public static IRangeCollector Create(CalibrationMethod method, CalibratorSettings? settings = null)
    {
        settings ??= new CalibratorSettings();
        return method switch
        {
            CalibrationMethod.MinMax => new MinMaxCollector(),
            CalibrationMethod.Percentile => new PercentileCollector(settings.Percentile, settings.HistogramBins, settings.KeepHistograms),
            CalibrationMethod.Entropy or CalibrationMethod.Mse => new HistogramSearchCollector(method, settings.HistogramBins, settings.KeepHistograms),
            _ => throw new ArgumentOutOfRangeException(nameof(method)),
        };
    }

    /// <summary>NaN and ±infinity: x − x is NaN for them and 0 for every finite x.</summary>
    internal static bool IsFinite(float x) => x - x == 0;
}

/// <summary>minmax: the smallest and largest finite value seen.</summary>
public sealed class MinMaxCollector : IRangeCollector
{
    private float _min = float.PositiveInfinity;
    private float _max = float.NegativeInfinity;
    private long _count;
    private long _nonFinite;

    /// <summary>Finite values seen.</summary>
    public long Count => _count;

    public void Observe(ReadOnlySpan<float> values)
    {
        float min = _min, max = _max;
        long nonFinite = 0;
        for (int i = 0; i < values.Length; i++)
        {
            float x = values[i];
            if (!RangeCollectors.IsFinite(x))
            {
                nonFinite++;
                continue;
            }
            if (x < min) min = x;
            if (x > max) max = x;
        }
        _min = min;
        _max = max;
        _nonFinite += nonFinite;
        _count += values.Length - nonFinite;
    }

    public TensorStatistics? Finish() =>
        _count == 0 ? null : new TensorStatistics(Positive(_min), Positive(_max), null, _nonFinite);

    /// <summary>-0 becomes 0, so which of 0 and -0 came first does not show in the file.</summary>
    private static float Positive(float x) => x == 0 ? 0f : x;
}

/// <summary>
/// A histogram of |x| in a fixed number of bins over [0, R), built in one pass with no idea of the range up front:
/// R is the smallest power of two above every |x| seen, and when a larger value arrives R doubles and neighbouring
/// bins merge in pairs. With R and the bin count powers of two, the bin of a value is exact arithmetic, so the result
/// is the same whatever order the values come in, and equals a histogram built with the final R from the start.
/// The price: the largest value lands in the upper half, so between half and all of the bins are in use.
/// </summary>
public sealed class AbsHistogramBuilder
{
    public const int DefaultBins = 2048;

    private readonly long[] _bins;
    private double _range;
    private double _scale;

    public AbsHistogramBuilder(int bins = DefaultBins)
    {
        if (bins < 16 || bins > 1 << 20 || (bins & (bins - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(bins), "the bin count must be a power of two from 16 to 2^20");
        _bins = new long[bins];
    }

    /// <summary>Values counted.</summary>
    public long Count { get; private set; }

    /// <summary>R: the histogram covers [0, R); 0 while only zeros have been seen.</summary>
    public double Range => _range;

    public int BinCount => _bins.Length;

    /// <summary>The count in bin <paramref name="index"/>, which covers [index·R/bins, (index+1)·R/bins).</summary>
    public long this[int index] => _bins[index];

    /// <summary>Counts |x|; <paramref name="x"/> must be finite.</summary>
    public void Add(float x)
    {
        double a = Math.Abs((double)x);
        Count++;
        if (a == 0)
        {
            _bins[0]++;
            return;
        }
        if (a >= _range)
            Grow(a);
        _bins[(int)(a * _scale)]++;
    }

    /// <summary>The smallest upper bin edge with at least <paramref name="percentile"/>% of the values at or below it (0 when only zeros were seen).</summary>
    public double Threshold(double percentile)
    {
        if (!(percentile > 0 && percentile <= 100))
            throw new ArgumentOutOfRangeException(nameof(percentile), "the percentile must be in (0, 100]");
        if (Count == 0 || _range == 0)
            return 0;
        long target = Math.Min(Count, Math.Max(1, (long)Math.Ceiling(percentile / 100 * Count)));
        long cumulative = 0;
        for (int i = 0; i < _bins.Length; i++)
        {
            cumulative += _bins[i];
            if (cumulative >= target)
                return (i + 1) * (_range / _bins.Length);
        }
        return _range;
    }

    /// <summary>The histogram for the file, or null when nothing was counted. Only zeros: a range of [0, 1).</summary>
    public Histogram? ToHistogram() =>
        Count == 0 ? null : new Histogram(HistogramDomain.Abs, 0, _range == 0 ? 1 : _range, _bins);

    private void Grow(double a)
    {
        if (_range == 0)
        {
            // First non-zero value: the zeros so far stay in bin 0 whatever R becomes.
            double r = 1;
            while (r <= a) r *= 2;
            while (r / 2 > a) r /= 2;
            _range = r;
        }
        else
        {
            int n = _bins.Length;
            while (_range <= a)
            {
                for (int i = 0; i < n / 2; i++)
                    _bins[i] = _bins[2 * i] + _bins[2 * i + 1];
                Array.Clear(_bins, n / 2, n / 2);
                _range *= 2;
            }
        }
        _scale = _bins.Length / _range;
    }
}

/// <summary>
/// percentile: the range clipped to ±T, T the <see cref="Percentile"/>-th percentile of |x| (to the histogram's upper
/// bin edge, so never below it). Symmetric in magnitude, so a rare outlier on either side is clipped; a post-ReLU
/// tensor keeps its 0. The |x| histogram goes in the file when asked for.
/// </summary>
public sealed class PercentileCollector : IRangeCollector
{
    private readonly MinMaxCollector _minMax = new();
    private readonly AbsHistogramBuilder _histogram;
    private readonly bool _keepHistogram;

    public PercentileCollector(double percentile = 99.99, int bins = AbsHistogramBuilder.DefaultBins, bool keepHistogram = true)
    {
        if (!(percentile > 0 && percentile <= 100))
            throw new ArgumentOutOfRangeException(nameof(percentile), "the percentile must be in (0, 100]");
        Percentile = percentile;
        _histogram = new AbsHistogramBuilder(bins);
        _keepHistogram = keepHistogram;
    }

    public double Percentile { get; }

    public void Observe(ReadOnlySpan<float> values)
    {
        _minMax.Observe(values);
        for (int i = 0; i < values.Length; i++)
        {
            float x = values[i];
            if (RangeCollectors.IsFinite(x))
                _histogram.Add(x);
        }
    }

    public TensorStatistics? Finish()
    {
        var range = _minMax.Finish();
        if (range == null)
            return null;
        double t = _histogram.Threshold(Percentile);
        float min = (float)Math.Max(range.Min, -t), max = (float)Math.Min(range.Max, t);
        if (min > max)
            (min, max) = (range.Min, range.Max); // cannot happen (T is above the smallest |x|), but never write an inverted range
        return new TensorStatistics(min == 0 ? 0f : min, max == 0 ? 0f : max, _keepHistogram ? _histogram.ToHistogram() : null, range.NonFinite);
    }
}
