using System;

namespace QuantGen.Compiler.Calibration;

/// <summary>
/// entropy: the range whose uint8 quantization loses the least information, measured as the KL divergence between the
/// histogram clipped to the range (P) and its quantized version (Q), after the calibrator of "8-bit Inference with
/// TensorRT" (Migacz, GTC 2017), as MXNet and ONNX Runtime implement it. For a window of n bins:
/// <list type="number">
/// <item>P = the window's bins, with everything left of it added to its first bin and everything right of it to its
/// last (clipped values are not lost, they pile up at the ends);</item>
/// <item>Q = the window's bins (without those outliers) merged into 256 groups of about n/256 bins, each group's count
/// spread evenly over the bins of the group that are non-zero in P;</item>
/// <item>both smoothed (zeros become ε = 0.0001, taken from the non-zero bins), normalized, and KL(P‖Q) = Σ p·ln(p/q).</item>
/// </list>
/// TensorRT's activations are int8 and symmetric: it searches one threshold T over a histogram of |x| with 128 levels.
/// QuantGen's are uint8 and asymmetric, so the window has 256 levels and two ends:
/// <list type="bullet">
/// <item>a [0, R) histogram (no negative value seen: post-ReLU tensors, pixels) searches the upper end only, over every
/// window [0, edge(h)) of at least 256 bins: TensorRT's search with 256 levels;</item>
/// <item>a [−R, R) histogram searches both ends by coordinate descent: the best upper end for the current lower end,
/// then the best lower end for that upper end, until neither moves (a few rounds; at most 16). A full 2-D search
/// would cost a million O(n) divergences per tensor; the two sides interact only through the shared step, which
/// the alternation follows.</item>
/// </list>
/// Exact zeros (post-ReLU tensors are often half zeros) are taken out of the bin that starts at 0 and kept as one more
/// element, equal in P and Q: the zero point represents 0 exactly, so merging them with their neighbours in Q is an error
/// quantization does not make, and that spike would otherwise dominate the divergence (and favour any window whose first
/// group happens to be a single bin).
/// One more deliberate difference: TensorRT's and MXNet's code make groups of ⌊n/L⌋ bins and give the last group the
/// remainder, so a window of 511 bins is 255 groups of one bin (Q = P there) and one group of 256: its divergence is
/// artificially small, and on the sample models every search picked a window just under a multiple of 256 bins.
/// Here group j covers bins [⌊j·n/L⌋, ⌊(j+1)·n/L⌋), so the groups differ by one bin at most.
/// Windows always hold the bin that starts at 0 and are at least 256 bins wide (fewer than 256 bins per range would
/// make Q finer than P), or the whole histogram when it has fewer bins.
/// </summary>
public static class EntropyRangeSearch
{
    private const double Epsilon = 0.0001;
    private const int MaxRounds = 16;

    /// <param name="histogram">A value histogram with 0 on a bin edge (<see cref="ValueHistogramBuilder"/>).</param>
    /// <param name="zeros">How many of the counted values were exactly 0 (<see cref="ValueHistogramBuilder.Zeros"/>).</param>
    /// <returns>The chosen range's ends, on bin edges.</returns>
    public static (double Low, double High) Find(Histogram histogram, long zeros = 0)
    {
        var w = new HistogramWindow(histogram, zeros);
        int n = w.Count;
        int minWidth = Math.Min(HistogramWindow.Levels, n);
        var prefix = new long[n + 1];
        for (int i = 0; i < n; i++)
            prefix[i + 1] = prefix[i] + w.Bins[i];
        if (prefix[n] == 0)
            return (w.Edge(0), w.Edge(n));

        var scratch = new Scratch(n);
        int low = 0, high = n;
        for (int round = 0; round < MaxRounds; round++)
        {
            int newHigh = BestHigh(w, prefix, low, minWidth, scratch);
            int newLow = w.ZeroBin == 0 ? 0 : BestLow(w, prefix, newHigh, minWidth, scratch);
            bool moved = newHigh != high || newLow != low;
            (low, high) = (newLow, newHigh);
            if (!moved || w.ZeroBin == 0)
                break;
        }
        return (w.Edge(low), w.Edge(high));
    }

