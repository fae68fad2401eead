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

    public override void EmitKernel(KernelContext ctx)
    {
        var p = Conv.Read(ctx);
        var g = p.G;
        var r = ReadRequant(ctx);
        var w = ctx.W;
        bool dynamic = IsDynamic(ctx);
        string x = ctx.In(0), wt = ctx.In(1), y = ctx.Out(0);
        string xZero = r.XZero.ToString(System.Globalization.CultureInfo.InvariantCulture);
        int plane = g.OH * g.OW;
        if (dynamic)
        {
            DynamicEpilogue.EmitPreamble(ctx);
            xZero = "zx";
        }
        int window = p.Cg * g.KH * g.KW;
        w.Line($"// For each output pixel: gather its {p.Cg}x{g.KH}x{g.KW} uint8 window once (padding reads the zero point {xZero}),");
        w.Line($"// then one exact uint8 x int8 -> int32 dot product per output channel{(p.Group == 1 ? "" : " of the group")}.");
        w.Line($"Span<byte> window = stackalloc byte[{window}];");
        using (w.Block($"for (int n = 0; n < {g.N}; n++)"))
        using (w.Block($"for (int group = 0; group < {p.Group}; group++)"))
        {
            w.Line($"int xg = (n * {g.C} + group * {p.Cg}) * {g.H * g.W};");
            using (w.Block($"for (int oy = 0; oy < {g.OH}; oy++)"))
            using (w.Block($"for (int ox = 0; ox < {g.OW}; ox++)"))
            {
                w.Line("int k = 0;");
                using (w.Block($"for (int ic = 0; ic < {p.Cg}; ic++)"))
                {
                    w.Line($"int xi = xg + ic * {g.H * g.W};");
                    using (w.Block($"for (int ky = 0; ky < {g.KH}; ky++)"))
                    {
                        w.Line($"int iy = {g.InputRow("oy", "ky")};");
                        using (w.Block($"for (int kx = 0; kx < {g.KW}; kx++)"))
                        {
                            w.Line($"int ix = {g.InputColumn("ox", "kx")};");
                            string read = $"{x}[xi + iy * {g.W} + ix]";
                            if (g.HasPadding) read = $"(uint)iy < {g.H}u && (uint)ix < {g.W}u ? {read} : (byte){xZero}";
                            w.Line($"window[k++] = {read};");
                        }
                    }
                }
                using (w.Block($"for (int oc = group * {p.Mg}; oc < (group + 1) * {p.Mg}; oc++)"))
                {
                    string dot = $"{ctx.Helper(KernelHelpers.DotU8S8)}(window, {wt}.Slice(oc * {window}, {window}))";
                    string target = $"{y}[(n * {p.M} + oc) * {plane} + oy * {g.OW} + ox]";
                    if (dynamic)
                    {
                        w.Line($"int acc = {dot};");
                        DynamicEpilogue.EmitStore(ctx, target, "acc", "oc");
                    }
                    else
                    {
                        w.Line($"int acc = {ctx.In(2)}[oc] + {dot};");
                        w.Line($"{target} = {ctx.Helper(KernelHelpers.RequantizeToU8)}(acc, {ctx.In(3)}[oc], {ctx.In(4)}[oc], {r.YZero}, {r.Min}, {r.Max});");
                    }
                }
            }
        }
    }
}
