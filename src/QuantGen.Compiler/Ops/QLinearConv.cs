using System;
using System.Globalization;
using System.Linq;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// What the ONNX integer operators (ConvInteger, QLinearConv, MatMulInteger, QLinearMatMul) share: zero points read
/// at build time, and QLinear's requantization as ONNX Runtime computes it: the int32 accumulator times the float
/// multiplier (a_scale * b_scale / y_scale, in float), clamped to [min - z, max - z], rounded half to even, plus z.
/// </summary>
internal static class IntegerOps
{
    /// <summary>The range of a uint8 or int8 tensor.</summary>
    public static (int Min, int Max) Range(OpContext ctx, DataType type) => type switch
    {
        DataType.UInt8 => (0, 255),
        DataType.Int8 => (-128, 127),
        _ => throw ctx.Unsupported($"{type} quantized values (uint8 and int8 are supported)"),
    };

    /// <summary>
    /// Zero points of input <paramref name="index"/> for a tensor of <paramref name="type"/>: absent (0), a scalar, or one
    /// per index of a dimension of <paramref name="count"/> (expanded to <paramref name="count"/> values in all cases).
    /// </summary>
    public static int[] ZeroPoints(OpContext ctx, int index, DataType type, int count, string what)
    {
        if (!ctx.HasInput(index)) return new int[count];
        var z = ctx.RequireConstant(index, what);
        if (z.Type != type)
            throw ctx.Invalid($"the {what} is {z.Type} but its tensor is {type}");
        if (z.Length == 1) return Enumerable.Repeat((int)z.Longs![0], count).ToArray();
        if (z.Length != count)
            throw ctx.ShapeError($"the {what} has {z.Length} values, expected 1 or {count}");
        return z.Longs!.Select(v => (int)v).ToArray();
    }

    /// <summary>Scales of input <paramref name="index"/>: a scalar or <paramref name="count"/> values, expanded to <paramref name="count"/>.</summary>
    public static float[] Scales(OpContext ctx, int index, int count, string what)
    {
        var s = ctx.RequireConstant(index, what);
        if (s.Type != DataType.Float)
            throw ctx.Unsupported($"a {s.Type} {what} (float32 is supported)");
        if (s.Length == 1) return Enumerable.Repeat(s.Floats![0], count).ToArray();
        if (s.Length != count)
            throw ctx.ShapeError($"the {what} has {s.Length} values, expected 1 or {count}");
        return s.Floats!;
    }

    /// <summary>The per-channel multipliers a_scale * b_scale[c] / y_scale, in float as ONNX Runtime computes them.</summary>
    public static float[] Multipliers(float aScale, float[] bScales, float yScale) =>
        bScales.Select(b => aScale * b / yScale).ToArray();

    /// <summary>QLinear requantization of one accumulator (see the class summary).</summary>
    public static int Requantize(int acc, float multiplier, int zeroPoint, int min, int max)
    {
        float v = (float)acc * multiplier;
        float lo = min - zeroPoint, hi = max - zeroPoint;
        if (!(v >= lo)) v = lo;
        if (v > hi) v = hi;
        return (int)Math.Round((double)v, MidpointRounding.ToEven) + zeroPoint;
    }

    /// <summary>The C# statement storing the requantized <paramref name="acc"/> into <paramref name="target"/>.</summary>
    public static string EmitRequantize(string target, string acc, string multiplier, int zeroPoint, int min, int max, DataType type) =>
        $"{{ float v = MathF.Min(MathF.Max((float){acc} * {multiplier}, {CSharp.Float(min - zeroPoint)}), {CSharp.Float(max - zeroPoint)}); " +
        $"{target} = ({type.CSharpName()})((int)MathF.Round(v) + {zeroPoint}); }}";

    /// <summary>A float literal array as a span local (data in the assembly, no allocation).</summary>
    public static string FloatTable(string name, float[] values) =>
        $"ReadOnlySpan<float> {name} = new float[] {{ {string.Join(", ", values.Select(CSharp.Float))} }};";

