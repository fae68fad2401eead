using System;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Quantization;

namespace QuantGen.Compiler.Ops.Quantized;

/// <summary>
/// INT8 convolution: uint8 input, int8 per-channel weights, int32 accumulation, requantized to uint8.
/// Inputs: x (uint8), w (int8, M x C/group x kH x kW), bias (int32 [M], the input zero-point term already folded in),
/// multiplier and shift (int32 [M], fixed-point s_x * s_w[c] / s_y). Attributes: Conv's own, plus x_zero_point,
/// y_zero_point, y_min, y_max (clamp bounds: a fused Relu or Clip).
/// <para>
/// Dynamic mode (attribute dynamic = 1, used without calibration): the output is float instead. Inputs: x (uint8,
/// quantized per call by QuantizeDynamic), w, bias (float [M]), weight_scale (float [M]), weight_sum (int32 [M]) and
/// x_params (float [2]: the input's scale and zero point of this call). y = (acc - z_x * weight_sum[c]) *
/// (s_x * weight_scale[c]) + bias[c], then the fused activation in float.
/// </para>
/// </summary>
public sealed class QConv : Operator
{
    public override string OpType => "QConv";

    internal readonly record struct Requant(int XZero, int YZero, int Min, int Max);

    internal static bool IsDynamic(OpContext ctx) => ctx.Int("dynamic", 0) != 0;

    public override bool CanFuseActivation => true;

