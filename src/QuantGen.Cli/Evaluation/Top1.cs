using System;

namespace QuantGen.Cli.Evaluation;

/// <summary>Top-1: the index of the largest output (the first one on ties, as numpy.argmax).</summary>
internal static class Top1
{
    public static int ArgMax(ReadOnlySpan<float> scores, int length)
    {
        int best = 0;
        for (int i = 1; i < length; i++)
            if (scores[i] > scores[best]) best = i;
        return best;
    }

    /// <summary>Percent of <paramref name="hits"/> out of <paramref name="total"/>.</summary>
    public static double Percent(long hits, long total) => total == 0 ? 0 : 100.0 * hits / total;
}
