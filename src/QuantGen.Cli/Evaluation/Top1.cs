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

    /// <summary>
    /// The top-1 of each row of <paramref name="scores"/> (rows of <paramref name="classes"/> scores: one per sample for a
    /// classifier, one per position for a language model's [1, T, V] logits) into <paramref name="destination"/>.
    /// </summary>
    public static void ArgMaxRows(ReadOnlySpan<float> scores, int classes, Span<int> destination)
    {
        for (int r = 0; r < destination.Length; r++)
            destination[r] = ArgMax(scores.Slice(r * classes, classes), classes);
    }

    /// <summary>Percent of <paramref name="hits"/> out of <paramref name="total"/>.</summary>
    public static double Percent(long hits, long total) => total == 0 ? 0 : 100.0 * hits / total;
}