    public static string IntTable(string name, int[] values) =>
        $"ReadOnlySpan<int> {name} = new int[] {{ {string.Join(", ", values.Select(v => CSharp.Int(v)))} }};";

    public static string Int(int v) => v.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// The convolution of ConvInteger and QLinearConv: int32 sums of (x - x_zero_point) * (w - w_zero_point[m]) over
/// Conv's window (padding contributes 0: it is the zero point), plus an optional int32 bias.
/// </summary>
internal sealed class IntegerConvolution
{
    public Conv.Params P = null!;
    public int X, W, Bias;          // input indices
    public DataType XType, WType;
    public int XZero;
    public int[] WZero = null!;

    public static IntegerConvolution Read(OpContext ctx, int x, int xZero, int w, int wZero, int bias)
    {
        var xs = ctx.InputShapeOrFail(x);
        var ws = ctx.InputShapeOrFail(w);
        if (ws.Length != xs.Length || ws.Length < 3)
            throw ctx.ShapeError($"the weights {Shapes.Format(ws)} and the input {Shapes.Format(xs)} must have one rank of 3 or 4");
        var g = WindowGeometry.Read(ctx, xs, ws.Skip(2).ToArray(), allowCeil: false);
        long group = ctx.Int("group", 1);
        int m = ws[0];
        if (group < 1 || g.C % group != 0 || m % group != 0)
            throw ctx.Invalid($"group {group} does not divide the {g.C} input and {m} output channels");
        if (ws[1] * group != g.C)
            throw ctx.ShapeError($"the weights expect {ws[1]} channels per group ({ws[1] * group} in all), the input has {g.C}");
        if (bias >= 0 && ctx.HasInput(bias) && (ctx.InputShape(bias).Length != 1 || ctx.InputShape(bias)[0] != m))
            throw ctx.ShapeError($"the bias must have shape [{m}], got {Shapes.Format(ctx.InputShape(bias))}");
        var c = new IntegerConvolution
        {
            P = new Conv.Params { G = g, M = m, Group = (int)group, Cg = g.C / (int)group, Mg = m / (int)group },
            X = x, W = w, Bias = bias >= 0 && ctx.HasInput(bias) ? bias : -1,
            XType = ctx.InputType(x), WType = ctx.InputType(w),
        };
        IntegerOps.Range(ctx, c.XType);
        IntegerOps.Range(ctx, c.WType);
        c.XZero = IntegerOps.ZeroPoints(ctx, xZero, c.XType, 1, "x zero point")[0];
        c.WZero = IntegerOps.ZeroPoints(ctx, wZero, c.WType, m, "w zero point");
        if (c.Bias >= 0 && ctx.InputType(c.Bias) != DataType.Int32)
            throw ctx.Unsupported($"a {ctx.InputType(c.Bias)} bias (int32 is supported)");
        return c;
    }

    public string Describe() => $"{P.G.Describe()}{(P.Group == 1 ? "" : " group " + P.Group)}, {XType} x {WType}";

    /// <summary>The int32 accumulators, output layout N x M x OH x OW.</summary>
    public int[] Accumulate(EvalContext ctx)
    {
        var g = P.G;
        var x = ctx.Input(X).Longs!;
        var w = ctx.Input(W).Longs!;
        var bias = Bias >= 0 ? ctx.Input(Bias).Longs! : null;
        var acc = new int[g.N * P.M * g.OH * g.OW];
        int o = 0;
        for (int n = 0; n < g.N; n++)
            for (int oc = 0; oc < P.M; oc++)
            {
                int c0 = oc / P.Mg * P.Cg;
                for (int oy = 0; oy < g.OH; oy++)
                    for (int ox = 0; ox < g.OW; ox++)
                    {
                        int sum = bias == null ? 0 : (int)bias[oc];
                        for (int ic = 0; ic < P.Cg; ic++)
                            for (int ky = 0; ky < g.KH; ky++)
                                for (int kx = 0; kx < g.KW; kx++)
                                {
                                    int iy = oy * g.SY - g.PadTop + ky * g.DY, ix = ox * g.SX - g.PadLeft + kx * g.DX;
                                    if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) continue;
                                    sum += ((int)x[((n * g.C + c0 + ic) * g.H + iy) * g.W + ix] - XZero) * ((int)w[((oc * P.Cg + ic) * g.KH + ky) * g.KW + kx] - WZero[oc]);
                                }
                        acc[o++] = sum;
                    }
            }
        return acc;
    }

