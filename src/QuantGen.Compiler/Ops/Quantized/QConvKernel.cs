using System.Globalization;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops.Quantized;

/// <summary>
/// The lowering of <see cref="QConv"/>: a uint8 x int8 GEMM (KernelHelpers.GemmU8S8) over "quads", four consecutive
/// elements of the reduction dimension that one dot-product instruction consumes per 32-bit lane. Two ways to lay
/// the input out for it:
/// <list type="bullet">
/// <item>Shifted taps (stride 1, input channels per group a multiple of 4): the padded input is interleaved once by
/// four channels ([c/4][Hp][Wp][4]); the quad (c/4, ky, kx) of output pixel (oy, ox) is then simply the interleaved
/// pixel (oy + ky, ox + kx), so each quad's [pixels][4] operand is the interleaved plane shifted by its tap. The
/// GEMM runs over Hp x Wp-wide rows and the Wp - OW extra columns are dropped: no im2col copy at all.</item>
/// <item>im2col (strides, or channel counts that are not a multiple of 4): every output pixel's window is packed
/// into quads ([k4][pixels][4]).</item>
/// </list>
/// Requantization (or the dynamic float epilogue) reads the int32 accumulators row by row.
/// </summary>
internal static class QConvKernel
{
    /// <summary>Scratch layout and GEMM shape of one QConv.</summary>
    internal sealed class Layout
    {
        public bool ShiftedTaps;
        public int PaddedHeight, PaddedWidth, K, K4;
        public int Pixels;      // GEMM columns (a multiple of 16)
        public int RowStride;   // accumulator columns per output row: Wp (shifted taps) or OW (im2col)
        public int QuadBytes;   // bytes between consecutive quads' operands (im2col) or between interleaved planes
        public int PaddedBytes, OperandBytes, AccBytes, WideWeightBytes;

        public int ScratchBytes => PaddedBytes + OperandBytes + AccBytes + WideWeightBytes;
    }

    public static Layout Plan(OpContext ctx)
    {
        var p = Conv.Read(ctx);
        var g = p.G;
        var l = new Layout
        {
            ShiftedTaps = g.SY == 1 && g.SX == 1 && p.Cg % 4 == 0,
            PaddedHeight = g.H + g.PadTop + g.PadBottom,
            PaddedWidth = g.W + g.PadLeft + g.PadRight,
            K = p.Cg * g.KH * g.KW,
        };
        l.K4 = (l.K + 3) / 4;
        long plane = (long)l.PaddedHeight * l.PaddedWidth;
        long padded = RoundUp((long)g.C * plane + 32, 64);
        long operand;
        if (l.ShiftedTaps)
        {
            l.RowStride = l.PaddedWidth;
            l.Pixels = (int)RoundUp((long)g.OH * l.PaddedWidth, 16);
            l.QuadBytes = (int)System.Math.Min(plane * 4, int.MaxValue);
            // The GEMM reads up to (KW - 1) * DX + 15 pixels past a plane (the columns it drops), the packer writes up
            // to 15 past it: one padded row plus 32 pixels of slack covers both.
            operand = RoundUp(p.Cg / 4 * plane * 4 + (l.PaddedWidth + 32) * 4L, 64);
        }
        else
        {
            l.RowStride = g.OW;
            l.Pixels = (int)RoundUp((long)g.OH * g.OW, 16);
            // The packer writes up to 15 pixels past the plane's end.
            long quadStride = RoundUp((long)g.OH * g.OW + 15, 16);
            l.QuadBytes = (int)System.Math.Min(quadStride * 4, int.MaxValue);
            operand = RoundUp(l.K4 * quadStride * 4, 64);
        }
        long acc = (long)p.Mg * l.Pixels * 4;
        // The AVX2 path (no VNNI) widens the group's weights to int16 here.
        long wide = RoundUp((long)p.Mg * l.K4 * 4 * 2, 64);
        if (padded + operand + acc + wide > 1 << 30)
            throw ctx.Unsupported($"an INT8 convolution that needs {padded + operand + acc + wide:N0} bytes of scratch memory (more than 1 GiB)");
        (l.PaddedBytes, l.OperandBytes, l.AccBytes, l.WideWeightBytes) = ((int)padded, (int)operand, (int)acc, (int)wide);
        return l;
    }

