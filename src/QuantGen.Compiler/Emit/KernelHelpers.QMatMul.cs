using System.Collections.Generic;

namespace QuantGen.Compiler.Emit;

// The activation x activation INT8 matrix product (QMatMul): both operands are uint8 tensors computed at run time, so
// nothing can be folded or packed at build time. Zero points are subtracted while widening to int16 (exact: values in
// [-255, 255]), then int16 pairs meet in vpmaddwd, which cannot saturate here (2 * 255 * 255 < 2^31).
public static partial class KernelHelpers
{
    public const string MatMulU8U8 = "MatMulU8U8";

    private static void AddQMatMulHelpers(Dictionary<string, string> sources, Dictionary<string, string[]> dependencies)
    {
        sources[MatMulU8U8] = """
            /// <summary>
            /// acc[i, j] = Σ_k (a[i, k] - aZero) * (b[k, j] - bZero) for one M x K by K x N pair of uint8 matrices (row-major), in
            /// int32 (wrapping like the reference; the quantizer only emits K ≤ 33025, where no sum can wrap).
            /// Vector paths widen into scratch: packed (int16, ((n + 7) / 8) * kp * 16 with kp = (k + 1) / 2) holds B - bZero as
            /// blocks of 8 columns, and in each block, for every pair of rows k, k + 1, the 8 columns' 2 values side by side, zero
            /// padded; packB = false reuses the B packed by the previous call (a broadcast B). rows (int16, m * kp * 2) holds
            /// A - aZero, each row padded to an even length with 0. AVX2: vpmaddwd of a broadcast A pair with a packed B pair
            /// row (vpdpwssd with AVX-VNNI), 4 rows x 16 columns a tile. Vector128: the same layout widened to int32 lanes (pair halves summed at the end).
            /// Scalar otherwise. All paths compute the same int32 sums (addition modulo 2^32 does not depend on the order).
            /// </summary>
            private static void MatMulU8U8(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<int> acc, int m, int k, int n, int aZero, int bZero, Span<short> packed, Span<short> rows, bool packB)
            {
                if (!Avx2.IsSupported && !Vector128.IsHardwareAccelerated)
                {
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++)
                        {
                            int s = 0;
                            for (int q = 0; q < k; q++)
                                s += (a[i * k + q] - aZero) * (b[q * n + j] - bZero);
                            acc[i * n + j] = s;
                        }
                    return;
                }
                int kp = (k + 1) / 2, blocks = (n + 7) / 8;
                ref short pk = ref MemoryMarshal.GetReference(packed);
                ref short rw = ref MemoryMarshal.GetReference(rows);
                ref int ac = ref MemoryMarshal.GetReference(acc);
                if (packB)
                {
                    packed.Slice(0, blocks * kp * 16).Clear();
                    for (int q = 0; q < k; q++)
                    {
                        var br = b.Slice(q * n, n);
                        int pair = q >> 1, half = q & 1;
                        for (int j = 0; j < n; j++)
                            Unsafe.Add(ref pk, (((j >> 3) * kp + pair) * 8 + (j & 7)) * 2 + half) = (short)(br[j] - bZero);
                    }
                }
                for (int i = 0; i < m; i++)
                {
                    var ar = a.Slice(i * k, k);
                    var rr = rows.Slice(i * kp * 2, kp * 2);
                    int q = 0;
                    if (Vector128.IsHardwareAccelerated)
                    {
                        var z = Vector128.Create((short)aZero);
                        for (; q + 16 <= k; q += 16)
                        {
                            var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(ar), (nuint)q));
                            (lo.AsInt16() - z).StoreUnsafe(ref MemoryMarshal.GetReference(rr), (nuint)q);
                            (hi.AsInt16() - z).StoreUnsafe(ref MemoryMarshal.GetReference(rr), (nuint)q + 8);
                        }
                    }
                    for (; q < k; q++)
                        rr[q] = (short)(ar[q] - aZero);
                    if ((k & 1) != 0)
                        rr[k] = 0;
                }
                if (Avx2.IsSupported)
                {
                    // Tiles of 4 rows x 16 columns (two packed-B loads, four broadcast A pairs, eight pair products), then
                    // 4 x 8 for an odd last block, then single rows.
                    int i = 0;
                    for (; i + 4 <= m; i += 4)
                    {
                        ref short r0 = ref Unsafe.Add(ref rw, i * kp * 2);
                        int blk = 0;
                        for (; blk + 2 <= blocks; blk += 2)
                        {
                            Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default, t0 = default, t1 = default, t2 = default, t3 = default;
                            ref short bp = ref Unsafe.Add(ref pk, blk * kp * 16);
                            ref short bq = ref Unsafe.Add(ref pk, (blk + 1) * kp * 16);
                            for (int p = 0; p < kp; p++)
                            {
                                var bv = Vector256.LoadUnsafe(ref bp, (nuint)(p * 16));
                                var bw = Vector256.LoadUnsafe(ref bq, (nuint)(p * 16));
                                var a0 = PairU8U8(ref r0, 2 * p);
                                var a1 = PairU8U8(ref r0, 2 * (kp + p));
                                var a2 = PairU8U8(ref r0, 2 * (2 * kp + p));
                                var a3 = PairU8U8(ref r0, 2 * (3 * kp + p));
                                s0 = DotPairsU8U8(s0, bv, a0); t0 = DotPairsU8U8(t0, bw, a0);
                                s1 = DotPairsU8U8(s1, bv, a1); t1 = DotPairsU8U8(t1, bw, a1);
                                s2 = DotPairsU8U8(s2, bv, a2); t2 = DotPairsU8U8(t2, bw, a2);
                                s3 = DotPairsU8U8(s3, bv, a3); t3 = DotPairsU8U8(t3, bw, a3);
                            }
                            int c0 = blk * 8, c1 = c0 + 8;
                            StoreColumnsU8U8(s0, acc, i * n + c0, n - c0); StoreColumnsU8U8(t0, acc, i * n + c1, n - c1);
                            StoreColumnsU8U8(s1, acc, (i + 1) * n + c0, n - c0); StoreColumnsU8U8(t1, acc, (i + 1) * n + c1, n - c1);
                            StoreColumnsU8U8(s2, acc, (i + 2) * n + c0, n - c0); StoreColumnsU8U8(t2, acc, (i + 2) * n + c1, n - c1);
                            StoreColumnsU8U8(s3, acc, (i + 3) * n + c0, n - c0); StoreColumnsU8U8(t3, acc, (i + 3) * n + c1, n - c1);
                        }
                        for (; blk < blocks; blk++)
                        {
                            Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
                            ref short bp = ref Unsafe.Add(ref pk, blk * kp * 16);
                            for (int p = 0; p < kp; p++)
                            {
                                var bv = Vector256.LoadUnsafe(ref bp, (nuint)(p * 16));
                                s0 = DotPairsU8U8(s0, bv, PairU8U8(ref r0, 2 * p));
                                s1 = DotPairsU8U8(s1, bv, PairU8U8(ref r0, 2 * (kp + p)));
                                s2 = DotPairsU8U8(s2, bv, PairU8U8(ref r0, 2 * (2 * kp + p)));
                                s3 = DotPairsU8U8(s3, bv, PairU8U8(ref r0, 2 * (3 * kp + p)));
                            }
                            int c0 = blk * 8;
                            StoreColumnsU8U8(s0, acc, i * n + c0, n - c0);
                            StoreColumnsU8U8(s1, acc, (i + 1) * n + c0, n - c0);
                            StoreColumnsU8U8(s2, acc, (i + 2) * n + c0, n - c0);
                            StoreColumnsU8U8(s3, acc, (i + 3) * n + c0, n - c0);
                        }
                    }
                    for (; i < m; i++)
                        for (int blk = 0; blk < blocks; blk++)
                        {
                            Vector256<int> s0 = default;
                            ref short bp = ref Unsafe.Add(ref pk, blk * kp * 16);
                            ref short r0 = ref Unsafe.Add(ref rw, i * kp * 2);
                            for (int p = 0; p < kp; p++)
                                s0 = DotPairsU8U8(s0, Vector256.LoadUnsafe(ref bp, (nuint)(p * 16)), PairU8U8(ref r0, 2 * p));
                            StoreColumnsU8U8(s0, acc, i * n + blk * 8, n - blk * 8);
                        }
                    return;
                }
                // Portable Vector128: lanes hold (column c: even k, column c: odd k, column c + 1: even k, ...) partial sums.
                Span<int> lanes = stackalloc int[16];
                for (int i = 0; i < m; i++)
                    for (int blk = 0; blk < blocks; blk++)
                    {
                        Vector128<int> s0 = default, s1 = default, s2 = default, s3 = default;
                        ref short bp = ref Unsafe.Add(ref pk, blk * kp * 16);
                        ref short r0 = ref Unsafe.Add(ref rw, i * kp * 2);
                        for (int p = 0; p < kp; p++)
                        {
                            var aa = Vector128.WidenLower(Vector128.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.As<short, byte>(ref Unsafe.Add(ref r0, 2 * p)))).AsInt16());
                            var (b0, b1) = Vector128.Widen(Vector128.LoadUnsafe(ref bp, (nuint)(p * 16)));
                            var (b2, b3) = Vector128.Widen(Vector128.LoadUnsafe(ref bp, (nuint)(p * 16 + 8)));
                            s0 += b0 * aa; s1 += b1 * aa; s2 += b2 * aa; s3 += b3 * aa;
                        }
                        int at = i * n + blk * 8, count = n - blk * 8;
                        s0.CopyTo(lanes); s1.CopyTo(lanes.Slice(4)); s2.CopyTo(lanes.Slice(8)); s3.CopyTo(lanes.Slice(12));
                        for (int c = 0; c < 8 && c < count; c++)
                            acc[at + c] = lanes[2 * c] + lanes[2 * c + 1];
                    }
            }

            /// <summary>
            /// acc + the pair sums b[2l] a[0] + b[2l + 1] a[1] per int32 lane: AVX-VNNI's vpdpwssd (wrapping, no saturation), else
            /// vpmaddwd + vpaddd. Equal results: each pair sum fits (2 x 255^2 &lt; 2^31) and the add wraps in both.
            /// </summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static Vector256<int> DotPairsU8U8(Vector256<int> acc, Vector256<short> b, Vector256<short> a) =>
                AvxVnni.IsSupported ? AvxVnni.MultiplyWideningAndAdd(acc, b, a) : Avx2.Add(acc, Avx2.MultiplyAddAdjacent(b, a));

            /// <summary>The int16 pair at row[at], row[at + 1] broadcast to every 32-bit lane.</summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static Vector256<short> PairU8U8(ref short row, int at) =>
                Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.As<short, byte>(ref Unsafe.Add(ref row, at)))).AsInt16();

            /// <summary>The first min(8, count) lanes of <paramref name="s"/> into acc[at...].</summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static void StoreColumnsU8U8(Vector256<int> s, Span<int> acc, int at, int count)
            {
                if (count >= 8)
                {
                    s.StoreUnsafe(ref MemoryMarshal.GetReference(acc), (nuint)at);
                    return;
                }
                for (int c = 0; c < count; c++)
                    acc[at + c] = s.GetElement(c);
            }
            """;
    }
}
