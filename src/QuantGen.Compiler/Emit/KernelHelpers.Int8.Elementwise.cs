using System.Collections.Generic;

namespace QuantGen.Compiler.Emit;

// Elementwise INT8 kernels: the integer add, float-to-uint8 quantization and 2x2 uint8 max pooling.
public static partial class KernelHelpers
{
    private static void AddInt8ElementwiseHelpers(Dictionary<string, string> sources)
    {
        sources[QAddU8] = """
            /// <summary>
            /// TensorFlow Lite's integer add (see QAdd) over two uint8 tensors, 8 elements at a time with AVX2 (QAddValues), bit-exact.
            /// </summary>
            private static void QAddU8(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> y, int aZero, int aMultiplier, int aShift,
                int bZero, int bMultiplier, int bShift, int yZero, int yMultiplier, int yShift, int lo, int hi)
            {
                int i = 0;
                if (Avx2.IsSupported)
                {
                    ref byte ra = ref MemoryMarshal.GetReference(a);
                    ref byte rb = ref MemoryMarshal.GetReference(b);
                    ref byte ry = ref MemoryMarshal.GetReference(y);
                    for (; i + 8 <= y.Length; i += 8)
                    {
                        var va = Avx2.ConvertToVector256Int32(Vector128.CreateScalar(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref ra, i))).AsByte());
                        var vb = Avx2.ConvertToVector256Int32(Vector128.CreateScalar(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref rb, i))).AsByte());
                        var q = QAddValues(va, vb, aZero, aMultiplier, aShift, bZero, bMultiplier, bShift, yZero, yMultiplier, yShift, lo, hi);
                        Unsafe.WriteUnaligned(ref Unsafe.Add(ref ry, i), NarrowToBytes(q));
                    }
                }
                for (; i < y.Length; i++)
                    y[i] = QAddValues(a[i], b[i], aZero, aMultiplier, aShift, bZero, bMultiplier, bShift, yZero, yMultiplier, yShift, lo, hi);
            }
            """;
        sources[QAddValues] = """
            /// <summary>
            /// QAdd's arithmetic on one pair of uint8 values: each minus its zero point, shifted left by 20 bits and scaled to a
            /// common fixed point (64-bit products, ties up); the sum requantized, the output zero point added, clamped to [lo, hi].
            /// </summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static byte QAddValues(int a, int b, int aZero, int aMultiplier, int aShift, int bZero, int bMultiplier, int bShift,
                int yZero, int yMultiplier, int yShift, int lo, int hi)
            {
                long sa = ((long)((a - aZero) << 20) * aMultiplier + (1L << (aShift - 1))) >> aShift;
                long sb = ((long)((b - bZero) << 20) * bMultiplier + (1L << (bShift - 1))) >> bShift;
                int q = (int)(((long)(int)(sa + sb) * yMultiplier + (1L << (yShift - 1))) >> yShift) + yZero;
                return (byte)(q < lo ? lo : q > hi ? hi : q);
            }

            /// <summary>The same on 8 lanes (AVX2), bit for bit: the clamped results as int32 lanes.</summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static Vector256<int> QAddValues(Vector256<int> a, Vector256<int> b, int aZero, int aMultiplier, int aShift, int bZero, int bMultiplier, int bShift,
                int yZero, int yMultiplier, int yShift, int lo, int hi)
            {
                var sa = MultiplyRoundShift(Avx2.ShiftLeftLogical(a - Vector256.Create(aZero), 20), Vector256.Create(aMultiplier), aShift);
                var sb = MultiplyRoundShift(Avx2.ShiftLeftLogical(b - Vector256.Create(bZero), 20), Vector256.Create(bMultiplier), bShift);
                var q = MultiplyRoundShift(sa + sb, Vector256.Create(yMultiplier), yShift) + Vector256.Create(yZero);
                return Vector256.Min(Vector256.Max(q, Vector256.Create(lo)), Vector256.Create(hi));
            }
            """;
        sources[QuantizeRowU8] = """
            /// <summary>
            /// y[i] = QuantizeU8(x[i], scale, zeroPoint), 8 at a time: the same float division, ties-to-even rounding, clamp and
            /// NaN rule (NaN becomes the zero point), so every element equals the scalar result.
            /// </summary>
            private static void QuantizeRowU8(ReadOnlySpan<float> x, Span<byte> y, float scale, int zeroPoint)
            {
                int i = 0;
                if (Vector256.IsHardwareAccelerated)
                {
                    var s = Vector256.Create(scale);
                    var limit = Vector256.Create(512f);
                    var z = Vector256.Create(zeroPoint);
                    ref float rx = ref MemoryMarshal.GetReference(x);
                    ref byte ry = ref MemoryMarshal.GetReference(y);
                    for (; i + 8 <= y.Length; i += 8)
                    {
                        var r = Vector256.LoadUnsafe(ref rx, (nuint)i) / s;
                        var isNumber = Vector256.Equals(r, r).AsInt32();
                        // Clamp to ±512 first (comparisons leave NaN alone): the result is then 0 or 255 either way.
                        r = Vector256.ConditionalSelect(Vector256.GreaterThan(r, limit), limit, r);
                        r = Vector256.ConditionalSelect(Vector256.LessThan(r, -limit), -limit, r);
                        var q = Vector256.ConvertToInt32(Vector256.Round(r)) + z;
                        q = Vector256.ConditionalSelect(isNumber, q, z);
                        q = Vector256.Min(Vector256.Max(q, Vector256<int>.Zero), Vector256.Create(255));
                        var words = Vector256.Narrow(q, q);
                        Unsafe.WriteUnaligned(ref Unsafe.Add(ref ry, i), Vector256.Narrow(words, words).AsUInt64().ToScalar());
                    }
                }
                for (; i < y.Length; i++)
                    y[i] = QuantizeU8(x[i], scale, zeroPoint);
            }
            """;
        sources[DequantizeRowS8] = """
            /// <summary>y[i] = x[i] * scale: a row of int8 weights in float (each int8 value is exact in float, then one multiply).</summary>
            private static void DequantizeRowS8(ReadOnlySpan<sbyte> x, float scale, Span<float> y)
            {
                for (int i = 0; i < y.Length; i++)
                    y[i] = x[i] * scale;
            }
            """;
        sources[MaxPool2x2U8] = """
            /// <summary>
            /// 2x2 max pooling with stride 2 and no padding on uint8 planes: the vertical max of two input rows, then the max of
            /// each byte pair (as 16-bit lanes: low byte against high byte), 8 outputs per step. A row's last step overlaps the
            /// previous one; a row narrower than 8 is done in one step whose extra outputs land in the next row (written
            /// after it), unless the 16-byte read or the 8-byte write would leave the tensor.
            /// </summary>
            private static void MaxPool2x2U8(ReadOnlySpan<byte> x, Span<byte> y, int planes, int height, int width, int outHeight, int outWidth)
            {
                for (int c = 0; c < planes; c++)
                    for (int oy = 0; oy < outHeight; oy++)
                    {
                        int r0 = (c * height + 2 * oy) * width, r1 = r0 + width, o = (c * outHeight + oy) * outWidth;
                        int ox = 0;
                        if (Vector128.IsHardwareAccelerated && (outWidth >= 8 || (r1 + 16 <= x.Length && o + 8 <= y.Length)))
                        {
                            for (int end = outWidth & ~7; ox < outWidth; ox += 8)
                            {
                                if (ox >= end && outWidth >= 8) ox = outWidth - 8;
                                var v = Vector128.Max(Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(x), (nuint)(r0 + 2 * ox)),
                                    Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(x), (nuint)(r1 + 2 * ox))).AsUInt16();
                                var pairs = Vector128.Max(v & Vector128.Create((ushort)0xFF), Vector128.ShiftRightLogical(v, 8));
                                Unsafe.WriteUnaligned(ref Unsafe.Add(ref MemoryMarshal.GetReference(y), o + ox), Vector128.Narrow(pairs, pairs).AsUInt64().ToScalar());
                            }
                            continue;
                        }
                        for (; ox < outWidth; ox++)
                            y[o + ox] = Math.Max(Math.Max(x[r0 + 2 * ox], x[r0 + 2 * ox + 1]), Math.Max(x[r1 + 2 * ox], x[r1 + 2 * ox + 1]));
                    }
            }
            """;
    }
}
