using System.Collections.Generic;

namespace QuantGen.Compiler.Emit;

// The input layouts the integer GEMM reads: the padded copy of a uint8 tensor and its packing by quads.
public static partial class KernelHelpers
{
    private static void AddInt8LayoutHelpers(Dictionary<string, string> sources)
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
    }
}
