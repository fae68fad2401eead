using System.Collections.Generic;

namespace QuantGen.Compiler.Emit;

// The uint8 x int8 -> int32 matrix products: GemmU8S8 (convolutions) and GemvU8S8 (Gemm/MatMul with packed weights).
public static partial class KernelHelpers
{
    private static void AddInt8GemmHelpers(Dictionary<string, string> sources)
    {
        sources[GemmU8S8] = """
            /// <summary>
            /// acc[m, p] = Σ_q Σ_j packed[q, p, j] * weights[m, q, j]: uint8 x int8 -> exact int32 (wrapping like the reference).
            /// packed: for quad q, the bytes from quadOffsets[q] hold [pixels][4] (see PackQuadU8: im2col windows, or the
            /// channel-interleaved input itself shifted by the quad's tap for stride-1 convolutions); weights: [rows][k4 * 4],
            /// each row zero-padded to a multiple of 4; acc: [rows][pixels]; pixels a multiple of 16; widenedWeights: scratch for
            /// rows * k4 * 4 int16 (the AVX2 path's copy of the weights). The tile is 4 rows x 16 pixels: each quad of window elements is
            /// loaded once for 4 output channels, each weight quad broadcast once for 16 pixels.
            /// </summary>
            private static void GemmU8S8(ReadOnlySpan<byte> packed, ReadOnlySpan<sbyte> weights, Span<int> acc, int rows, int k4, int pixels, ReadOnlySpan<int> quadOffsets, Span<short> widenedWeights)
            {
                ref byte x = ref MemoryMarshal.GetReference(packed);
                ref byte w = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(weights));
                ref int a = ref MemoryMarshal.GetReference(acc);
                ref int offsets = ref MemoryMarshal.GetReference(quadOffsets);
                int rowBytes = k4 * 4;
                if (AvxVnni.IsSupported)
                {
                    // vpdpbusd: each int32 lane += four uint8 x int8 products, exact (no saturation).
                    int m = 0;
                    for (; m + 4 <= rows; m += 4)
                        for (int p = 0; p < pixels; p += 16)
                        {
                            Vector256<int> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
                            ref byte xp = ref Unsafe.Add(ref x, p * 4);
                            ref byte wq = ref Unsafe.Add(ref w, m * rowBytes);
                            for (int q = 0; q < k4; q++)
                            {
                                ref byte xq = ref Unsafe.Add(ref xp, Unsafe.Add(ref offsets, q));
                                var x0 = Vector256.LoadUnsafe(ref xq);
                                var x1 = Vector256.LoadUnsafe(ref xq, 32);
                                var w0 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref wq)).AsSByte();
                                var w1 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref wq, rowBytes))).AsSByte();
                                var w2 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref wq, 2 * rowBytes))).AsSByte();
                                var w3 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref wq, 3 * rowBytes))).AsSByte();
                                a00 = AvxVnni.MultiplyWideningAndAdd(a00, x0, w0); a01 = AvxVnni.MultiplyWideningAndAdd(a01, x1, w0);
                                a10 = AvxVnni.MultiplyWideningAndAdd(a10, x0, w1); a11 = AvxVnni.MultiplyWideningAndAdd(a11, x1, w1);
                                a20 = AvxVnni.MultiplyWideningAndAdd(a20, x0, w2); a21 = AvxVnni.MultiplyWideningAndAdd(a21, x1, w2);
                                a30 = AvxVnni.MultiplyWideningAndAdd(a30, x0, w3); a31 = AvxVnni.MultiplyWideningAndAdd(a31, x1, w3);
                                wq = ref Unsafe.Add(ref wq, 4);
                            }
                            ref int at = ref Unsafe.Add(ref a, m * pixels + p);
                            a00.StoreUnsafe(ref at); a01.StoreUnsafe(ref at, 8);
                            a10.StoreUnsafe(ref at, (nuint)pixels); a11.StoreUnsafe(ref at, (nuint)pixels + 8);
                            a20.StoreUnsafe(ref at, (nuint)(2 * pixels)); a21.StoreUnsafe(ref at, (nuint)(2 * pixels) + 8);
                            a30.StoreUnsafe(ref at, (nuint)(3 * pixels)); a31.StoreUnsafe(ref at, (nuint)(3 * pixels) + 8);
                        }
                    for (; m < rows; m++)
                        for (int p = 0; p < pixels; p += 16)
                        {
                            Vector256<int> a00 = default, a01 = default;
                            ref byte xp = ref Unsafe.Add(ref x, p * 4);
                            ref byte wq = ref Unsafe.Add(ref w, m * rowBytes);
                            for (int q = 0; q < k4; q++)
                            {
                                ref byte xq = ref Unsafe.Add(ref xp, Unsafe.Add(ref offsets, q));
                                var w0 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref wq)).AsSByte();
                                a00 = AvxVnni.MultiplyWideningAndAdd(a00, Vector256.LoadUnsafe(ref xq), w0);
                                a01 = AvxVnni.MultiplyWideningAndAdd(a01, Vector256.LoadUnsafe(ref xq, 32), w0);
                                wq = ref Unsafe.Add(ref wq, 4);
                            }
                            ref int at = ref Unsafe.Add(ref a, m * pixels + p);
                            a00.StoreUnsafe(ref at); a01.StoreUnsafe(ref at, 8);
                        }
                }
                else if (Avx2.IsSupported)
                {
                    // No VNNI: widen to int16 and use vpmaddwd, which cannot saturate (|255 * -128| * 2 < 2^31). vpmaddubsw
                    // would be faster but saturates at int16. The weights are widened once per call into scratch (each one
                    // then serves every pixel), so a weight quad is one 64-bit broadcast. Tile: 4 rows x 8 pixels; lanes
                    // hold pair sums ([p0: k0+k1, p0: k2+k3, p1: ...]) until one horizontal add per tile.
                    ref short ww = ref MemoryMarshal.GetReference(widenedWeights);
                    int count = rows * rowBytes, i = 0;
                    for (; i + 16 <= count; i += 16)
                        Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref w, (nuint)i).AsSByte()).StoreUnsafe(ref ww, (nuint)i);
                    for (; i < count; i++)
                        Unsafe.Add(ref ww, i) = (sbyte)Unsafe.Add(ref w, i);
                    int m = 0;
                    for (; m + 4 <= rows; m += 4)
                        for (int p = 0; p < pixels; p += 8)
                        {
                            Vector256<int> l0 = default, h0 = default, l1 = default, h1 = default, l2 = default, h2 = default, l3 = default, h3 = default;
                            ref byte xp = ref Unsafe.Add(ref x, p * 4);
                            ref short wq = ref Unsafe.Add(ref ww, m * rowBytes);
                            for (int q = 0; q < k4; q++)
                            {
                                ref byte xq = ref Unsafe.Add(ref xp, Unsafe.Add(ref offsets, q));
                                var x0 = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref xq));
                                var x1 = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref xq, 16));
                                var w0 = Vector256.Create(Unsafe.ReadUnaligned<long>(ref Unsafe.As<short, byte>(ref wq))).AsInt16();
                                var w1 = Vector256.Create(Unsafe.ReadUnaligned<long>(ref Unsafe.As<short, byte>(ref Unsafe.Add(ref wq, rowBytes)))).AsInt16();
                                var w2 = Vector256.Create(Unsafe.ReadUnaligned<long>(ref Unsafe.As<short, byte>(ref Unsafe.Add(ref wq, 2 * rowBytes)))).AsInt16();
                                var w3 = Vector256.Create(Unsafe.ReadUnaligned<long>(ref Unsafe.As<short, byte>(ref Unsafe.Add(ref wq, 3 * rowBytes)))).AsInt16();
                                l0 = Avx2.Add(l0, Avx2.MultiplyAddAdjacent(x0, w0)); h0 = Avx2.Add(h0, Avx2.MultiplyAddAdjacent(x1, w0));
                                l1 = Avx2.Add(l1, Avx2.MultiplyAddAdjacent(x0, w1)); h1 = Avx2.Add(h1, Avx2.MultiplyAddAdjacent(x1, w1));
                                l2 = Avx2.Add(l2, Avx2.MultiplyAddAdjacent(x0, w2)); h2 = Avx2.Add(h2, Avx2.MultiplyAddAdjacent(x1, w2));
                                l3 = Avx2.Add(l3, Avx2.MultiplyAddAdjacent(x0, w3)); h3 = Avx2.Add(h3, Avx2.MultiplyAddAdjacent(x1, w3));
                                wq = ref Unsafe.Add(ref wq, 4);
                            }
                            ref int at = ref Unsafe.Add(ref a, m * pixels + p);
                            PairSums(l0, h0).StoreUnsafe(ref at);
                            PairSums(l1, h1).StoreUnsafe(ref at, (nuint)pixels);
                            PairSums(l2, h2).StoreUnsafe(ref at, (nuint)(2 * pixels));
                            PairSums(l3, h3).StoreUnsafe(ref at, (nuint)(3 * pixels));
                        }
                    for (; m < rows; m++)
                        for (int p = 0; p < pixels; p += 8)
                        {
                            Vector256<int> l0 = default, h0 = default;
                            ref byte xp = ref Unsafe.Add(ref x, p * 4);
                            ref short wq = ref Unsafe.Add(ref ww, m * rowBytes);
                            for (int q = 0; q < k4; q++)
                            {
                                ref byte xq = ref Unsafe.Add(ref xp, Unsafe.Add(ref offsets, q));
                                var w0 = Vector256.Create(Unsafe.ReadUnaligned<long>(ref Unsafe.As<short, byte>(ref wq))).AsInt16();
                                l0 = Avx2.Add(l0, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref xq)), w0));
                                h0 = Avx2.Add(h0, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref xq, 16)), w0));
                                wq = ref Unsafe.Add(ref wq, 4);
                            }
                            PairSums(l0, h0).StoreUnsafe(ref Unsafe.Add(ref a, m * pixels + p));
                        }
                }
                else if (Vector128.IsHardwareAccelerated)
                {
                    // Portable 128-bit path (ARM64 AdvSimd, SSE): products in int16 (exact: |255 * -128| < 2^15), summed in int32.
                    for (int m = 0; m < rows; m++)
                        for (int p = 0; p < pixels; p += 4)
                        {
                            Vector128<int> s0 = default, s1 = default, s2 = default, s3 = default;
                            ref byte xp = ref Unsafe.Add(ref x, p * 4);
                            ref byte wq = ref Unsafe.Add(ref w, m * rowBytes);
                            for (int q = 0; q < k4; q++)
                            {
                                ref byte xq = ref Unsafe.Add(ref xp, Unsafe.Add(ref offsets, q));
                                var wv = Vector128.Create(Unsafe.ReadUnaligned<int>(ref wq)).AsSByte();
                                var w16 = Vector128.WidenLower(wv);
                                var (x01, x23) = Vector128.Widen(Vector128.LoadUnsafe(ref xq));
                                var (p0, p1) = Vector128.Widen(x01.AsInt16() * w16);
                                var (p2, p3) = Vector128.Widen(x23.AsInt16() * w16);
                                s0 += p0; s1 += p1; s2 += p2; s3 += p3;
                                wq = ref Unsafe.Add(ref wq, 4);
                            }
                            ref int at = ref Unsafe.Add(ref a, m * pixels + p);
                            at = Vector128.Sum(s0);
                            Unsafe.Add(ref at, 1) = Vector128.Sum(s1);
                            Unsafe.Add(ref at, 2) = Vector128.Sum(s2);
                            Unsafe.Add(ref at, 3) = Vector128.Sum(s3);
                        }
                }
                else
                {
                    for (int m = 0; m < rows; m++)
                        for (int p = 0; p < pixels; p++)
                        {
                            int sum = 0;
                            for (int q = 0; q < k4; q++)
                                for (int j = 0; j < 4; j++)
                                    sum += Unsafe.Add(ref x, Unsafe.Add(ref offsets, q) + p * 4 + j) * (sbyte)Unsafe.Add(ref w, m * rowBytes + q * 4 + j);
                            Unsafe.Add(ref a, m * pixels + p) = sum;
                        }
                }
            }

            """;
        sources[PairSums] = """
            /// <summary>Per-lane sums from two vectors of pair sums (pixels 0-3 and 4-7): hadd gives [0 1 4 5 | 2 3 6 7], the permute restores the order.</summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static Vector256<int> PairSums(Vector256<int> low, Vector256<int> high) =>
                Avx2.Permute4x64(Avx2.HorizontalAdd(low, high).AsInt64(), 0b11_01_10_00).AsInt32();
            """;
        sources[GemvU8S8] = """
            /// <summary>
            /// acc[n] = Σ_k x[k] * w[n, k] for one input row: uint8 x int8 -> exact int32. x: k4 * 4 bytes (zero-padded);
            /// packedWeights: [blocks][k4][8][4] (8 output channels by 4 consecutive k, packed at build time, zero-padded);
            /// acc: blocks * 8. Each input quad is broadcast once and multiplied with the quads of 8 (VNNI: 32) channels.
            /// </summary>
            private static void GemvU8S8(ReadOnlySpan<byte> x, ReadOnlySpan<sbyte> packedWeights, Span<int> acc, int blocks, int k4)
            {
                ref byte xr = ref MemoryMarshal.GetReference(x);
                ref byte w = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(packedWeights));
                ref int a = ref MemoryMarshal.GetReference(acc);
                int blockBytes = k4 * 32;
                if (AvxVnni.IsSupported)
                {
                    int b = 0;
                    for (; b + 4 <= blocks; b += 4)
                    {
                        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
                        ref byte wq = ref Unsafe.Add(ref w, b * blockBytes);
                        for (int q = 0; q < k4; q++)
                        {
                            var xv = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref xr, q * 4))).AsByte();
                            a0 = AvxVnni.MultiplyWideningAndAdd(a0, xv, Vector256.LoadUnsafe(ref wq).AsSByte());
                            a1 = AvxVnni.MultiplyWideningAndAdd(a1, xv, Vector256.LoadUnsafe(ref wq, (nuint)blockBytes).AsSByte());
                            a2 = AvxVnni.MultiplyWideningAndAdd(a2, xv, Vector256.LoadUnsafe(ref wq, (nuint)(2 * blockBytes)).AsSByte());
                            a3 = AvxVnni.MultiplyWideningAndAdd(a3, xv, Vector256.LoadUnsafe(ref wq, (nuint)(3 * blockBytes)).AsSByte());
                            wq = ref Unsafe.Add(ref wq, 32);
                        }
                        ref int at = ref Unsafe.Add(ref a, b * 8);
                        a0.StoreUnsafe(ref at); a1.StoreUnsafe(ref at, 8); a2.StoreUnsafe(ref at, 16); a3.StoreUnsafe(ref at, 24);
                    }
                    for (; b < blocks; b++)
                    {
                        Vector256<int> a0 = default;
                        ref byte wq = ref Unsafe.Add(ref w, b * blockBytes);
                        for (int q = 0; q < k4; q++)
                        {
                            var xv = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref xr, q * 4))).AsByte();
                            a0 = AvxVnni.MultiplyWideningAndAdd(a0, xv, Vector256.LoadUnsafe(ref wq).AsSByte());
                            wq = ref Unsafe.Add(ref wq, 32);
                        }
                        a0.StoreUnsafe(ref Unsafe.Add(ref a, b * 8));
                    }
                }
                else if (Avx2.IsSupported)
                {
                    // int16 products with vpmaddwd (exact); lanes hold pair sums [c0: k0+k1, c0: k2+k3, c1: ...]. Two blocks
                    // (16 channels) per step share each widened input quad.
                    int b = 0;
                    for (; b + 2 <= blocks; b += 2)
                    {
                        Vector256<int> lo0 = default, hi0 = default, lo1 = default, hi1 = default;
                        ref byte wq = ref Unsafe.Add(ref w, b * blockBytes);
                        for (int q = 0; q < k4; q++)
                        {
                            var x16 = Avx2.BroadcastScalarToVector256(Sse41.ConvertToVector128Int16(Vector128.CreateScalar(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref xr, q * 4))).AsByte()).AsInt64()).AsInt16();
                            lo0 = Avx2.Add(lo0, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref wq).AsSByte()), x16));
                            hi0 = Avx2.Add(hi0, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref wq, 16).AsSByte()), x16));
                            lo1 = Avx2.Add(lo1, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref wq, (nuint)blockBytes).AsSByte()), x16));
                            hi1 = Avx2.Add(hi1, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref wq, (nuint)blockBytes + 16).AsSByte()), x16));
                            wq = ref Unsafe.Add(ref wq, 32);
                        }
                        PairSums(lo0, hi0).StoreUnsafe(ref Unsafe.Add(ref a, b * 8));
                        PairSums(lo1, hi1).StoreUnsafe(ref Unsafe.Add(ref a, b * 8 + 8));
                    }
                    for (; b < blocks; b++)
                    {
                        Vector256<int> lo = default, hi = default;
                        ref byte wq = ref Unsafe.Add(ref w, b * blockBytes);
                        for (int q = 0; q < k4; q++)
                        {
                            var x16 = Avx2.BroadcastScalarToVector256(Sse41.ConvertToVector128Int16(Vector128.CreateScalar(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref xr, q * 4))).AsByte()).AsInt64()).AsInt16();
                            lo = Avx2.Add(lo, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref wq).AsSByte()), x16));
                            hi = Avx2.Add(hi, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref wq, 16).AsSByte()), x16));
                            wq = ref Unsafe.Add(ref wq, 32);
                        }
                        PairSums(lo, hi).StoreUnsafe(ref Unsafe.Add(ref a, b * 8));
                    }
                }
                else if (Vector128.IsHardwareAccelerated)
                {
                    for (int b = 0; b < blocks; b++)
                    {
                        Vector128<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
                        ref byte wq = ref Unsafe.Add(ref w, b * blockBytes);
                        for (int q = 0; q < k4; q++)
                        {
                            var x16 = Vector128.WidenLower(Vector128.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref xr, q * 4))).AsByte()).AsInt16();
                            var (w01, w23) = Vector128.Widen(Vector128.LoadUnsafe(ref wq).AsSByte());
                            var (w45, w67) = Vector128.Widen(Vector128.LoadUnsafe(ref wq, 16).AsSByte());
                            var (p0, p1) = Vector128.Widen(w01 * x16);
                            var (p2, p3) = Vector128.Widen(w23 * x16);
                            var (p4, p5) = Vector128.Widen(w45 * x16);
                            var (p6, p7) = Vector128.Widen(w67 * x16);
                            s0 += p0; s1 += p1; s2 += p2; s3 += p3; s4 += p4; s5 += p5; s6 += p6; s7 += p7;
                            wq = ref Unsafe.Add(ref wq, 32);
                        }
                        ref int at = ref Unsafe.Add(ref a, b * 8);
                        at = Vector128.Sum(s0); Unsafe.Add(ref at, 1) = Vector128.Sum(s1);
                        Unsafe.Add(ref at, 2) = Vector128.Sum(s2); Unsafe.Add(ref at, 3) = Vector128.Sum(s3);
                        Unsafe.Add(ref at, 4) = Vector128.Sum(s4); Unsafe.Add(ref at, 5) = Vector128.Sum(s5);
                        Unsafe.Add(ref at, 6) = Vector128.Sum(s6); Unsafe.Add(ref at, 7) = Vector128.Sum(s7);
                    }
                }
                else
                {
                    for (int b = 0; b < blocks; b++)
                        for (int c = 0; c < 8; c++)
                        {
                            int sum = 0;
                            for (int q = 0; q < k4; q++)
                                for (int j = 0; j < 4; j++)
                                    sum += Unsafe.Add(ref xr, q * 4 + j) * (sbyte)Unsafe.Add(ref w, b * blockBytes + q * 32 + c * 4 + j);
                            Unsafe.Add(ref a, b * 8 + c) = sum;
                        }
                }
            }
            """;
        sources[GemvRows4U8S8] = """
            /// <summary>
            /// GemvU8S8 for 4 input rows at once (rows r at x[r * xStride], sums at acc[r * accStride]): each 32-byte load of
            /// packed weights feeds 4 dot-product instructions instead of 1, so a token matrix (M rows) reads the weights
            /// M / 4 times instead of M. Same exact int32 sums as GemvU8S8 per row; without AVX2 it is 4 GemvU8S8 calls.
            /// </summary>
            private static void GemvRows4U8S8(ReadOnlySpan<byte> x, int xStride, ReadOnlySpan<sbyte> packedWeights, Span<int> acc, int accStride, int blocks, int k4)
            {
                ref byte x0 = ref MemoryMarshal.GetReference(x);
                ref byte x1 = ref Unsafe.Add(ref x0, xStride);
                ref byte x2 = ref Unsafe.Add(ref x0, 2 * xStride);
                ref byte x3 = ref Unsafe.Add(ref x0, 3 * xStride);
                ref byte w = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(packedWeights));
                ref int a = ref MemoryMarshal.GetReference(acc);
                int blockBytes = k4 * 32;
                if (AvxVnni.IsSupported)
                {
                    // 2 blocks (16 channels) x 4 rows: 8 accumulators, 2 weight vectors and 1 broadcast in registers.
                    int b = 0;
                    for (; b + 2 <= blocks; b += 2)
                    {
                        Vector256<int> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
                        ref byte wq = ref Unsafe.Add(ref w, b * blockBytes);
                        for (int q = 0; q < k4; q++)
                        {
                            var w0 = Vector256.LoadUnsafe(ref wq).AsSByte();
                            var w1 = Vector256.LoadUnsafe(ref wq, (nuint)blockBytes).AsSByte();
                            var v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x0, q * 4))).AsByte();
                            a00 = AvxVnni.MultiplyWideningAndAdd(a00, v, w0); a01 = AvxVnni.MultiplyWideningAndAdd(a01, v, w1);
                            v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x1, q * 4))).AsByte();
                            a10 = AvxVnni.MultiplyWideningAndAdd(a10, v, w0); a11 = AvxVnni.MultiplyWideningAndAdd(a11, v, w1);
                            v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x2, q * 4))).AsByte();
                            a20 = AvxVnni.MultiplyWideningAndAdd(a20, v, w0); a21 = AvxVnni.MultiplyWideningAndAdd(a21, v, w1);
                            v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x3, q * 4))).AsByte();
                            a30 = AvxVnni.MultiplyWideningAndAdd(a30, v, w0); a31 = AvxVnni.MultiplyWideningAndAdd(a31, v, w1);
                            wq = ref Unsafe.Add(ref wq, 32);
                        }
                        ref int at = ref Unsafe.Add(ref a, b * 8);
                        a00.StoreUnsafe(ref at); a01.StoreUnsafe(ref at, 8);
                        a10.StoreUnsafe(ref at, (nuint)accStride); a11.StoreUnsafe(ref at, (nuint)accStride + 8);
                        a20.StoreUnsafe(ref at, (nuint)(2 * accStride)); a21.StoreUnsafe(ref at, (nuint)(2 * accStride) + 8);
                        a30.StoreUnsafe(ref at, (nuint)(3 * accStride)); a31.StoreUnsafe(ref at, (nuint)(3 * accStride) + 8);
                    }
                    for (; b < blocks; b++)
                    {
                        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
                        ref byte wq = ref Unsafe.Add(ref w, b * blockBytes);
                        for (int q = 0; q < k4; q++)
                        {
                            var w0 = Vector256.LoadUnsafe(ref wq).AsSByte();
                            a0 = AvxVnni.MultiplyWideningAndAdd(a0, Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x0, q * 4))).AsByte(), w0);
                            a1 = AvxVnni.MultiplyWideningAndAdd(a1, Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x1, q * 4))).AsByte(), w0);
                            a2 = AvxVnni.MultiplyWideningAndAdd(a2, Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x2, q * 4))).AsByte(), w0);
                            a3 = AvxVnni.MultiplyWideningAndAdd(a3, Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x3, q * 4))).AsByte(), w0);
                            wq = ref Unsafe.Add(ref wq, 32);
                        }
                        ref int at = ref Unsafe.Add(ref a, b * 8);
                        a0.StoreUnsafe(ref at); a1.StoreUnsafe(ref at, (nuint)accStride);
                        a2.StoreUnsafe(ref at, (nuint)(2 * accStride)); a3.StoreUnsafe(ref at, (nuint)(3 * accStride));
                    }
                }
                else if (Avx2.IsSupported)
                {
                    // int16 products with vpmaddwd (exact), one block (8 channels) x 4 rows: the block's quad is widened
                    // once for the 4 rows; lanes hold pair sums until PairSums.
                    for (int b = 0; b < blocks; b++)
                    {
                        Vector256<int> lo0 = default, hi0 = default, lo1 = default, hi1 = default, lo2 = default, hi2 = default, lo3 = default, hi3 = default;
                        ref byte wq = ref Unsafe.Add(ref w, b * blockBytes);
                        for (int q = 0; q < k4; q++)
                        {
                            var wlo = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref wq).AsSByte());
                            var whi = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref wq, 16).AsSByte());
                            var v = Avx2.BroadcastScalarToVector256(Sse41.ConvertToVector128Int16(Vector128.CreateScalar(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x0, q * 4))).AsByte()).AsInt64()).AsInt16();
                            lo0 = Avx2.Add(lo0, Avx2.MultiplyAddAdjacent(wlo, v)); hi0 = Avx2.Add(hi0, Avx2.MultiplyAddAdjacent(whi, v));
                            v = Avx2.BroadcastScalarToVector256(Sse41.ConvertToVector128Int16(Vector128.CreateScalar(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x1, q * 4))).AsByte()).AsInt64()).AsInt16();
                            lo1 = Avx2.Add(lo1, Avx2.MultiplyAddAdjacent(wlo, v)); hi1 = Avx2.Add(hi1, Avx2.MultiplyAddAdjacent(whi, v));
                            v = Avx2.BroadcastScalarToVector256(Sse41.ConvertToVector128Int16(Vector128.CreateScalar(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x2, q * 4))).AsByte()).AsInt64()).AsInt16();
                            lo2 = Avx2.Add(lo2, Avx2.MultiplyAddAdjacent(wlo, v)); hi2 = Avx2.Add(hi2, Avx2.MultiplyAddAdjacent(whi, v));
                            v = Avx2.BroadcastScalarToVector256(Sse41.ConvertToVector128Int16(Vector128.CreateScalar(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x3, q * 4))).AsByte()).AsInt64()).AsInt16();
                            lo3 = Avx2.Add(lo3, Avx2.MultiplyAddAdjacent(wlo, v)); hi3 = Avx2.Add(hi3, Avx2.MultiplyAddAdjacent(whi, v));
                            wq = ref Unsafe.Add(ref wq, 32);
                        }
                        ref int at = ref Unsafe.Add(ref a, b * 8);
                        PairSums(lo0, hi0).StoreUnsafe(ref at);
                        PairSums(lo1, hi1).StoreUnsafe(ref at, (nuint)accStride);
                        PairSums(lo2, hi2).StoreUnsafe(ref at, (nuint)(2 * accStride));
                        PairSums(lo3, hi3).StoreUnsafe(ref at, (nuint)(3 * accStride));
                    }
                }
                else
                {
                    int xBytes = k4 * 4, accLength = blocks * 8;
                    for (int r = 0; r < 4; r++)
                        GemvU8S8(x.Slice(r * xStride, xBytes), packedWeights, acc.Slice(r * accStride, accLength), blocks, k4);
                }
            }
            """;
    }
}
