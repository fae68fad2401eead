using System;

namespace QuantGen.Compiler.Calibration;

/// <summary>
/// A histogram of the values x themselves (not |x|) in a fixed number of bins, built in one pass with no range known up
/// front, for the methods that choose each side of an asymmetric range (entropy, mse). Its domain is [0, R) while no
/// negative value has been seen and [−R, R) after, R the smallest power of two above every |x| seen:
/// <list type="bullet">
/// <item>a value with |x| ≥ R doubles R (repeatedly): the domain's width doubles, so neighbouring bins merge in pairs
/// and the old bins land in the lower half ([0, R)) or the middle half ([−R, R)) of the new ones;</item>
/// <item>the first negative value turns [0, R) into [−R, R): the width doubles again, the old bins merge in pairs into
/// the upper half.</item>
/// </list>
/// With R and the bin count powers of two, every bin edge is k·R/2^m, the bin of a value is exact arithmetic and
/// merging two bins is exactly the bin of the doubled width: the final histogram is the one a builder that knew the
/// final domain from the start would have built, whatever the order of the values and however they were batched.
/// Memory is the bins, fixed; a merge allocates one scratch array, which happens at most once per doubling of the
/// range (a few dozen times in a tensor's life at worst).
/// </summary>
public sealed class ValueHistogramBuilder
{
    private long[] _bins;
    private double _range;
    private double _scale;
    private long _pendingZeros;

    public ValueHistogramBuilder(int bins = AbsHistogramBuilder.DefaultBins)
    {
        if (bins < 16 || bins > 1 << 20 || (bins & (bins - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(bins), "the bin count must be a power of two from 16 to 2^20");
        _bins = new long[bins];
    }

    /// <summary>Values counted.</summary>
    public long Count { get; private set; }

    /// <summary>Values that were exactly 0 (or −0): quantization represents them exactly (the zero point), mse uses it.</summary>
    public long Zeros { get; private set; }

    /// <summary>R; 0 while only zeros have been seen.</summary>
    public double Range => _range;

    /// <summary>Whether a negative value was seen: the domain is then [−R, R), else [0, R).</summary>
    public bool Signed { get; private set; }

    public int BinCount => _bins.Length;

    /// <summary>The lower end of the domain: −R or 0.</summary>
    public double Low => Signed ? -_range : 0;

    /// <summary>The upper end of the domain, R; 1 when only zeros were seen (so the domain is never empty).</summary>
    public double High => _range == 0 ? 1 : _range;

    /// <summary>The count in bin <paramref name="index"/>, which covers [Low + index·w, Low + (index+1)·w).</summary>
    public long this[int index] => _range == 0 ? (index == 0 ? _pendingZeros : 0) : _bins[index];

    /// <summary>Counts x, which must be finite.</summary>
    public void Add(float x)
    {
        Count++;
        if (x == 0)
        {
            Zeros++;
            if (_range == 0)
                _pendingZeros++; // The bin of 0 depends on whether negatives come: decided with the first non-zero.
            else
                _bins[ZeroBin]++;
            return;
        }
        double a = Math.Abs((double)x);
        if (_range == 0)
            Start(a, x < 0);
        else
        {
            if (a >= _range)
                Double(a);
            if (x < 0 && !Signed)
                BecomeSigned();
        }
        // Exact: x·scale multiplies by a power of two, and floor of an exact value is exact. (x + R)·scale would not
        // be: a tiny negative x plus R rounds to R and would land in the bin above 0.
        _bins[Signed ? _bins.Length / 2 + (int)Math.Floor(x * _scale) : (int)(x * _scale)]++;
    }

    /// <summary>The histogram for the file and for the range searches ("of": "value").</summary>
    public Histogram ToHistogram()
    {
        var bins = new long[_bins.Length];
        for (int i = 0; i < bins.Length; i++)
            bins[i] = this[i];
        return new Histogram(HistogramDomain.Value, Low, High, bins);
    }

    private int ZeroBin => Signed ? _bins.Length / 2 : 0;

    private void Start(double a, bool negative)
    {
        double r = 1;
        while (r <= a) r *= 2;
        while (r / 2 > a) r /= 2;
        _range = r;
        Signed = negative;
        _bins[ZeroBin] += _pendingZeros;
        _pendingZeros = 0;
        UpdateScale();
    }

    private void Double(double a)
    {
        int n = _bins.Length;
        while (_range <= a)
        {
            // Old bin i covers half of new bin (offset + i/2), offset 0 for [0, R) and n/4 for [−R, R) (the old
            // domain is the middle half of the new one).
            Merge(Signed ? n / 4 : 0);
            _range *= 2;
        }
        UpdateScale();
    }

    private void BecomeSigned()
    {
        // [0, R) becomes the upper half of [−R, R), whose bins are twice as wide.
        Merge(_bins.Length / 2);
        Signed = true;
        UpdateScale();
    }

    private void Merge(int offset)
    {
        var merged = new long[_bins.Length];
        for (int i = 0; i < _bins.Length; i += 2)
            merged[offset + i / 2] = _bins[i] + _bins[i + 1];
        _bins = merged;
    }

    private void UpdateScale() => _scale = _bins.Length / (Signed ? 2 * _range : _range);
}
