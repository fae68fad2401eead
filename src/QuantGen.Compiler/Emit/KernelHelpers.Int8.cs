using System.Collections.Generic;

namespace QuantGen.Compiler.Emit;

// The INT8 building blocks of the generated kernels: per-layer code (im2col offsets, shapes, weights packed at build
// time) calls these shared routines with its constants. Each dispatches once on the instruction sets the JIT reports
// (IsSupported folds to a constant): AVX-VNNI, AVX2 (int16 widening: exact, no vpmaddubsw saturation), portable
// Vector128 (ARM64 AdvSimd, SSE), scalar. Every path computes the same int32 sums and the same fixed-point
// requantization as the scalar reference, bit for bit (IntegerKernelTests runs under each instruction set in CI).
public static partial class KernelHelpers
{
    public const string PadU8 = "PadU8";
    public const string PackQuadU8 = "PackQuadU8";
    public const string GemmU8S8 = "GemmU8S8";
    public const string GemvU8S8 = "GemvU8S8";
    public const string RequantizeRowU8 = "RequantizeRowU8";
    public const string RequantizeRowsU8 = "RequantizeRowsU8";
    public const string MaxPool2x2RequantizeU8 = "MaxPool2x2RequantizeU8";
    public const string RequantizeChannelsU8 = "RequantizeChannelsU8";
    public const string QAddU8 = "QAddU8";
    public const string QuantizeRowU8 = "QuantizeRowU8";
    public const string MaxPool2x2U8 = "MaxPool2x2U8";
    private const string RequantizeVector = "RequantizeToU8x8";
    private const string NarrowToBytes = "NarrowToBytes";
    private const string MultiplyRoundShift = "MultiplyRoundShift";
    private const string PairSums = "PairSums";

