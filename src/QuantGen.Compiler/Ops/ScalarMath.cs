using System;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// Float functions the BCL lacks (erf) or lacks on netstandard2.0 (MathF), for the operators' float references.
/// <see cref="Emit.KernelHelpers"/> writes the same formulas into generated code (ErfF32, GeluF32), so the build-time
/// reference and the generated kernel compute the same values.
/// </summary>
internal static class ScalarMath
{
    private const double TwoOverSqrtPi = 1.1283791670955126;

    /// <summary>
    /// erf(x) in double, good to about 1e-7 relative: a Maclaurin series below 0.5 (exact to double there; keeps
    /// erf(tiny) = tiny and erf(-0) = -0), else 1 - erfc with Numerical Recipes' Chebyshev fit (fractional error &lt; 1.2e-7).
    /// NaN stays NaN, ±inf gives ±1.
    /// </summary>
    public static double Erf(double x)
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
            return sum * TwoOverSqrtPi;
        }
        double r = 1.0 - ErfcOfPositive(z);
        return x < 0 ? -r : r;
    }

    /// <summary>erfc(z) for z &gt;= 0.5 (or NaN): Numerical Recipes' erfcc, fractional error below 1.2e-7 everywhere.</summary>
    public static double ErfcOfPositive(double z)
    {
        double t = 2.0 / (2.0 + z);
        return t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
            + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
    }

    /// <summary>
    /// Gelu with approximate = "none": x * Φ(x) = 0.5 x (1 + erf(x / √2)); for x &lt;= -0.5√2 written as 0.5 x erfc(|x| / √2)
    /// so the far negative tail keeps its (tiny) relative accuracy instead of cancelling to 0.
    /// </summary>
    public static double Gelu(double x)
    {
        double u = x * 0.70710678118654752;
        if (u <= -0.5) return 0.5 * x * ErfcOfPositive(-u);
        return 0.5 * x * (1.0 + Erf(u));
    }

    /// <summary>Gelu with approximate = "tanh": 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))).</summary>
    public static double GeluTanh(double x) => 0.5 * x * (1.0 + Math.Tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}
