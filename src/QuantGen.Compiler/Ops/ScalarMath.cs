using System;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// Float functions the BCL lacks (erf) or lacks on netstandard2.0 (MathF), for the operators' float references.
/// <see cref="Emit.KernelHelpers"/> writes the same formulas into generated code (ErfF32, GeluLaneF32, ...), so the
/// build-time reference and the generated kernel compute the same values.
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

    // Gelu as the generated kernels compute it: in float, lane by lane, with only +, -, *, / and round-to-even, in an
    // order the Vector256, Vector128 and scalar code all follow, so every instruction-set path and this reference give
    // the same bits (KernelHelpers.Math.cs writes the same steps). Within 4e-6 relative of Gelu computed in double with Erf
    // (the worst case in the far negative tail, where Gelu is below 1e-7; 3e-7 elsewhere): float accuracy, where the double
    // formula 0.5 x (1 + erf(x / √2)) cost 15x more in generated code.

    /// <summary>
    /// e^a in float: Cephes' expf (Cody-Waite reduction by ln 2 in two parts, a degree-5 polynomial for e^r - 1 - r),
    /// scaled by 2^n through the exponent bits; within 2 ulps. 0 below -87.3 (e^-87.3 is 1.2e-38, float's least normal)
    /// and +inf above 88.3 (e^88.3 is 2.2e38; float ends at 3.4e38), so 2^n stays a normal number; NaN stays NaN.
    /// </summary>
    public static float ExpLane(float a)
    {
        if (a < -87.3f) return 0f;
        if (a > 88.3f) return float.PositiveInfinity;
        float n = (float)Math.Round(a * 1.44269504f, MidpointRounding.ToEven);
        float r = a - n * 0.693359375f;
        r = r + n * 2.12194440e-4f;
        float p = 1.9875691500e-4f;
        p = p * r + 1.3981999507e-3f;
        p = p * r + 8.3334519073e-3f;
        p = p * r + 4.1665795894e-2f;
        p = p * r + 1.6666665459e-1f;
        p = p * r + 5.0000001201e-1f;
        float e = p * (r * r) + r + 1f;
        // NaN: n is NaN and its conversion undefined, but e is NaN already and stays NaN whatever the scale.
        int exponent = float.IsNaN(n) ? 127 : (int)n + 127;
        return e * Int32BitsToSingle(exponent << 23);
    }

    /// <summary>
    /// Gelu (approximate = "none") in float: erfc(|u|), u = x / √2, by Numerical Recipes' fit with <see cref="ExpLane"/>;
    /// then x (1 - erfc / 2) for u &gt;= 0 and x erfc / 2 below, so neither tail cancels.
    /// </summary>
    public static float GeluLane(float x)
    {
        float u = x * 0.70710677f;
        float z = Math.Abs(u);
        float t = 2f / (2f + z);
        float p = -0.82215223f + t * 0.17087277f;
        p = 1.48851587f + t * p;
        p = -1.13520398f + t * p;
        p = 0.27886807f + t * p;
        p = -0.18628806f + t * p;
        p = 0.09678418f + t * p;
        p = 0.37409196f + t * p;
        p = 1.00002368f + t * p;
        float halfErfc = t * ExpLane(t * p - z * z - 1.26551223f) * 0.5f;
        if (u < 0) return x * halfErfc;
        // erfc is 0 from u = 9 on: Gelu is x there, also for x = +inf (inf * 0 would be NaN).
        return halfErfc == 0f ? x : x - x * halfErfc;
    }

    /// <summary>Gelu (approximate = "tanh") in float: 0.5 x (1 + tanh(a)) = x / (1 + e^(-2a)), a = √(2/π) (x + 0.044715 x³), no cancellation in either tail.</summary>
    public static float GeluTanhLane(float x) => x / (1f + ExpLane((x + x * x * x * 0.044715f) * -1.5957692f));

    private static float Int32BitsToSingle(int bits) => BitConverter.ToSingle(BitConverter.GetBytes(bits), 0);
}
