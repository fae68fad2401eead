using System.Collections.Generic;

namespace QuantGen.Compiler.Emit;

/// <summary>Small methods shared by the kernels of one generated class, written once when some kernel asks for them.</summary>
public static partial class KernelHelpers
{
    public const string Dot = "Dot";
    public const string QuantizeU8 = "QuantizeU8";
    public const string RequantizeToU8 = "RequantizeToU8";

    private static readonly Dictionary<string, string> Sources = new()
    {
        [Dot] = """
            /// <summary>Dot product of two equal-length float spans (Vector256 where the CPU has it).</summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
            {
                int i = 0;
                float sum = 0f;
                if (Vector256.IsHardwareAccelerated && a.Length >= 8)
                {
                    var acc = Vector256<float>.Zero;
                    ref float ra = ref MemoryMarshal.GetReference(a);
                    ref float rb = ref MemoryMarshal.GetReference(b);
                    for (; i <= a.Length - 8; i += 8)
                        acc += Vector256.LoadUnsafe(ref ra, (nuint)i) * Vector256.LoadUnsafe(ref rb, (nuint)i);
                    sum = Vector256.Sum(acc);
                }
                for (; i < a.Length; i++)
                    sum += a[i] * b[i];
                return sum;
            }
            """,
        [QuantizeU8] = """
            /// <summary>float to uint8: clamp(round_half_even(x / scale) + zeroPoint, 0, 255); NaN becomes the zero point.</summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static byte QuantizeU8(float x, float scale, int zeroPoint)
            {
                float r = x / scale;
                if (float.IsNaN(r)) return (byte)zeroPoint;
                if (r >= 512f) return 255;
                if (r <= -512f) return 0;
                int q = (int)MathF.Round(r) + zeroPoint;
                return (byte)(q < 0 ? 0 : q > 255 ? 255 : q);
            }
            """,
        [RequantizeToU8] = """
            /// <summary>
            /// int32 accumulator to uint8: round(acc * multiplier * 2^-shift) (ties up, exact in 64 bits), plus the
            /// zero point, clamped to [lo, hi] (the fused Relu/Clip bounds).
            /// </summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static byte RequantizeToU8(int acc, int multiplier, int shift, int zeroPoint, int lo, int hi)
            {
                int q = (int)(((long)acc * multiplier + (1L << (shift - 1))) >> shift) + zeroPoint;
                return (byte)(q < lo ? lo : q > hi ? hi : q);
            }
            """,
    };

    private static readonly Dictionary<string, string[]> Dependencies = new();

    static KernelHelpers()
    {
        AddInt8Helpers(Sources, Dependencies);
        AddQMatMulHelpers(Sources, Dependencies);
        AddFloatHelpers(Sources);
        AddMathHelpers(Sources, Dependencies);
    }

    public static string Source(string name) => Sources[name];

    /// <summary>The helper and every helper it calls.</summary>
    public static IEnumerable<string> WithDependencies(string name)
    {
        yield return name;
        if (Dependencies.TryGetValue(name, out var needed))
            foreach (var n in needed)
                foreach (var m in WithDependencies(n))
                    yield return m;
    }

    /// <summary>Names kernels must not take (a node called "dot" would otherwise overload the helper).</summary>
    public static IEnumerable<string> Names => Sources.Keys;
}