    private static long RoundUp(long v, long m) => (v + m - 1) / m * m;

    /// <summary>
    /// The weights in the order the GEMM reads them, one row per output channel zero-padded to whole quads: window order
    /// (c, ky, kx) for im2col; (c/4, ky, kx, c%4) for shifted taps.
    /// </summary>
    private static Tensor WeightRows(Tensor w, Conv.Params p, Layout l)
    {
        var g = p.G;
        var rows = new long[p.M * l.K4 * 4];
        for (int m = 0; m < p.M; m++)
            for (int c = 0; c < p.Cg; c++)
                for (int ky = 0; ky < g.KH; ky++)
                    for (int kx = 0; kx < g.KW; kx++)
                    {
                        int k = l.ShiftedTaps ? ((c / 4 * g.KH + ky) * g.KW + kx) * 4 + c % 4 : (c * g.KH + ky) * g.KW + kx;
                        rows[m * l.K4 * 4 + k] = w.Longs![((m * p.Cg + c) * g.KH + ky) * g.KW + kx];
                    }
        return Tensor.FromLongs(DataType.Int8, new[] { p.M, l.K4 * 4 }, rows);
    }

    /// <summary>Byte offset of each quad's [pixels][4] operand (see <see cref="Layout"/>).</summary>
    internal static Tensor QuadOffsets(Conv.Params p, Layout l)
    {
        var g = p.G;
        var offsets = new long[l.K4];
        for (int q = 0; q < l.K4; q++)
        {
            if (!l.ShiftedTaps)
            {
                offsets[q] = (long)q * l.QuadBytes;
                continue;
            }
            int c4 = q / (g.KH * g.KW), ky = q / g.KW % g.KH, kx = q % g.KW;
            offsets[q] = (long)c4 * l.QuadBytes + (ky * g.DY * l.PaddedWidth + kx * g.DX) * 4L;
        }
        return Tensor.FromLongs(DataType.Int32, new[] { l.K4 }, offsets);
    }

