using System;
using System.Globalization;
using QuantGen.Compiler.Ir;

namespace QuantGen.Conformance;

/// <summary>
/// Compares an output with the suite's expected tensor. Floats: |actual - expected| &lt;= 1e-4 + 1e-4 * |expected|
/// elementwise (float32 kernels against NumPy results computed in float32 or float64; the sums the node tests
/// build are short, so an absolute floor and a relative term are enough), NaN equals NaN, infinities must match.
/// Integers and bools: exact.
/// </summary>
internal static class OutputComparison
{
    public const double Absolute = 1e-4, Relative = 1e-4;

    /// <summary>Null when they match, else a one-line reason.</summary>
    public static string? Compare(string name, int[] actualShape, DataType actualType, Array actual, Tensor expected)
    {
        if (actualType != expected.Type)
            return $"output '{name}' is {actualType}, expected {expected.Type}";
        if (!Shapes.SameAs(actualShape, expected.Shape))
            return $"output '{name}' has shape {Shapes.Format(actualShape)}, expected {Shapes.Format(expected.Shape)}";
        if (actual.Length != expected.Length)
            return $"output '{name}' has {actual.Length} elements, expected {expected.Length}";

        if (expected.Type == DataType.Float)
        {
            var a = (float[])actual;
            var e = expected.Floats!;
            int worst = -1, mismatches = 0;
            double worstError = 0;
            for (int i = 0; i < a.Length; i++)
            {
                if (Close(a[i], e[i])) continue;
                mismatches++;
                double error = float.IsNaN(a[i]) || float.IsNaN(e[i]) ? double.PositiveInfinity : Math.Abs((double)a[i] - e[i]);
                if (worst < 0 || error > worstError || double.IsNaN(error)) { worst = i; worstError = error; }
            }
            return worst < 0 ? null
                : $"output '{name}': {mismatches} of {a.Length} values differ, max error {F(worstError)} at {worst} (got {F(a[worst])}, expected {F(e[worst])})";
        }

        var expectedLongs = expected.Longs!;
        for (int i = 0; i < expectedLongs.Length; i++)
        {
            long v = Convert.ToInt64(actual.GetValue(i), CultureInfo.InvariantCulture);
            if (v != expectedLongs[i])
                return $"output '{name}' differs at {i}: got {v}, expected {expectedLongs[i]}";
        }
        return null;
    }

    private static bool Close(float actual, float expected)
    {
        if (float.IsNaN(expected) || float.IsNaN(actual)) return float.IsNaN(expected) && float.IsNaN(actual);
        if (float.IsInfinity(expected) || float.IsInfinity(actual)) return actual == expected;
        return Math.Abs((double)actual - expected) <= Absolute + Relative * Math.Abs((double)expected);
    }

    private static string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}
