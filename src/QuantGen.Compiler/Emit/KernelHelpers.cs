using System.Collections.Generic;

namespace QuantGen.Compiler.Emit;

/// <summary>Small methods shared by the kernels of one generated class, written once when some kernel asks for them.</summary>
public static class KernelHelpers
{
    public const string Dot = "Dot";

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
    };

    public static string Source(string name) => Sources[name];

    /// <summary>Names kernels must not take (a node called "dot" would otherwise overload the helper).</summary>
    public static IEnumerable<string> Names => Sources.Keys;
}
