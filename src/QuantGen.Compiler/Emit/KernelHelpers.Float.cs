using System.Collections.Generic;

namespace QuantGen.Compiler.Emit;

// The float32 convolution's building blocks: per-layer code copies the input with its padding, lays each window out
// as a row of the im2col matrix and calls one register-blocked GEMM (System.Numerics.Vector<float>: 8 lanes with
// AVX2, 4 with AdvSimd or SSE; fused multiply-add where the CPU has it).
public static partial class KernelHelpers
{
    public const string PadF32 = "PadF32";
    public const string Im2ColRowF32 = "Im2ColRowF32";
    public const string GemmF32 = "GemmF32";

    private static void AddFloatHelpers(Dictionary<string, string> sources)
    {
        sources[PadF32] = """
            /// <summary>Copies a float CHW tensor into a zero-filled buffer with the given border, so window reads need no bounds checks.</summary>
            private static void PadF32(ReadOnlySpan<float> x, Span<float> padded, int channels, int height, int width, int top, int left, int paddedHeight, int paddedWidth)
            {
                if (top != 0 || left != 0 || paddedHeight != height || paddedWidth != width)
                    padded.Slice(0, channels * paddedHeight * paddedWidth).Clear();
                for (int c = 0; c < channels; c++)
                    for (int row = 0; row < height; row++)
                        x.Slice((c * height + row) * width, width).CopyTo(padded.Slice((c * paddedHeight + row + top) * paddedWidth + left, width));
            }
            """;
        sources[Im2ColRowF32] = """
            /// <summary>
            /// One row of the im2col matrix: row[oy * outWidth + ox] = source[offset + oy * rowStride + ox * columnStride], then
            /// zeros up to the row's padded length (so the GEMM's last tile reads finite values).
            /// </summary>
            private static void Im2ColRowF32(ReadOnlySpan<float> source, Span<float> row, int offset, int outHeight, int outWidth, int rowStride, int columnStride)
            {
                for (int oy = 0; oy < outHeight; oy++)
                {
                    var dst = row.Slice(oy * outWidth, outWidth);
                    if (columnStride == 1)
                    {
                        source.Slice(offset + oy * rowStride, outWidth).CopyTo(dst);
                        continue;
                    }
                    for (int ox = 0; ox < outWidth; ox++)
                        dst[ox] = source[offset + oy * rowStride + ox * columnStride];
                }
                row.Slice(outHeight * outWidth).Clear();
            }
            """;
        sources[GemmF32] = """
            /// <summary>
            /// acc[m, p] = bias[m] + Σ_k weights[m, k] * im2col[k, p]. Tiles of 4 rows x 2 vectors of pixels: each im2col vector
            /// is loaded once for 4 output channels, each weight broadcast once for 2 vectors; then single vectors (rows left
            /// over, and the vector after the last pair), then scalar columns, so any width of Vector&lt;float&gt; and any pixel
            /// count stay inside the buffers.
            /// </summary>
            private static void GemmF32(ReadOnlySpan<float> im2col, ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, Span<float> acc, int rows, int k, int pixels)
            {
                ref float x = ref MemoryMarshal.GetReference(im2col);
                ref float w = ref MemoryMarshal.GetReference(weights);
                ref float a = ref MemoryMarshal.GetReference(acc);
                int vectorPixels = 0; // columns the vector code covers, in every row
                if (System.Numerics.Vector.IsHardwareAccelerated)
                {
                    int width = System.Numerics.Vector<float>.Count;
                    int pairs = pixels - pixels % (2 * width);
                    vectorPixels = pixels - pixels % width;
                    int m = 0;
                    for (; m + 4 <= rows; m += 4)
                        for (int p = 0; p < pairs; p += 2 * width)
                        {
                            var a00 = new System.Numerics.Vector<float>(bias.IsEmpty ? 0f : bias[m]);
                            var a10 = new System.Numerics.Vector<float>(bias.IsEmpty ? 0f : bias[m + 1]);
                            var a20 = new System.Numerics.Vector<float>(bias.IsEmpty ? 0f : bias[m + 2]);
                            var a30 = new System.Numerics.Vector<float>(bias.IsEmpty ? 0f : bias[m + 3]);
                            System.Numerics.Vector<float> a01 = a00, a11 = a10, a21 = a20, a31 = a30;
                            ref float xk = ref Unsafe.Add(ref x, p);
                            ref float wk = ref Unsafe.Add(ref w, m * k);
                            for (int i = 0; i < k; i++)
                            {
                                var x0 = System.Numerics.Vector.LoadUnsafe(ref xk);
                                var x1 = System.Numerics.Vector.LoadUnsafe(ref xk, (nuint)width);
                                var w0 = new System.Numerics.Vector<float>(wk);
                                var w1 = new System.Numerics.Vector<float>(Unsafe.Add(ref wk, k));
                                var w2 = new System.Numerics.Vector<float>(Unsafe.Add(ref wk, 2 * k));
                                var w3 = new System.Numerics.Vector<float>(Unsafe.Add(ref wk, 3 * k));
                                a00 = System.Numerics.Vector.MultiplyAddEstimate(x0, w0, a00); a01 = System.Numerics.Vector.MultiplyAddEstimate(x1, w0, a01);
                                a10 = System.Numerics.Vector.MultiplyAddEstimate(x0, w1, a10); a11 = System.Numerics.Vector.MultiplyAddEstimate(x1, w1, a11);
                                a20 = System.Numerics.Vector.MultiplyAddEstimate(x0, w2, a20); a21 = System.Numerics.Vector.MultiplyAddEstimate(x1, w2, a21);
                                a30 = System.Numerics.Vector.MultiplyAddEstimate(x0, w3, a30); a31 = System.Numerics.Vector.MultiplyAddEstimate(x1, w3, a31);
                                xk = ref Unsafe.Add(ref xk, pixels);
                                wk = ref Unsafe.Add(ref wk, 1);
                            }
                            ref float at = ref Unsafe.Add(ref a, m * pixels + p);
                            System.Numerics.Vector.StoreUnsafe(a00, ref at); System.Numerics.Vector.StoreUnsafe(a01, ref at, (nuint)width);
                            System.Numerics.Vector.StoreUnsafe(a10, ref at, (nuint)pixels); System.Numerics.Vector.StoreUnsafe(a11, ref at, (nuint)(pixels + width));
                            System.Numerics.Vector.StoreUnsafe(a20, ref at, (nuint)(2 * pixels)); System.Numerics.Vector.StoreUnsafe(a21, ref at, (nuint)(2 * pixels + width));
                            System.Numerics.Vector.StoreUnsafe(a30, ref at, (nuint)(3 * pixels)); System.Numerics.Vector.StoreUnsafe(a31, ref at, (nuint)(3 * pixels + width));
                        }
                    // Rows the tiles did not take (all their vectors), and in tiled rows the vector after the last pair.
                    for (int r = 0; r < rows; r++)
                        for (int p = r < m ? pairs : 0; p < vectorPixels; p += width)
                        {
                            var s = new System.Numerics.Vector<float>(bias.IsEmpty ? 0f : bias[r]);
                            for (int i = 0; i < k; i++)
                                s = System.Numerics.Vector.MultiplyAddEstimate(System.Numerics.Vector.LoadUnsafe(ref x, (nuint)(i * pixels + p)), new System.Numerics.Vector<float>(Unsafe.Add(ref w, r * k + i)), s);
                            System.Numerics.Vector.StoreUnsafe(s, ref a, (nuint)(r * pixels + p));
                        }
                }
                for (int r = 0; r < rows; r++)
                    for (int p = vectorPixels; p < pixels; p++)
                    {
                        float s = bias.IsEmpty ? 0f : bias[r];
                        for (int i = 0; i < k; i++)
                            s += Unsafe.Add(ref x, i * pixels + p) * Unsafe.Add(ref w, r * k + i);
                        Unsafe.Add(ref a, r * pixels + p) = s;
                    }
            }
            """;
    }
}