    private static void AddInt8Helpers(Dictionary<string, string> sources, Dictionary<string, string[]> dependencies)
    {
        sources[PadU8] = """
            /// <summary>
            /// Copies a uint8 CHW tensor into a zero-point-filled buffer with the given border, so window reads need no bounds checks.
            /// </summary>
            private static void PadU8(ReadOnlySpan<byte> x, Span<byte> padded, int channels, int height, int width, int top, int left, int paddedHeight, int paddedWidth, byte zeroPoint)
            {
                if (top != 0 || left != 0 || paddedHeight != height || paddedWidth != width)
                    padded.Slice(0, channels * paddedHeight * paddedWidth).Fill(zeroPoint);
                for (int c = 0; c < channels; c++)
                    for (int row = 0; row < height; row++)
                        x.Slice((c * height + row) * width, width).CopyTo(padded.Slice((c * paddedHeight + row + top) * paddedWidth + left, width));
            }
            """;
        sources[PackQuadU8] = """
            /// <summary>
            /// im2col for one quad of window elements: packed[p * 4 + j] = source[offset_j + oy * rowStride + ox * columnStride] for
            /// output pixel p = oy * outWidth + ox, j = 0..3. This interleaving puts four consecutive window elements of a pixel
            /// in one 32-bit lane, the layout uint8 x int8 dot-product instructions read. The SSE2 path does 16 pixels of a row at
            /// a time with byte and word unpacks (stride 1 or 2): it writes up to 15 pixels past a row's end, which the next row
            /// overwrites (rows go in order) or which land in the packed buffer's padding, and reads up to 32 bytes past the
            /// last row (the padded source has that slack).
            /// </summary>
            private static void PackQuadU8(ReadOnlySpan<byte> source, Span<byte> packed, int offset0, int offset1, int offset2, int offset3, int outHeight, int outWidth, int rowStride, int columnStride)
            {
                ref byte src = ref MemoryMarshal.GetReference(source);
                ref byte dst = ref MemoryMarshal.GetReference(packed);
                if (Sse2.IsSupported && columnStride <= 2)
                {
                    for (int oy = 0; oy < outHeight; oy++)
                    {
                        int row = oy * rowStride;
                        for (int ox = 0; ox < outWidth; ox += 16)
                        {
                            int at = row + ox * columnStride;
                            var r0 = LoadSixteenPixels(ref Unsafe.Add(ref src, offset0 + at), columnStride);
                            var r1 = LoadSixteenPixels(ref Unsafe.Add(ref src, offset1 + at), columnStride);
                            var r2 = LoadSixteenPixels(ref Unsafe.Add(ref src, offset2 + at), columnStride);
                            var r3 = LoadSixteenPixels(ref Unsafe.Add(ref src, offset3 + at), columnStride);
                            var low01 = Sse2.UnpackLow(r0, r1).AsUInt16();
                            var low23 = Sse2.UnpackLow(r2, r3).AsUInt16();
                            var high01 = Sse2.UnpackHigh(r0, r1).AsUInt16();
                            var high23 = Sse2.UnpackHigh(r2, r3).AsUInt16();
                            ref byte d = ref Unsafe.Add(ref dst, (oy * outWidth + ox) * 4);
                            Sse2.UnpackLow(low01, low23).AsByte().StoreUnsafe(ref d);
                            Sse2.UnpackHigh(low01, low23).AsByte().StoreUnsafe(ref d, 16);
                            Sse2.UnpackLow(high01, high23).AsByte().StoreUnsafe(ref d, 32);
                            Sse2.UnpackHigh(high01, high23).AsByte().StoreUnsafe(ref d, 48);
                        }
                    }
                    return;
                }
                int p = 0;
                for (int oy = 0; oy < outHeight; oy++)
                    for (int ox = 0; ox < outWidth; ox++, p++)
                    {
                        int at = oy * rowStride + ox * columnStride;
                        Unsafe.Add(ref dst, p * 4) = Unsafe.Add(ref src, offset0 + at);
                        Unsafe.Add(ref dst, p * 4 + 1) = Unsafe.Add(ref src, offset1 + at);
                        Unsafe.Add(ref dst, p * 4 + 2) = Unsafe.Add(ref src, offset2 + at);
                        Unsafe.Add(ref dst, p * 4 + 3) = Unsafe.Add(ref src, offset3 + at);
                    }
            }

            /// <summary>Sixteen bytes at stride 1, or every other byte of 32 (stride 2: the even bytes, packed).</summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static Vector128<byte> LoadSixteenPixels(ref byte source, int columnStride)
            {
                if (columnStride == 1)
                    return Vector128.LoadUnsafe(ref source);
                var even = Vector128.Create((ushort)0x00FF);
                return Sse2.PackUnsignedSaturate((Vector128.LoadUnsafe(ref source).AsUInt16() & even).AsInt16(), (Vector128.LoadUnsafe(ref source, 16).AsUInt16() & even).AsInt16());
            }
            """;
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
                    // int16 products with vpmaddwd (exact); lanes hold pair sums [c0: k0+k1, c0: k2+k3, c1: ...].
                    for (int b = 0; b < blocks; b++)
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
        sources[QAddU8] = """
            /// <summary>
            /// TensorFlow Lite's integer add (see QAdd): each input minus its zero point, shifted left by 20 bits, scaled to a common
            /// fixed point; the sum requantized, the zero point added, clamped. 8 elements at a time with AVX2, bit-exact.
            /// </summary>
            private static void QAddU8(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> y, int aZero, int aMultiplier, int aShift,
                int bZero, int bMultiplier, int bShift, int yZero, int yMultiplier, int yShift, int lo, int hi)
            {
                int i = 0;
                if (Avx2.IsSupported)
                {
                    var az = Vector256.Create(aZero);
                    var bz = Vector256.Create(bZero);
                    var am = Vector256.Create(aMultiplier);
                    var bm = Vector256.Create(bMultiplier);
                    var ym = Vector256.Create(yMultiplier);
                    var yz = Vector256.Create(yZero);
                    var min = Vector256.Create(lo);
                    var max = Vector256.Create(hi);
                    ref byte ra = ref MemoryMarshal.GetReference(a);
                    ref byte rb = ref MemoryMarshal.GetReference(b);
                    ref byte ry = ref MemoryMarshal.GetReference(y);
                    for (; i + 8 <= y.Length; i += 8)
                    {
                        var va = Avx2.ConvertToVector256Int32(Vector128.CreateScalar(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref ra, i))).AsByte());
                        var vb = Avx2.ConvertToVector256Int32(Vector128.CreateScalar(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref rb, i))).AsByte());
                        var sa = MultiplyRoundShift(Avx2.ShiftLeftLogical(va - az, 20), am, aShift);
                        var sb = MultiplyRoundShift(Avx2.ShiftLeftLogical(vb - bz, 20), bm, bShift);
                        var q = MultiplyRoundShift(sa + sb, ym, yShift) + yz;
                        Unsafe.WriteUnaligned(ref Unsafe.Add(ref ry, i), NarrowToBytes(Vector256.Min(Vector256.Max(q, min), max)));
                    }
                }
                for (; i < y.Length; i++)
                {
                    long sa = ((long)((a[i] - aZero) << 20) * aMultiplier + (1L << (aShift - 1))) >> aShift;
                    long sb = ((long)((b[i] - bZero) << 20) * bMultiplier + (1L << (bShift - 1))) >> bShift;
                    int q = (int)(((long)(int)(sa + sb) * yMultiplier + (1L << (yShift - 1))) >> yShift) + yZero;
                    y[i] = (byte)(q < lo ? lo : q > hi ? hi : q);
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
        dependencies[RequantizeRowU8] = new[] { MultiplyRoundShift, NarrowToBytes, RequantizeToU8 };
        dependencies[RequantizeChannelsU8] = new[] { RequantizeVector, NarrowToBytes, RequantizeToU8 };
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
        dependencies[QuantizeRowU8] = new[] { QuantizeU8 };
        dependencies[RequantizeRowsU8] = new[] { RequantizeRowU8 };
        dependencies[MaxPool2x2RequantizeU8] = new[] { MultiplyRoundShift, NarrowToBytes, RequantizeToU8 };
        dependencies[GemmU8S8] = new[] { PairSums };
        dependencies[GemvU8S8] = new[] { PairSums };
        dependencies[QAddU8] = new[] { MultiplyRoundShift, NarrowToBytes };
    }
}
