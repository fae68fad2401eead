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

    /// <summary>A 2x2 stride-2 MaxPool moved into this node by the FuseConvMaxPool lowering pass: the output is pooled.</summary>
    internal static bool PoolsOutput(OpContext ctx) => ctx.Int(Passes.FuseConvMaxPool.Attribute, 0) != 0;

    /// <summary>A QAdd moved into this node by the FuseConvAdd lowering pass: input 5 is the residual it adds.</summary>
    internal static bool AddsResidual(OpContext ctx) => ctx.HasAttribute(Passes.FuseConvAdd.ConvIsA);

    /// <summary>The output shape: the convolution's, halved in height and width (floor) when it pools.</summary>
    internal static int[] OutputShape(Conv.Params p, bool pooled) =>
        pooled ? new[] { p.G.N, p.M, p.G.OH / 2, p.G.OW / 2 } : p.G.OutputShape(p.M);

    internal static Requant ReadRequant(OpContext ctx) =>
        new((int)ctx.Int("x_zero_point", 0), (int)ctx.Int("y_zero_point", 0), (int)ctx.Int("y_min", 0), (int)ctx.Int("y_max", 255));

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.UInt8);
        ctx.RequireType(1, DataType.Int8);
        var p = Conv.Read(ctx);
        if (PoolsOutput(ctx) && (IsDynamic(ctx) || p.G.SpatialRank != 2 || p.G.OH < 2 || p.G.OW < 2))
            throw ctx.Invalid("max_pool_2x2 needs a static 2-D convolution with an output of at least 2x2");
        if (AddsResidual(ctx) && (IsDynamic(ctx) || PoolsOutput(ctx) || !ctx.HasInput(5) || !ctx.InputShapeOrFail(5).SameAs(p.G.OutputShape(p.M))))
            throw ctx.Invalid("a QConv that adds a residual needs a static convolution and a uint8 residual of its output's shape");
        if (AddsResidual(ctx)) ctx.RequireType(5, DataType.UInt8);
        ctx.SetOutput(0, IsDynamic(ctx) ? DataType.Float : DataType.UInt8, OutputShape(p, PoolsOutput(ctx)));
    }

    public override string Describe(OpContext ctx)
    {
        var p = Conv.Read(ctx);
        var r = ReadRequant(ctx);
        string kernel = $"{p.G.Describe()}{(p.Group == 1 ? "" : " group " + p.Group)}, uint8 x int8";
        return IsDynamic(ctx) ? kernel + ", float output"
            : $"{kernel}, zero points {r.XZero} -> {r.YZero}, clamp [{r.Min}, {r.Max}]{(PoolsOutput(ctx) ? ", then MaxPool 2x2 s2" : "")}{(AddsResidual(ctx) ? ", then QAdd of the residual" : "")}";
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
        if (AddsResidual(ctx))
        {
            // The definition: the convolution's uint8 output, then the integer add with the residual.
            var add = QAdd.Read(ctx, Passes.FuseConvAdd.Prefix);
            bool convIsA = ctx.Int(Passes.FuseConvAdd.ConvIsA, 1) != 0;
            var residual = ctx.Input(5).Longs!;
            for (int i = 0; i < y.Length; i++)
                y[i] = convIsA ? add.Apply((int)y[i], (int)residual[i]) : add.Apply((int)residual[i], (int)y[i]);
        }
        if (PoolsOutput(ctx))
        {
            // The definition: the convolution's uint8 output, then 2x2 stride-2 max pooling (the kernel pools before
            // requantizing, which FuseConvMaxPool proved equal).
            ctx.SetOutput(0, Tensor.FromLongs(DataType.UInt8, OutputShape(p, true), MaxPool2x2(y, g.N * p.M, g.OH, g.OW)));
            return;
        }
        ctx.SetOutput(0, dynamic ? Tensor.FromFloats(g.OutputShape(p.M), yf) : Tensor.FromLongs(DataType.UInt8, g.OutputShape(p.M), y));
    }

    private static long[] MaxPool2x2(long[] x, int planes, int h, int w)
    {
        int oh = h / 2, ow = w / 2;
        var y = new long[planes * oh * ow];
        for (int c = 0; c < planes; c++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    int at = (c * h + 2 * oy) * w + 2 * ox;
                    y[(c * oh + oy) * ow + ox] = Math.Max(Math.Max(x[at], x[at + 1]), Math.Max(x[at + w], x[at + w + 1]));
                }
        return y;
    }

    public override int ScratchBytes(OpContext ctx) => QConvKernel.Plan(ctx).ScratchBytes;

    public override void EmitKernel(KernelContext ctx) => QConvKernel.Emit(ctx);
}
