using System.Collections.Generic;

namespace QuantGen.Compiler.Emit;

// Scalar math the BCL does not have: erf and the exact Gelu. The formulas are those of Ops/ScalarMath.cs (the float
// reference), computed in double and rounded once to float.
public static partial class KernelHelpers
{
    public const string ErfF32 = "ErfF32";
    public const string ErfF64 = "ErfF64";
    public const string ErfcOfPositive = "ErfcOfPositive";
    public const string GeluF32 = "GeluF32";

    private static void AddMathHelpers(Dictionary<string, string> sources, Dictionary<string, string[]> dependencies)
    {
        sources[ErfcOfPositive] = """
            /// <summary>erfc(z) for z &gt;= 0.5: Numerical Recipes' Chebyshev fit, fractional error below 1.2e-7.</summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static double ErfcOfPositive(double z)
            {
                double t = 2.0 / (2.0 + z);
                return t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
                    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
            }
            """;
        sources[ErfF64] = """
            /// <summary>erf(x) in double: Maclaurin series below |x| = 0.5 (keeps erf(-0) = -0), else 1 - erfc; NaN stays NaN, ±inf gives ±1.</summary>
            private static double ErfF64(double x)
            {
                if (x == 0) return x; // keeps the sign of zero, which the series would lose (-0 + 0 = +0)
                double z = Math.Abs(x);
                if (z < 0.5)
                {
                    double x2 = x * x, term = x, sum = x;
                    for (int n = 1; n <= 10; n++)
                    {
                        term *= -x2 / n;
                        sum += term / (2 * n + 1);
                    }
                    return sum * 1.1283791670955126;
                }
                double r = 1.0 - ErfcOfPositive(z);
                return x < 0 ? -r : r;
            }
            """;
        sources[ErfF32] = """
            /// <summary>erf of a float, computed in double and rounded once.</summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static float ErfF32(float x) => (float)ErfF64(x);
            """;
        sources[GeluF32] = """
            /// <summary>Gelu (approximate = "none"): 0.5 x (1 + erf(x / √2)), as 0.5 x erfc(|x| / √2) in the negative tail (no cancellation).</summary>
            private static float GeluF32(float value)
            {
                double x = value, u = x * 0.70710678118654752;
                if (u <= -0.5) return (float)(0.5 * x * ErfcOfPositive(-u));
                return (float)(0.5 * x * (1.0 + ErfF64(u)));
            }
            """;
        dependencies[ErfF64] = new[] { ErfcOfPositive };
        dependencies[ErfF32] = new[] { ErfF64 };
        dependencies[GeluF32] = new[] { ErfF64, ErfcOfPositive };
    }
}
