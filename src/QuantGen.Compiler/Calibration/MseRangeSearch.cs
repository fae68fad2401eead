using System;

namespace QuantGen.Compiler.Calibration;

/// <summary>
/// mse: the range [a, b] that minimizes the expected squared error of uint8 quantization over a value histogram:
/// <code>
///   E(a, b) = Σ_{x &lt; a} (x − a)² + Σ_{x &gt; b} (x − b)²     clipping
///           + n_inside · s² / 12,  s = (b − a) / 255            rounding, uniform over a step
/// </code>
/// Values are taken at their bin's center. Exact zeros are left out of the rounding term: the zero point represents 0
/// exactly, and post-ReLU tensors are often half zeros, which would otherwise push the range narrower than it should.
/// Every window of whole bins that holds the zero bin is tried (a ≤ 0 &lt; b; one side only for [0, R) domains), each in
/// O(1) from prefix sums of n, Σx and Σx²: about a million windows for a 2048-bin [−R, R) histogram, a few ms.
/// </summary>
public static class MseRangeSearch
{
    /// <param name="histogram">A value histogram with 0 on a bin edge (<see cref="ValueHistogramBuilder"/>).</param>
    /// <param name="zeros">How many of the counted values were exactly 0: no error at all, they are left out of every term.</param>
    /// <returns>The chosen range's ends, on bin edges.</returns>
    public static (double Low, double High) Find(Histogram histogram, long zeros = 0)
    {
        var w = new HistogramWindow(histogram, zeros);
        int n = w.Count;
        var count = new double[n + 1];
        var sum = new double[n + 1];
        var squares = new double[n + 1];
        for (int i = 0; i < n; i++)
        {
            double c = w.Bins[i], x = w.Center(i);
            count[i + 1] = count[i] + c;
            sum[i + 1] = sum[i] + c * x;
            squares[i + 1] = squares[i] + c * x * x;
        }

        double best = double.PositiveInfinity;
        int bestLow = 0, bestHigh = n;
        for (int low = 0; low <= w.ZeroBin; low++)
        {
            double a = w.Edge(low);
            // Σ_{bins < low} (x − a)² = Σx² − 2aΣx + a²n
            double left = squares[low] - 2 * a * sum[low] + a * a * count[low];
            for (int high = w.ZeroBin + 1; high <= n; high++)
            {
                double b = w.Edge(high);
                double right = (squares[n] - squares[high]) - 2 * b * (sum[n] - sum[high]) + b * b * (count[n] - count[high]);
                double step = (b - a) / (HistogramWindow.Levels - 1);
                double inside = count[high] - count[low];
                double error = left + right + inside * step * step / 12;
                if (error < best)
                {
                    best = error;
                    bestLow = low;
                    bestHigh = high;
                }
            }
        }
        return (w.Edge(bestLow), w.Edge(bestHigh));
    }
}