    /// <summary>Writes the loops; <paramref name="store"/> writes the statement storing <c>acc</c> (channel <c>oc</c>) into <c>yo[p]</c>.</summary>
    public void Emit(KernelContext ctx, Action<SourceWriter> store)
    {
        var g = P.G;
        var w = ctx.W;
        string x = ctx.In(X), wt = ctx.In(W), y = ctx.Out(0);
        int plane = g.OH * g.OW;
        bool perChannelZero = WZero.Distinct().Count() > 1;
        if (perChannelZero) w.Line(IntegerOps.IntTable("wzero", WZero));
        w.Line($"// int32 sums of (x - {XZero}) * (w - w zero point) over {P.Cg} channels x {g.KH}x{g.KW}; padding adds nothing.");
        using (w.Block($"for (int n = 0; n < {g.N}; n++)"))
        using (w.Block($"for (int oc = 0; oc < {P.M}; oc++)"))
        {
            w.Line(P.Group == 1 ? $"int xc = n * {g.C * g.H * g.W};" : $"int xc = (n * {g.C} + oc / {P.Mg} * {P.Cg}) * {g.H * g.W};");
            w.Line($"var wo = {wt}.Slice(oc * {P.Cg * g.KH * g.KW}, {P.Cg * g.KH * g.KW});");
            w.Line($"var yo = {y}.Slice((n * {P.M} + oc) * {plane}, {plane});");
            w.Line($"int wz = {(perChannelZero ? "wzero[oc]" : IntegerOps.Int(WZero[0]))};");
            w.Line($"int b = {(Bias >= 0 ? ctx.In(Bias) + "[oc]" : "0")};");
            using (w.Block($"for (int oy = 0; oy < {g.OH}; oy++)"))
            using (w.Block($"for (int ox = 0; ox < {g.OW}; ox++)"))
            {
                w.Line("int acc = b;");
                using (w.Block($"for (int ic = 0; ic < {P.Cg}; ic++)"))
                {
                    w.Line($"int xi = xc + ic * {g.H * g.W};");
                    w.Line($"int wi = ic * {g.KH * g.KW};");
                    using (w.Block($"for (int ky = 0; ky < {g.KH}; ky++)"))
                    {
                        w.Line($"int iy = oy * {g.SY} + ky * {g.DY}{(g.PadTop != 0 ? " - " + g.PadTop : "")};");
                        if (g.HasPadding) w.Line($"if ((uint)iy >= {g.H}u) continue;");
                        using (w.Block($"for (int kx = 0; kx < {g.KW}; kx++)"))
                        {
                            w.Line($"int ix = ox * {g.SX} + kx * {g.DX}{(g.PadLeft != 0 ? " - " + g.PadLeft : "")};");
                            if (g.HasPadding) w.Line($"if ((uint)ix >= {g.W}u) continue;");
                            w.Line($"acc += ({x}[xi + iy * {g.W} + ix] - {XZero}) * (wo[wi + ky * {g.KW} + kx] - wz);");
                        }
                    }
                }
                w.Line($"int p = oy * {g.OW} + ox;");
                store(w);
            }
        }
    }
}

/// <summary>ONNX ConvInteger (opset 10): int32 y = Σ (x - x_zero_point)(w - w_zero_point[m]) over Conv's window; uint8/int8 inputs.</summary>
public sealed class ConvInteger : Operator
{
    public override string OpType => "ConvInteger";

