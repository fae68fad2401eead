using System.Collections.Generic;

namespace QuantGen.Compiler.Emit;

// Math the BCL does not have. Erf: the formula of Ops/ScalarMath.cs (the float reference), in double, rounded once.
// Gelu: ScalarMath's lane functions, in float, step for step in Vector256, Vector128 and scalar code, so every path and
// the reference give the same bits; 8 lanes are about 15x faster than the double formula (a transformer's MLP applies
// Gelu to 4 x hidden values per token).
public static partial class KernelHelpers
{
    public const string ErfF32 = "ErfF32";
    public const string ErfF64 = "ErfF64";
    public const string ErfcOfPositive = "ErfcOfPositive";
    public const string ExpLaneF32 = "ExpLaneF32";
    public const string ExpLanes = "ExpLanes";
    public const string GeluLaneF32 = "GeluLaneF32";
    public const string GeluRowF32 = "GeluRowF32";
    public const string GeluTanhRowF32 = "GeluTanhRowF32";

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
        sources[ExpLaneF32] = """
            /// <summary>e^a in float, as the vector lanes compute it (ScalarMath.ExpLane): Cephes' expf; 0 below -87.3, +inf above 88.3.</summary>
            private static float ExpLaneF32(float a)
            {
                if (a < -87.3f) return 0f;
                if (a > 88.3f) return float.PositiveInfinity;
                float n = MathF.Round(a * 1.44269504f);
                float r = a - n * 0.693359375f;
                r = r + n * 2.12194440e-4f;
                float p = 1.9875691500e-4f;
                p = p * r + 1.3981999507e-3f;
                p = p * r + 8.3334519073e-3f;
                p = p * r + 4.1665795894e-2f;
                p = p * r + 1.6666665459e-1f;
                p = p * r + 5.0000001201e-1f;
                float e = p * (r * r) + r + 1f;
                int exponent = float.IsNaN(n) ? 127 : (int)n + 127;
                return e * BitConverter.Int32BitsToSingle(exponent << 23);
            }
            """;
        sources[ExpLanes] = """
            /// <summary>
            /// e^a in 8 and 4 lanes, step for step as ExpLaneF32: n = round(a log2 e), r = a - n ln 2 (in two parts), a
            /// degree-5 polynomial, times 2^n built in the exponent bits; lanes out of range are replaced by 0 and +inf.
            /// </summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static Vector256<float> ExpLanes(Vector256<float> a)
            {
                var n = Vector256.Round(a * 1.44269504f);
                var r = a - n * 0.693359375f;
                r = r + n * 2.12194440e-4f;
                var p = Vector256.Create(1.9875691500e-4f);
                p = p * r + Vector256.Create(1.3981999507e-3f);
                p = p * r + Vector256.Create(8.3334519073e-3f);
                p = p * r + Vector256.Create(4.1665795894e-2f);
                p = p * r + Vector256.Create(1.6666665459e-1f);
                p = p * r + Vector256.Create(5.0000001201e-1f);
                var e = p * (r * r) + r + Vector256<float>.One;
                e *= Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(127), 23).AsSingle();
                e = Vector256.ConditionalSelect(Vector256.LessThan(a, Vector256.Create(-87.3f)), Vector256<float>.Zero, e);
                return Vector256.ConditionalSelect(Vector256.GreaterThan(a, Vector256.Create(88.3f)), Vector256.Create(float.PositiveInfinity), e);
            }

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static Vector128<float> ExpLanes(Vector128<float> a)
            {
                var n = Vector128.Round(a * 1.44269504f);
                var r = a - n * 0.693359375f;
                r = r + n * 2.12194440e-4f;
                var p = Vector128.Create(1.9875691500e-4f);
                p = p * r + Vector128.Create(1.3981999507e-3f);
                p = p * r + Vector128.Create(8.3334519073e-3f);
                p = p * r + Vector128.Create(4.1665795894e-2f);
                p = p * r + Vector128.Create(1.6666665459e-1f);
                p = p * r + Vector128.Create(5.0000001201e-1f);
                var e = p * (r * r) + r + Vector128<float>.One;
                e *= Vector128.ShiftLeft(Vector128.ConvertToInt32(n) + Vector128.Create(127), 23).AsSingle();
                e = Vector128.ConditionalSelect(Vector128.LessThan(a, Vector128.Create(-87.3f)), Vector128<float>.Zero, e);
                return Vector128.ConditionalSelect(Vector128.GreaterThan(a, Vector128.Create(88.3f)), Vector128.Create(float.PositiveInfinity), e);
            }
            """;
        sources[GeluLaneF32] = """
            /// <summary>
            /// Gelu (erf form) of one value, as the vector lanes compute it (ScalarMath.GeluLane): erfc(|u|), u = x / √2, by
            /// Numerical Recipes' fit; x (1 - erfc / 2) for u &gt;= 0, x erfc / 2 below (neither tail cancels).
            /// </summary>
            private static float GeluLaneF32(float x)
            {
                float u = x * 0.70710677f;
                float z = MathF.Abs(u);
                float t = 2f / (2f + z);
                float p = -0.82215223f + t * 0.17087277f;
                p = 1.48851587f + t * p;
                p = -1.13520398f + t * p;
                p = 0.27886807f + t * p;
                p = -0.18628806f + t * p;
                p = 0.09678418f + t * p;
                p = 0.37409196f + t * p;
                p = 1.00002368f + t * p;
                float halfErfc = t * ExpLaneF32(t * p - z * z - 1.26551223f) * 0.5f;
                if (u < 0) return x * halfErfc;
                return halfErfc == 0f ? x : x - x * halfErfc; // erfc is 0 from u = 9 on: x, also for x = +inf
            }
            """;
        sources[GeluRowF32] = """
            /// <summary>Gelu (erf form) of a row: 8 or 4 lanes at a time, the rest one by one, all as GeluLaneF32. y may be x.</summary>
            private static void GeluRowF32(ReadOnlySpan<float> x, Span<float> y)
            {
                ref float xr = ref MemoryMarshal.GetReference(x);
                ref float yr = ref MemoryMarshal.GetReference(y);
                int i = 0;
                if (Vector256.IsHardwareAccelerated)
                {
                    for (; i <= x.Length - 8; i += 8)
                    {
                        var v = Vector256.LoadUnsafe(ref xr, (nuint)i);
                        var u = v * 0.70710677f;
                        var z = Vector256.Abs(u);
                        var t = Vector256.Create(2f) / (Vector256.Create(2f) + z);
                        var p = Vector256.Create(-0.82215223f) + t * 0.17087277f;
                        p = Vector256.Create(1.48851587f) + t * p;
                        p = Vector256.Create(-1.13520398f) + t * p;
                        p = Vector256.Create(0.27886807f) + t * p;
                        p = Vector256.Create(-0.18628806f) + t * p;
                        p = Vector256.Create(0.09678418f) + t * p;
                        p = Vector256.Create(0.37409196f) + t * p;
                        p = Vector256.Create(1.00002368f) + t * p;
                        var halfErfc = t * ExpLanes(t * p - z * z - Vector256.Create(1.26551223f)) * 0.5f;
                        var positive = Vector256.ConditionalSelect(Vector256.Equals(halfErfc, Vector256<float>.Zero), v, v - v * halfErfc);
                        var r = Vector256.ConditionalSelect(Vector256.LessThan(u, Vector256<float>.Zero), v * halfErfc, positive);
                        Vector256.StoreUnsafe(r, ref yr, (nuint)i);
                    }
                }
                else if (Vector128.IsHardwareAccelerated)
                {
                    for (; i <= x.Length - 4; i += 4)
                    {
                        var v = Vector128.LoadUnsafe(ref xr, (nuint)i);
                        var u = v * 0.70710677f;
                        var z = Vector128.Abs(u);
                        var t = Vector128.Create(2f) / (Vector128.Create(2f) + z);
                        var p = Vector128.Create(-0.82215223f) + t * 0.17087277f;
                        p = Vector128.Create(1.48851587f) + t * p;
                        p = Vector128.Create(-1.13520398f) + t * p;
                        p = Vector128.Create(0.27886807f) + t * p;
                        p = Vector128.Create(-0.18628806f) + t * p;
                        p = Vector128.Create(0.09678418f) + t * p;
                        p = Vector128.Create(0.37409196f) + t * p;
                        p = Vector128.Create(1.00002368f) + t * p;
                        var halfErfc = t * ExpLanes(t * p - z * z - Vector128.Create(1.26551223f)) * 0.5f;
                        var positive = Vector128.ConditionalSelect(Vector128.Equals(halfErfc, Vector128<float>.Zero), v, v - v * halfErfc);
                        var r = Vector128.ConditionalSelect(Vector128.LessThan(u, Vector128<float>.Zero), v * halfErfc, positive);
                        Vector128.StoreUnsafe(r, ref yr, (nuint)i);
                    }
                }
                for (; i < x.Length; i++)
                    y[i] = GeluLaneF32(x[i]);
            }
            """;
        sources[GeluTanhRowF32] = """
            /// <summary>
            /// Gelu's tanh approximation of a row: x / (1 + e^(-2a)), a = √(2/π) (x + 0.044715 x³), which is
            /// 0.5 x (1 + tanh(a)) without cancellation in either tail; 8 or 4 lanes at a time, the rest one by one, all
            /// as ScalarMath.GeluTanhLane. y may be x.
            /// </summary>
            private static void GeluTanhRowF32(ReadOnlySpan<float> x, Span<float> y)
            {
                ref float xr = ref MemoryMarshal.GetReference(x);
                ref float yr = ref MemoryMarshal.GetReference(y);
                int i = 0;
                if (Vector256.IsHardwareAccelerated)
                {
                    for (; i <= x.Length - 8; i += 8)
                    {
                        var v = Vector256.LoadUnsafe(ref xr, (nuint)i);
                        Vector256.StoreUnsafe(v / (Vector256<float>.One + ExpLanes((v + v * v * v * 0.044715f) * -1.5957692f)), ref yr, (nuint)i);
                    }
                }
                else if (Vector128.IsHardwareAccelerated)
                {
                    for (; i <= x.Length - 4; i += 4)
                    {
                        var v = Vector128.LoadUnsafe(ref xr, (nuint)i);
                        Vector128.StoreUnsafe(v / (Vector128<float>.One + ExpLanes((v + v * v * v * 0.044715f) * -1.5957692f)), ref yr, (nuint)i);
                    }
                }
                for (; i < x.Length; i++)
                {
                    float v = x[i];
                    y[i] = v / (1f + ExpLaneF32((v + v * v * v * 0.044715f) * -1.5957692f));
                }
            }
            """;
        dependencies[ErfF64] = new[] { ErfcOfPositive };
        dependencies[ErfF32] = new[] { ErfF64 };
        dependencies[GeluLaneF32] = new[] { ExpLaneF32 };
        dependencies[GeluRowF32] = new[] { ExpLanes, GeluLaneF32 };
        dependencies[GeluTanhRowF32] = new[] { ExpLanes, ExpLaneF32 };
    }
}