    /// <summary>KL(P‖Q) of the window [low, high) of bins; +∞ when it cannot be smoothed (an empty P or Q).</summary>
    public static double Divergence(Histogram histogram, int low, int high, long zeros = 0)
    {
        var w = new HistogramWindow(histogram, zeros);
        var prefix = new long[w.Count + 1];
        for (int i = 0; i < w.Count; i++)
            prefix[i + 1] = prefix[i] + w.Bins[i];
        return Divergence(w, prefix, low, high, new Scratch(w.Count));
    }

    private static int BestHigh(in HistogramWindow w, long[] prefix, int low, int minWidth, Scratch scratch)
    {
        int best = w.Count;
        double bestDivergence = double.PositiveInfinity;
        for (int high = Math.Max(w.ZeroBin + 1, low + minWidth); high <= w.Count; high++)
        {
            double d = Divergence(w, prefix, low, high, scratch);
            if (d < bestDivergence)
            {
                bestDivergence = d;
                best = high;
            }
        }
        return best;
    }

    private static int BestLow(in HistogramWindow w, long[] prefix, int high, int minWidth, Scratch scratch)
    {
        int best = 0;
        double bestDivergence = double.PositiveInfinity;
        for (int low = Math.Min(w.ZeroBin, high - minWidth); low >= 0; low--)
        {
            double d = Divergence(w, prefix, low, high, scratch);
            if (d < bestDivergence)
            {
                bestDivergence = d;
                best = low;
            }
        }
        return best;
    }

    private static double Divergence(in HistogramWindow w, long[] prefix, int low, int high, Scratch scratch)
    {
        int n = high - low;
        double[] p = scratch.P, q = scratch.Q;
        for (int i = 0; i < n; i++)
            p[i] = w.Bins[low + i];
        p[0] += prefix[low];
        p[n - 1] += prefix[w.Count] - prefix[high];

        int levels = Math.Min(HistogramWindow.Levels, n);
        for (int j = 0; j < levels; j++)
        {
            // Level j covers bins [j·n/L, (j+1)·n/L): groups of ⌊n/L⌋ or ⌈n/L⌉ bins spread evenly (see the class notes).
            int start = (int)((long)j * n / levels), stop = (int)((long)(j + 1) * n / levels);
            double total = 0;
            int nonZero = 0;
            for (int i = start; i < stop; i++)
            {
                total += w.Bins[low + i];
                if (p[i] != 0) nonZero++;
            }
            double each = nonZero == 0 ? 0 : total / nonZero;
            for (int i = start; i < stop; i++)
                q[i] = p[i] != 0 ? each : 0;
        }
        if (!Smooth(p, n) || !Smooth(q, n))
            return double.PositiveInfinity;

        // Exact zeros are one more element, the same in P and Q: quantization keeps them exactly.
        double sumP = w.Zeros, sumQ = w.Zeros;
        for (int i = 0; i < n; i++)
        {
            sumP += p[i];
            sumQ += q[i];
        }
        double divergence = w.Zeros == 0 ? 0 : w.Zeros / sumP * Math.Log(sumQ / sumP);
        for (int i = 0; i < n; i++)
        {
            double pi = p[i] / sumP;
            divergence += pi * Math.Log(pi / (q[i] / sumQ));
        }
        return divergence;
    }

    /// <summary>Zeros become ε and the non-zero bins give that mass back; false when nothing is non-zero or a bin would go negative.</summary>
    private static bool Smooth(double[] values, int n)
    {
        int zeros = 0;
        for (int i = 0; i < n; i++)
            if (values[i] == 0) zeros++;
        int nonZeros = n - zeros;
        if (nonZeros == 0)
            return false;
        double take = Epsilon * zeros / nonZeros;
        for (int i = 0; i < n; i++)
        {
            if (values[i] == 0)
                values[i] = Epsilon;
            else if ((values[i] -= take) <= 0)
                return false;
        }
        return true;
    }

    private sealed class Scratch
    {
        public Scratch(int n)
        {
            P = new double[n];
            Q = new double[n];
        }

        public double[] P { get; }
        public double[] Q { get; }
    }
}