    public override bool IsRuntimeInput(int index) => index is 0 or 1;

    private static IntegerConvolution Read(OpContext ctx) => IntegerConvolution.Read(ctx, 0, 2, 1, 3, -1);

    public override void InferShapes(ShapeContext ctx)
    {
        var c = Read(ctx);
        ctx.SetOutput(0, DataType.Int32, c.P.G.OutputShape(c.P.M));
    }

    public override string Describe(OpContext ctx) => Read(ctx).Describe() + " -> int32";

    public override void Evaluate(EvalContext ctx)
    {
        var c = Read(ctx);
        ctx.SetOutput(0, Tensor.FromLongs(DataType.Int32, c.P.G.OutputShape(c.P.M), Array.ConvertAll(c.Accumulate(ctx), v => (long)v)));
    }

    public override void EmitKernel(KernelContext ctx) => Read(ctx).Emit(ctx, w => w.Line("yo[p] = acc;"));
}

/// <summary>
/// ONNX QLinearConv (opset 10): y = saturate(round((Σ (x - x_zp)(w - w_zp[m]) + B[m]) * (x_scale * w_scale[m] / y_scale)) +
/// y_zp), uint8/int8 inputs and output, per-tensor or per-output-channel weight scales. The requantization is QLinear's
/// float one (see <see cref="IntegerOps"/>), so results equal ONNX Runtime's.
/// </summary>
public sealed class QLinearConv : Operator
{
    public override string OpType => "QLinearConv";

    public override bool IsRuntimeInput(int index) => index is 0 or 3 or 8;

    private static (IntegerConvolution Conv, float[] Multipliers, int YZero, DataType YType, int Min, int Max) Read(OpContext ctx)
    {
        var c = IntegerConvolution.Read(ctx, 0, 2, 3, 5, 8);
        float xs = IntegerOps.Scales(ctx, 1, 1, "x scale")[0];
        var ws = IntegerOps.Scales(ctx, 4, c.P.M, "w scale");
        float ys = IntegerOps.Scales(ctx, 6, 1, "y scale")[0];
        var yType = ctx.HasInput(7) ? ctx.InputType(7) : DataType.UInt8;
        var (min, max) = IntegerOps.Range(ctx, yType);
        int yZero = IntegerOps.ZeroPoints(ctx, 7, yType, 1, "y zero point")[0];
        return (c, IntegerOps.Multipliers(xs, ws, ys), yZero, yType, min, max);
    }

    public override void InferShapes(ShapeContext ctx)
    {
        var r = Read(ctx);
        ctx.SetOutput(0, r.YType, r.Conv.P.G.OutputShape(r.Conv.P.M));
    }

    public override string Describe(OpContext ctx)
    {
        var r = Read(ctx);
        return $"{r.Conv.Describe()} -> {r.YType}, zero point {r.YZero}";
    }

    public override void Evaluate(EvalContext ctx)
    {
        var r = Read(ctx);
        var acc = r.Conv.Accumulate(ctx);
        int plane = r.Conv.P.G.OH * r.Conv.P.G.OW;
        var y = new long[acc.Length];
        for (int i = 0; i < y.Length; i++)
            y[i] = IntegerOps.Requantize(acc[i], r.Multipliers[i / plane % r.Conv.P.M], r.YZero, r.Min, r.Max);
        ctx.SetOutput(0, Tensor.FromLongs(r.YType, r.Conv.P.G.OutputShape(r.Conv.P.M), y));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var r = Read(ctx);
        bool perChannel = r.Multipliers.Distinct().Count() > 1;
        if (perChannel) ctx.W.Line(IntegerOps.FloatTable("multipliers", r.Multipliers));
        string m = perChannel ? "multipliers[oc]" : CSharp.Float(r.Multipliers[0]);
        r.Conv.Emit(ctx, w => w.Line(IntegerOps.EmitRequantize("yo[p]", "acc", m, r.YZero, r.Min, r.Max, r.YType)));
    }
}