    public static void Emit(KernelContext ctx)
    {
        var p = Conv.Read(ctx);
        var g = p.G;
        var l = Plan(ctx);
        var r = QConv.ReadRequant(ctx);
        var w = ctx.W;
        bool dynamic = QConv.IsDynamic(ctx);
        string x = ctx.In(0), y = ctx.Out(0), scratch = ctx.Scratch();
        var weights = ctx.InputConstant(1) ?? throw ctx.Unsupported("QConv with weights that are not constant");
        // When K is a multiple of 4, the ONNX layout already is the im2col GEMM's.
        string wt = !l.ShiftedTaps && l.K % 4 == 0 ? ctx.In(1) : ctx.Embed("weight_rows", WeightRows(weights, p, l));
        string offsets = ctx.Embed("quad_offsets", QuadOffsets(p, l));
        string xZero = r.XZero.ToString(CultureInfo.InvariantCulture);
        if (dynamic)
        {
            DynamicEpilogue.EmitPreamble(ctx);
            xZero = "zx";
        }
        int inputPlane = g.C * g.H * g.W, paddedPlane = l.PaddedHeight * l.PaddedWidth, plane = g.OH * g.OW;
        bool pooled = QConv.PoolsOutput(ctx);
        bool residual = QConv.AddsResidual(ctx);
        var add = residual ? QAdd.Read(ctx, Passes.FuseConvAdd.Prefix) : default;
        bool convIsA = ctx.Int(Passes.FuseConvAdd.ConvIsA, 1) != 0;
        int pooledPlane = g.OH / 2 * (g.OW / 2);
        if (l.ShiftedTaps)
        {
            w.Line($"// Shifted taps: the input copied with its padding ({l.PaddedHeight}x{l.PaddedWidth}, zero point {xZero}) and interleaved by four channels;");
            w.Line($"// each of the {l.K4} quads (4 channels at one of the {g.KH}x{g.KW} taps) is that buffer shifted by its tap. One uint8 x int8 GEMM");
            w.Line($"// per group ({p.Mg} channels x {g.OH} rows of {l.PaddedWidth} pixels, {l.PaddedWidth - g.OW} of them dropped) feeds the requantization.");
        }
        else
        {
            w.Line($"// im2col: the input copied with its padding ({l.PaddedHeight}x{l.PaddedWidth}, zero point {xZero}); each output pixel's {p.Cg}x{g.KH}x{g.KW}");
            w.Line($"// window packed four elements to a 32-bit lane ({l.K4} quads). One uint8 x int8 GEMM per group ({p.Mg} channels x {plane} pixels)");
            w.Line("// feeds the requantization.");
        }
        if (residual)
            w.Line($"// Then the residual add (QAdd) on the requantized values, in registers: the convolution's uint8 output is never stored.");
        if (pooled)
        {
            w.Line($"// Then 2x2 stride-2 max pooling on the int32 accumulators, before requantizing a quarter of them. Equal to pooling the");
            w.Line($"// requantized values: requantization is non-decreasing here (checked at build time for every channel: |acc + bias| < 2^31");
            w.Line($"// and below 2^(shift - 1), so nothing wraps around in 32 bits).");
        }
        w.Line($"var padded = {scratch}.Slice(0, {l.PaddedBytes});");
        w.Line($"var operand = {scratch}.Slice({l.PaddedBytes}, {l.OperandBytes});");
        w.Line($"var acc = MemoryMarshal.Cast<byte, int>({scratch}.Slice({l.PaddedBytes + l.OperandBytes}, {l.AccBytes}));");
        w.Line($"var widenedWeights = MemoryMarshal.Cast<byte, short>({scratch}.Slice({l.PaddedBytes + l.OperandBytes + l.AccBytes}, {l.WideWeightBytes}));");
        using (w.Block($"for (int n = 0; n < {g.N}; n++)"))
        {
            w.Line($"{ctx.Helper(KernelHelpers.PadU8)}({x}.Slice(n * {inputPlane}, {inputPlane}), padded, {g.C}, {g.H}, {g.W}, {g.PadTop}, {g.PadLeft}, {l.PaddedHeight}, {l.PaddedWidth}, (byte){xZero});");
            using (w.Block($"for (int group = 0; group < {p.Group}; group++)"))
            {
                if (l.ShiftedTaps)
                {
                    using (w.Block($"for (int c4 = 0; c4 < {p.Cg / 4}; c4++)"))
                    {
                        w.Line($"int c = (group * {p.Cg} + 4 * c4) * {paddedPlane};");
                        w.Line($"{ctx.Helper(KernelHelpers.PackQuadU8)}(padded, operand.Slice(c4 * {l.QuadBytes}), c, c + {paddedPlane}, c + {2 * paddedPlane}, c + {3 * paddedPlane}, {l.PaddedHeight}, {l.PaddedWidth}, {l.PaddedWidth}, 1);");
                    }
                }
                else
                {
                    w.Line($"int channels = group * {p.Cg * paddedPlane};");
                    using (w.Block($"for (int q = 0; q < {l.K4}; q++)"))
                    {
                        w.Line($"{ctx.Helper(KernelHelpers.PackQuadU8)}(padded, operand.Slice(q * {l.QuadBytes}, {l.QuadBytes}),");
                        w.Line($"    channels + WindowOffset(4 * q), channels + WindowOffset(4 * q + 1), channels + WindowOffset(4 * q + 2), channels + WindowOffset(4 * q + 3),");
                        w.Line($"    {g.OH}, {g.OW}, {g.SY * l.PaddedWidth}, {g.SX});");
                    }
                }
                w.Line($"{ctx.Helper(KernelHelpers.GemmU8S8)}(operand, {wt}.Slice(group * {p.Mg * l.K4 * 4}, {p.Mg * l.K4 * 4}), acc, {p.Mg}, {l.K4}, {l.Pixels}, {offsets}, widenedWeights);");
                using (w.Block($"for (int j = 0; j < {p.Mg}; j++)"))
                {
                    w.Line($"int oc = group * {p.Mg} + j;");
                    if (dynamic)
                    {
                        w.Line($"var plane = acc.Slice(j * {l.Pixels}, {plane});");
                        if (l.RowStride != g.OW)
                        {
                            w.Line($"// Drop the {l.RowStride - g.OW} extra columns of each GEMM row (moving left in place), so the plane is contiguous.");
                            using (w.Block($"for (int oy = 1; oy < {g.OH}; oy++)"))
                                w.Line($"acc.Slice(j * {l.Pixels} + oy * {l.RowStride}, {g.OW}).CopyTo(plane.Slice(oy * {g.OW}));");
                        }
                        using (w.Block($"for (int i = 0; i < {plane}; i++)"))
                            DynamicEpilogue.EmitStore(ctx, $"{y}[(n * {p.M} + oc) * {plane} + i]", "plane[i]", "oc");
                    }
                    else if (residual)
                    {
                        // One call per plane when its rows are contiguous, else one row of OW per GEMM row.
                        bool wide = l.RowStride != g.OW;
                        string rows = wide ? g.OH.ToString(CultureInfo.InvariantCulture) : "1", width = (wide ? g.OW : plane).ToString(CultureInfo.InvariantCulture);
                        w.Line($"{ctx.Helper(KernelHelpers.RequantizeAddRowsU8)}(acc.Slice(j * {l.Pixels}, {l.Pixels}), {l.RowStride}, {ctx.In(5)}.Slice((n * {p.M} + oc) * {plane}), {y}.Slice((n * {p.M} + oc) * {plane}), {rows}, {width},");
                        w.Line($"    {ctx.In(2)}[oc], {ctx.In(3)}[oc], {ctx.In(4)}[oc], {r.YZero}, {r.Min}, {r.Max}, {(convIsA ? "true" : "false")},");
                        w.Line($"    {add.AZero}, {add.AMultiplier}, {add.AShift}, {add.BZero}, {add.BMultiplier}, {add.BShift}, {add.YZero}, {add.YMultiplier}, {add.YShift}, {add.Min}, {add.Max});");
                    }
                    else if (pooled)
                    {
                        w.Line($"{ctx.Helper(KernelHelpers.MaxPool2x2RequantizeU8)}(acc.Slice(j * {l.Pixels}, {l.Pixels}), {l.RowStride}, {y}.Slice((n * {p.M} + oc) * {pooledPlane}), {g.OH / 2}, {g.OW / 2},");
                        w.Line($"    {ctx.In(2)}[oc], {ctx.In(3)}[oc], {ctx.In(4)}[oc], {r.YZero}, {r.Min}, {r.Max});");
                    }
                    else if (l.RowStride != g.OW)
                    {
                        w.Line($"// {g.OH} rows of {g.OW} from GEMM rows {l.RowStride} wide; y runs to the tensor's end so narrow rows can spill forward.");
                        w.Line($"{ctx.Helper(KernelHelpers.RequantizeRowsU8)}(acc.Slice(j * {l.Pixels}, {l.Pixels}), {l.RowStride}, {y}.Slice((n * {p.M} + oc) * {plane}), {g.OH}, {g.OW},");
                        w.Line($"    {ctx.In(2)}[oc], {ctx.In(3)}[oc], {ctx.In(4)}[oc], {r.YZero}, {r.Min}, {r.Max});");
                    }
                    else
                    {
                        w.Line($"{ctx.Helper(KernelHelpers.RequantizeRowU8)}(acc.Slice(j * {l.Pixels}, {plane}), {y}.Slice((n * {p.M} + oc) * {plane}, {plane}), {ctx.In(2)}[oc], {ctx.In(3)}[oc], {ctx.In(4)}[oc], {r.YZero}, {r.Min}, {r.Max});");
                    }
                }
            }
        }
        if (!l.ShiftedTaps)
        {
            w.Line();
            w.Line($"// Where window element k = (channel, ky, kx) of output pixel (0, 0) sits in the padded input; elements past K ({l.K}) have zero weights.");
            w.Line($"static int WindowOffset(int k) => k < {l.K} ? k / {g.KH * g.KW} * {paddedPlane} + k / {g.KW} % {g.KH} * {g.DY * l.PaddedWidth} + k % {g.KW} * {g.DX} : 0;");
        }
    }
}
