using System.Collections.Generic;

namespace QuantGen.Compiler.Emit;

// int32 accumulators to uint8: the fixed-point requantization on 8 lanes, for a row, for rows of a wider GEMM, per channel, and after 2x2 max pooling.
public static partial class KernelHelpers
{
    private static void AddInt8RequantizeHelpers(Dictionary<string, string> sources)
    {
        sources[RequantizeRowU8] = """
            /// <summary>
            /// y[i] = RequantizeToU8(bias + acc[i], multiplier, shift, ...) for one output channel (a row of pixels): 8 at a time with
            /// AVX2, bit-exact with the scalar definition.
            /// </summary>
            private static void RequantizeRowU8(ReadOnlySpan<int> acc, Span<byte> y, int bias, int multiplier, int shift, int zeroPoint, int lo, int hi)
            {
                int i = 0;
                if (Avx2.IsSupported)
                {
                    var b = Vector256.Create(bias);
                    var m = Vector256.Create(multiplier);
                    var z = Vector256.Create(zeroPoint);
                    var min = Vector256.Create(lo);
                    var max = Vector256.Create(hi);
                    ref int a = ref MemoryMarshal.GetReference(acc);
                    ref byte o = ref MemoryMarshal.GetReference(y);
                    // A row of 8 or more ends with one vector that overlaps the previous one (it rewrites the same values).
                    for (int end = y.Length & ~7; i < y.Length && y.Length >= 8; i += 8)
                    {
                        if (i >= end) i = y.Length - 8;
                        var q = MultiplyRoundShift(Vector256.LoadUnsafe(ref a, (nuint)i) + b, m, shift) + z;
                        Unsafe.WriteUnaligned(ref Unsafe.Add(ref o, i), NarrowToBytes(Vector256.Min(Vector256.Max(q, min), max)));
                    }
                }
                for (; i < y.Length; i++)
                    y[i] = RequantizeToU8(acc[i] + bias, multiplier, shift, zeroPoint, lo, hi);
            }

            """;
        sources[MultiplyRoundShift] = """
            /// <summary>
            /// (int)((x * multiplier + 2^(shift-1)) >> shift) on 8 lanes with one shift for all (the scalar Requantize): 64-bit
            /// products of the even and odd lanes (vpmuldq; multiplier broadcast). Shifts of 32 and more take the high 32 bits
            /// and shift them arithmetically; smaller ones a logical 64-bit shift, whose low 32 bits are the same.
            /// </summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static Vector256<int> MultiplyRoundShift(Vector256<int> x, Vector256<int> multiplier, int shift)
            {
                var round = Vector256.Create(1L << (shift - 1));
                var even = Avx2.Multiply(x, multiplier) + round;
                var odd = Avx2.Multiply(Avx2.ShiftRightLogical(x.AsInt64(), 32).AsInt32(), multiplier) + round;
                if (shift >= 32)
                    return Avx2.ShiftRightArithmetic(Avx2.Blend(Avx2.ShiftRightLogical(even, 32).AsInt32(), odd.AsInt32(), 0b10101010), (byte)(shift - 32));
                return Avx2.Blend(Avx2.ShiftRightLogical(even, (byte)shift).AsInt32(), Avx2.ShiftLeftLogical(Avx2.ShiftRightLogical(odd, (byte)shift), 32).AsInt32(), 0b10101010);
            }
            """;
        sources[RequantizeRowsU8] = """
            /// <summary>
            /// RequantizeRowU8 for a plane whose accumulator rows are accStride apart (the shifted-tap GEMM's rows are wider than
            /// the output's): output row r of <paramref name="width"/> values goes to y[r * width...]. A row narrower than 8 is
            /// one vector step whose extra lanes land in the next row, or the next channel's plane (written after it), unless
            /// that would pass the end of y: so y should run to the end of the output tensor.
            /// </summary>
            private static void RequantizeRowsU8(ReadOnlySpan<int> acc, int accStride, Span<byte> y, int rows, int width, int bias, int multiplier, int shift, int zeroPoint, int lo, int hi)
            {
                for (int r = 0; r < rows; r++)
                {
                    if (width < 8 && Avx2.IsSupported && r * width + 8 <= y.Length && r * accStride + 8 <= acc.Length)
                    {
                        var q = MultiplyRoundShift(Vector256.Create(acc.Slice(r * accStride, 8)) + Vector256.Create(bias), Vector256.Create(multiplier), shift) + Vector256.Create(zeroPoint);
                        Unsafe.WriteUnaligned(ref y[r * width], NarrowToBytes(Vector256.Min(Vector256.Max(q, Vector256.Create(lo)), Vector256.Create(hi))));
                        continue;
                    }
                    RequantizeRowU8(acc.Slice(r * accStride, width), y.Slice(r * width, width), bias, multiplier, shift, zeroPoint, lo, hi);
                }
            }
            """;
        sources[MaxPool2x2RequantizeU8] = """
            /// <summary>
            /// 2x2 stride-2 max pooling of one channel's int32 accumulators (rows accStride apart), then RequantizeToU8 of each
            /// maximum: a quarter of the requantizations, equal to pooling the requantized values because requantization is
            /// non-decreasing here (the build proved it for this layer). 8 outputs per step with AVX2: vertical max, then the
            /// max of each lane pair; a narrow row is one step that spills into the next row or channel, unless that would
            /// read past acc or write past y (y runs to the end of the output tensor).
            /// </summary>
            private static void MaxPool2x2RequantizeU8(ReadOnlySpan<int> acc, int accStride, Span<byte> y, int outRows, int outWidth, int bias, int multiplier, int shift, int zeroPoint, int lo, int hi)
            {
                ref int a = ref MemoryMarshal.GetReference(acc);
                for (int r = 0; r < outRows; r++)
                {
                    int row0 = 2 * r * accStride, row1 = row0 + accStride, o = r * outWidth, ox = 0;
                    if (Avx2.IsSupported && (outWidth >= 8 || (row1 + 16 <= acc.Length && o + 8 <= y.Length)))
                    {
                        var even = Vector256.Create(0, 2, 4, 6, 0, 2, 4, 6);
                        for (int end = outWidth & ~7; ox < outWidth; ox += 8)
                        {
                            if (ox >= end && outWidth >= 8) ox = outWidth - 8;
                            var v0 = Vector256.Max(Vector256.LoadUnsafe(ref a, (nuint)(row0 + 2 * ox)), Vector256.LoadUnsafe(ref a, (nuint)(row1 + 2 * ox)));
                            var v1 = Vector256.Max(Vector256.LoadUnsafe(ref a, (nuint)(row0 + 2 * ox + 8)), Vector256.LoadUnsafe(ref a, (nuint)(row1 + 2 * ox + 8)));
                            // Even lanes: the max of each column pair; then the even lanes of both halves side by side.
                            v0 = Avx2.PermuteVar8x32(Vector256.Max(v0, Avx2.ShiftRightLogical(v0.AsInt64(), 32).AsInt32()), even);
                            v1 = Avx2.PermuteVar8x32(Vector256.Max(v1, Avx2.ShiftRightLogical(v1.AsInt64(), 32).AsInt32()), even);
                            var q = MultiplyRoundShift(Vector256.Create(v0.GetLower(), v1.GetLower()) + Vector256.Create(bias), Vector256.Create(multiplier), shift) + Vector256.Create(zeroPoint);
                            Unsafe.WriteUnaligned(ref y[o + ox], NarrowToBytes(Vector256.Min(Vector256.Max(q, Vector256.Create(lo)), Vector256.Create(hi))));
                        }
                        continue;
                    }
                    for (; ox < outWidth; ox++)
                    {
                        int m = Math.Max(Math.Max(acc[row0 + 2 * ox], acc[row0 + 2 * ox + 1]), Math.Max(acc[row1 + 2 * ox], acc[row1 + 2 * ox + 1]));
                        y[o + ox] = RequantizeToU8(m + bias, multiplier, shift, zeroPoint, lo, hi);
                    }
                }
            }
            """;
        sources[RequantizeChannelsU8] = """
            /// <summary>y[c] = RequantizeToU8(bias[c] + acc[c], multiplier[c], shift[c], ...) for one row of output channels.</summary>
            private static void RequantizeChannelsU8(ReadOnlySpan<int> acc, Span<byte> y, ReadOnlySpan<int> bias, ReadOnlySpan<int> multiplier, ReadOnlySpan<int> shift, int zeroPoint, int lo, int hi)
            {
                int i = 0;
                if (Avx2.IsSupported)
                {
                    for (; i + 8 <= y.Length; i += 8)
                    {
                        var q = RequantizeToU8x8(Vector256.Create(acc.Slice(i, 8)) + Vector256.Create(bias.Slice(i, 8)),
                            Vector256.Create(multiplier.Slice(i, 8)), Vector256.Create(shift.Slice(i, 8)), zeroPoint, lo, hi);
                        Unsafe.WriteUnaligned(ref y[i], NarrowToBytes(q));
                    }
                }
                for (; i < y.Length; i++)
                    y[i] = RequantizeToU8(acc[i] + bias[i], multiplier[i], shift[i], zeroPoint, lo, hi);
            }
            """;
        sources[RequantizeVector] = """
            /// <summary>
            /// RequantizeToU8 on 8 lanes: (acc * multiplier + 2^(shift-1)) >> shift in 64 bits (vpmuldq on even and odd lanes),
            /// the arithmetic shift done as a logical one on sign-flipped values (AVX2 has no 64-bit arithmetic shift), the low
            /// 32 bits kept like the scalar cast, then zero point and clamp.
            /// </summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static Vector256<int> RequantizeToU8x8(Vector256<int> acc, Vector256<int> multiplier, Vector256<int> shift, int zeroPoint, int lo, int hi)
            {
                var even = ShiftRoundArithmetic(Avx2.Multiply(acc, multiplier), shift.AsInt64() & Vector256.Create(0xFFFFFFFFL));
                var odd = ShiftRoundArithmetic(Avx2.Multiply(Avx2.ShiftRightLogical(acc.AsInt64(), 32).AsInt32(), Avx2.ShiftRightLogical(multiplier.AsInt64(), 32).AsInt32()),
                    Avx2.ShiftRightLogical(shift.AsInt64(), 32));
                var q = Avx2.Blend(even.AsInt32(), Avx2.ShiftLeftLogical(odd, 32).AsInt32(), 0b10101010) + Vector256.Create(zeroPoint);
                return Vector256.Min(Vector256.Max(q, Vector256.Create(lo)), Vector256.Create(hi));
            }

            /// <summary>(product + 2^(shift-1)) >> shift, arithmetic, per 64-bit lane.</summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static Vector256<long> ShiftRoundArithmetic(Vector256<long> product, Vector256<long> shift)
            {
                var t = product + Avx2.ShiftLeftLogicalVariable(Vector256<long>.One, (shift - Vector256<long>.One).AsUInt64());
                var sign = Avx2.CompareGreaterThan(Vector256<long>.Zero, t);
                return Avx2.ShiftRightLogicalVariable((t ^ sign).AsUInt64(), shift.AsUInt64()).AsInt64() ^ sign;
            }

            """;
        sources[NarrowToBytes] = """
            /// <summary>Eight int32 lanes already in [0, 255] as eight bytes.</summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static ulong NarrowToBytes(Vector256<int> q)
            {
                var words = Vector256.Narrow(q, q);
                return Vector256.Narrow(words, words).AsUInt64().ToScalar();
            }
            """;
        sources[RequantizeAddRowsU8] = """
            /// <summary>
            /// A convolution's requantization followed by the integer add of a residual (QAdd, TensorFlow Lite's arithmetic),
            /// without storing the convolution's uint8 values: rows of <paramref name="width"/> from accumulator rows accStride
            /// apart; y and residual run from this channel's plane to the tensor's end, so a row narrower than 8 can be one
            /// vector step that spills into the next row (written after it), unless that would pass an end. Each value is
            /// exactly the two nodes' (same operations, same order), bit for bit.
            /// </summary>
            private static void RequantizeAddRowsU8(ReadOnlySpan<int> acc, int accStride, ReadOnlySpan<byte> residual, Span<byte> y, int rows, int width,
                int bias, int multiplier, int shift, int zeroPoint, int lo, int hi, bool convIsA,
                int aZero, int aMultiplier, int aShift, int bZero, int bMultiplier, int bShift, int yZero, int yMultiplier, int yShift, int yLo, int yHi)
            {
                for (int r = 0; r < rows; r++)
                {
                    int a0 = r * accStride, o = r * width, x = 0;
                    if (Avx2.IsSupported && (width >= 8 || (a0 + 8 <= acc.Length && o + 8 <= y.Length && o + 8 <= residual.Length)))
                    {
                        for (int end = width & ~7; x < width; x += 8)
                        {
                            if (x >= end && width >= 8) x = width - 8;
                            var conv = MultiplyRoundShift(Vector256.Create(acc.Slice(a0 + x, 8)) + Vector256.Create(bias), Vector256.Create(multiplier), shift) + Vector256.Create(zeroPoint);
                            conv = Vector256.Min(Vector256.Max(conv, Vector256.Create(lo)), Vector256.Create(hi));
                            var res = Avx2.ConvertToVector256Int32(Vector128.CreateScalar(Unsafe.ReadUnaligned<ulong>(ref Unsafe.AsRef(in residual[o + x]))).AsByte());
                            var q = QAddValues(convIsA ? conv : res, convIsA ? res : conv, aZero, aMultiplier, aShift, bZero, bMultiplier, bShift, yZero, yMultiplier, yShift, yLo, yHi);
                            Unsafe.WriteUnaligned(ref y[o + x], NarrowToBytes(q));
                        }
                        continue;
                    }
                    for (; x < width; x++)
                    {
                        int conv = RequantizeToU8(acc[a0 + x] + bias, multiplier, shift, zeroPoint, lo, hi);
                        y[o + x] = QAddValues(convIsA ? conv : residual[o + x], convIsA ? residual[o + x] : conv,
                            aZero, aMultiplier, aShift, bZero, bMultiplier, bShift, yZero, yMultiplier, yShift, yLo, yHi);
                    }
                }
            }
            """;
    }
}