    internal static Requant ReadRequant(OpContext ctx) =>
        new((int)ctx.Int("x_zero_point", 0), (int)ctx.Int("y_zero_point", 0), (int)ctx.Int("y_min", 0), (int)ctx.Int("y_max", 255));

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.UInt8);
        ctx.RequireType(1, DataType.Int8);
        var p = Conv.Read(ctx);
        ctx.SetOutput(0, IsDynamic(ctx) ? DataType.Float : DataType.UInt8, p.G.OutputShape(p.M));
    }

    public override string Describe(OpContext ctx)
    {
        var p = Conv.Read(ctx);
        var r = ReadRequant(ctx);
        string kernel = $"{p.G.Describe()}{(p.Group == 1 ? "" : " group " + p.Group)}, uint8 x int8";
        return IsDynamic(ctx) ? kernel + ", float output" : $"{kernel}, zero points {r.XZero} -> {r.YZero}, clamp [{r.Min}, {r.Max}]";
    }

    public override void Evaluate(EvalContext ctx)
    {
        var p = Conv.Read(ctx);
        var g = p.G;
        var r = ReadRequant(ctx);
        bool dynamic = IsDynamic(ctx);
        var x = ctx.Input(0).Longs!;
        var w = ctx.Input(1).Longs!;
        var epilogue = dynamic ? DynamicEpilogue.Read(ctx) : null;
        if (epilogue != null) r = r with { XZero = epilogue.XZero };
        var bias = dynamic ? null : ctx.Input(2).Longs!;
        var mult = dynamic ? null : ctx.Input(3).Longs!;
        var shift = dynamic ? null : ctx.Input(4).Longs!;
        var y = new long[g.N * p.M * g.OH * g.OW];
        var yf = new float[y.Length];
        int o = 0;
        for (int n = 0; n < g.N; n++)
            for (int oc = 0; oc < p.M; oc++)
            {
                int c0 = oc / p.Mg * p.Cg;
                for (int oy = 0; oy < g.OH; oy++)
                    for (int ox = 0; ox < g.OW; ox++)
                    {
                        int acc = dynamic ? 0 : (int)bias![oc];
                        for (int ic = 0; ic < p.Cg; ic++)
                            for (int ky = 0; ky < g.KH; ky++)
                                for (int kx = 0; kx < g.KW; kx++)
                                {
                                    int iy = oy * g.SY - g.PadTop + ky * g.DY, ix = ox * g.SX - g.PadLeft + kx * g.DX;
                                    // Padding is real 0, which is the zero point in uint8.
                                    int xv = iy < 0 || iy >= g.H || ix < 0 || ix >= g.W ? r.XZero : (int)x[((n * g.C + c0 + ic) * g.H + iy) * g.W + ix];
                                    acc += xv * (int)w[((oc * p.Cg + ic) * g.KH + ky) * g.KW + kx];
                                }
                        if (dynamic) yf[o++] = epilogue!.Apply(acc, oc, ctx.Node.Activation);
                        else y[o++] = QuantMath.RequantizeToU8(acc, (int)mult![oc], (int)shift![oc], r.YZero, r.Min, r.Max);
                    }
            }
        ctx.SetOutput(0, dynamic ? Tensor.FromFloats(g.OutputShape(p.M), yf) : Tensor.FromLongs(DataType.UInt8, g.OutputShape(p.M), y));
    }

    /// <summary>
    /// How the kernel lays out its scratch memory: the input copied with its padding (plus read slack), the im2col
    /// windows packed by quads of four window elements ([k4][quadStride][4] bytes), and int32 accumulators
    /// ([Mg][pixels]). pixels is the output plane rounded up to the GEMM's 16-pixel tile; quadStride leaves room for the
    /// packer's row overrun (up to 15 pixels), the padded input for its read overrun (up to 32 bytes).
    /// </summary>
    internal sealed class Layout
    {
        public int PaddedHeight, PaddedWidth, Plane, Pixels, QuadStride, K, K4;
        public int PaddedBytes, PackedBytes, AccBytes;

        public static Layout Of(Conv.Params p, OpContext ctx)
        {
            var g = p.G;
            var l = new Layout
            {
                PaddedHeight = g.H + g.PadTop + g.PadBottom,
                PaddedWidth = g.W + g.PadLeft + g.PadRight,
                Plane = g.OH * g.OW,
                K = p.Cg * g.KH * g.KW,
            };
            l.K4 = (l.K + 3) / 4;
            l.Pixels = RoundUp(l.Plane, 16);
            l.QuadStride = RoundUp(l.Plane + 15, 16);
            long padded = RoundUp((long)g.C * l.PaddedHeight * l.PaddedWidth + 32, 64);
            long packed = RoundUp((long)l.K4 * l.QuadStride * 4, 64);
            long acc = (long)p.Mg * l.Pixels * 4;
            if (padded + packed + acc > 1 << 30)
                throw ctx.Unsupported($"an INT8 convolution that needs {padded + packed + acc:N0} bytes of scratch memory (more than 1 GiB)");
            (l.PaddedBytes, l.PackedBytes, l.AccBytes) = ((int)padded, (int)packed, (int)acc);
            return l;
        }

        public int ScratchBytes => PaddedBytes + PackedBytes + AccBytes;

        private static int RoundUp(int v, int m) => (v + m - 1) / m * m;
        private static long RoundUp(long v, long m) => (v + m - 1) / m * m;
    }

    public override int ScratchBytes(OpContext ctx) => Layout.Of(Conv.Read(ctx), ctx).ScratchBytes;

    /// <summary>The weights as the GEMM reads them: one row per output channel, zero-padded to a multiple of 4.</summary>
    private static Tensor PaddedWeightRows(Tensor w, int rows, int k, int k4)
    {
        var padded = new long[rows * k4 * 4];
        for (int m = 0; m < rows; m++)
            System.Array.Copy(w.Longs!, m * k, padded, m * k4 * 4, k);
        return Tensor.FromLongs(DataType.Int8, new[] { rows, k4 * 4 }, padded);
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var p = Conv.Read(ctx);
        var g = p.G;
        var l = Layout.Of(p, ctx);
        var r = ReadRequant(ctx);
        var w = ctx.W;
        bool dynamic = IsDynamic(ctx);
        string x = ctx.In(0), y = ctx.Out(0), scratch = ctx.Scratch();
        // The GEMM reads weight rows of k4 * 4 bytes; when K is a multiple of 4 the ONNX layout already is that.
        var weights = ctx.InputConstant(1);
        string wt = l.K % 4 == 0 || weights == null ? ctx.In(1) : ctx.Embed("weight_rows", PaddedWeightRows(weights, p.M, l.K, l.K4));
        string xZero = r.XZero.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (dynamic)
        {
            DynamicEpilogue.EmitPreamble(ctx);
            xZero = "zx";
        }
        int inputPlane = g.C * g.H * g.W, paddedPlane = l.PaddedHeight * l.PaddedWidth;
        w.Line($"// im2col + GEMM: the input is copied into a buffer with its padding ({l.PaddedHeight}x{l.PaddedWidth}, filled with the zero point {xZero}),");
        w.Line($"// each output pixel's {p.Cg}x{g.KH}x{g.KW} window is packed four elements to a 32-bit lane ({l.K4} quads), and one");
        w.Line($"// uint8 x int8 -> int32 GEMM per group ({p.Mg} channels x {l.Plane} pixels, padded to {l.Pixels}) feeds the requantization.");
        w.Line($"var padded = {scratch}.Slice(0, {l.PaddedBytes});");
        w.Line($"var packed = {scratch}.Slice({l.PaddedBytes}, {l.PackedBytes});");
        w.Line($"var acc = MemoryMarshal.Cast<byte, int>({scratch}.Slice({l.PaddedBytes + l.PackedBytes}, {l.AccBytes}));");
        using (w.Block($"for (int n = 0; n < {g.N}; n++)"))
        {
            w.Line($"{ctx.Helper(KernelHelpers.PadU8)}({x}.Slice(n * {inputPlane}, {inputPlane}), padded, {g.C}, {g.H}, {g.W}, {g.PadTop}, {g.PadLeft}, {l.PaddedHeight}, {l.PaddedWidth}, (byte){xZero});");
            using (w.Block($"for (int group = 0; group < {p.Group}; group++)"))
            {
                w.Line($"int channels = group * {p.Cg * paddedPlane};");
                using (w.Block($"for (int q = 0; q < {l.K4}; q++)"))
                {
                    w.Line($"{ctx.Helper(KernelHelpers.PackQuadU8)}(padded, packed.Slice(q * {l.QuadStride * 4}, {l.QuadStride * 4}),");
                    w.Line($"    channels + WindowOffset(4 * q), channels + WindowOffset(4 * q + 1), channels + WindowOffset(4 * q + 2), channels + WindowOffset(4 * q + 3),");
                    w.Line($"    {g.OH}, {g.OW}, {g.SY * l.PaddedWidth}, {g.SX});");
                }
                w.Line($"{ctx.Helper(KernelHelpers.GemmU8S8)}(packed, {wt}.Slice(group * {p.Mg * l.K4 * 4}, {p.Mg * l.K4 * 4}), acc, {p.Mg}, {l.K4}, {l.Pixels}, {l.QuadStride});");
                using (w.Block($"for (int j = 0; j < {p.Mg}; j++)"))
                {
                    w.Line($"int oc = group * {p.Mg} + j;");
                    if (dynamic)
                    {
                        using (w.Block($"for (int i = 0; i < {l.Plane}; i++)"))
                            DynamicEpilogue.EmitStore(ctx, $"{y}[(n * {p.M} + oc) * {l.Plane} + i]", $"acc[j * {l.Pixels} + i]", "oc");
                    }
                    else
                    {
                        w.Line($"{ctx.Helper(KernelHelpers.RequantizeRowU8)}(acc.Slice(j * {l.Pixels}, {l.Plane}), {y}.Slice((n * {p.M} + oc) * {l.Plane}, {l.Plane}),");
                        w.Line($"    {ctx.In(2)}[oc], {ctx.In(3)}[oc], {ctx.In(4)}[oc], {r.YZero}, {r.Min}, {r.Max});");
                    }
                }
            }
        }
        w.Line();
        w.Line($"// Where window element k = (channel, ky, kx) of output pixel (0, 0) sits in the padded input; elements past K ({l.K}) have zero weights.");
        w.Line($"static int WindowOffset(int k) => k < {l.K} ? k / {g.KH * g.KW} * {paddedPlane} + k / {g.KW} % {g.KH} * {g.DY * l.PaddedWidth} + k % {g.KW} * {g.DX} : 0;");
    }
}
