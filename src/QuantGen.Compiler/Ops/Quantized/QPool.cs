using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Quantization;

namespace QuantGen.Compiler.Ops.Quantized;

/// <summary>
/// INT8 GlobalAveragePool: y[n, c] = requantize(Σ q - plane * z_x) with the fixed-point multiplier s_x / (plane * s_y),
/// plus z_y, clamped to [y_min, y_max]. Attributes: x_zero_point, y_zero_point, multiplier, shift, y_min, y_max.
/// </summary>
public sealed class QGlobalAveragePool : Operator
{
    public override string OpType => "QGlobalAveragePool";

    private readonly record struct Parameters(int XZero, int YZero, int Multiplier, int Shift, int Min, int Max);

    private static Parameters Read(OpContext ctx) => new(
        (int)ctx.Int("x_zero_point", 0), (int)ctx.Int("y_zero_point", 0), (int)ctx.Int("multiplier"), (int)ctx.Int("shift"),
        (int)ctx.Int("y_min", 0), (int)ctx.Int("y_max", 255));

    /// <summary>Largest plane whose uint8 sum is sure to fit an int32.</summary>
    public const int MaxPlane = int.MaxValue / 255;

    private static (int Channels, int Plane) Dims(OpContext ctx)
    {
        var x = ctx.InputShapeOrFail(0);
        if (x.Length < 3) throw ctx.ShapeError($"the input must be N x C x spatial, got {Shapes.Format(x)}");
        int nc = x[0] * x[1];
        int plane = nc == 0 ? 0 : Shapes.ElementCount(x) / nc;
        if (plane > MaxPlane) throw ctx.Unsupported($"a plane of {plane} elements (the int32 sum could overflow)");
        return (nc, plane);
    }

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.UInt8);
        Dims(ctx);
        var y = (int[])ctx.InputShape(0).Clone();
        for (int i = 2; i < y.Length; i++) y[i] = 1;
        ctx.SetOutput(0, DataType.UInt8, y);
    }

    public override string Describe(OpContext ctx)
    {
        var p = Read(ctx);
        return $"uint8, zero points {p.XZero} -> {p.YZero}, clamp [{p.Min}, {p.Max}]";
    }

    public override void Evaluate(EvalContext ctx)
    {
        var p = Read(ctx);
        var (nc, plane) = Dims(ctx);
        var t = ctx.Input(0);
        var x = t.Longs!;
        var y = new long[nc];
        for (int c = 0; c < nc; c++)
        {
            int sum = 0;
            for (int i = 0; i < plane; i++) sum += (int)x[c * plane + i];
            y[c] = QuantMath.RequantizeToU8(sum - plane * p.XZero, p.Multiplier, p.Shift, p.YZero, p.Min, p.Max);
        }
        var shape = (int[])t.Shape.Clone();
        for (int i = 2; i < shape.Length; i++) shape[i] = 1;
        ctx.SetOutput(0, Tensor.FromLongs(DataType.UInt8, shape, y));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var p = Read(ctx);
        var (nc, plane) = Dims(ctx);
        var w = ctx.W;
        string x = ctx.In(0), y = ctx.Out(0);
        w.Line($"// int32 sum of each {plane}-element plane, minus {plane} zero points, requantized to the output's scale.");
        using (w.Block($"for (int c = 0; c < {nc}; c++)"))
        {
            w.Line($"var xp = {x}.Slice(c * {plane}, {plane});");
            w.Line("int acc = 0;");
            w.Line($"for (int i = 0; i < {plane}; i++) acc += xp[i];");
            w.Line($"{y}[c] = {ctx.Helper(KernelHelpers.RequantizeToU8)}(acc - {plane * p.XZero}, {p.Multiplier}, {p.Shift}, {p.YZero}, {p.Min}, {p.Max});");
        }
    }
}

/// <summary>
/// INT8 AveragePool: for each window, acc = Σ (q - z_x) over the positions inside the input (padding is real 0, i.e.
/// contributes nothing); the divisor d is the number of those positions, or the padded window's size with
/// count_include_pad. y = requantize(acc) with the fixed-point multiplier s_x / (d * s_y) (a table indexed by d), plus z_y,
/// clamped to [y_min, y_max]. Attributes: AveragePool's own, plus x_zero_point, y_zero_point, y_min, y_max, and
/// multipliers, shifts (Ints, entry d for divisor d, d = 0 .. kernel size).
/// </summary>
public sealed class QAveragePool : Operator
{
    public override string OpType => "QAveragePool";

    private sealed class Parameters
    {
        public WindowGeometry G = null!;
        public bool IncludePad;
        public int XZero, YZero, Min, Max;
        public long[] Multipliers = null!, Shifts = null!;
    }

    /// <summary>The window geometry of an AveragePool node (shared with the quantization pass).</summary>
    internal static WindowGeometry Geometry(OpContext ctx) =>
        WindowGeometry.Read(ctx, ctx.InputShapeOrFail(0), null, allowCeil: true, allowDilations: ctx.Opset >= 19);

    /// <summary>The multiplier and shift tables of s_x / (d * s_y), d = 0 .. kernel size (entry 0 unused: zero).</summary>
    public static (long[] Multipliers, long[] Shifts) Tables(int kernelSize, float xScale, float yScale)
    {
        var m = new long[kernelSize + 1];
        var s = new long[kernelSize + 1];
        m[0] = 0;
        s[0] = 1;
        for (int d = 1; d <= kernelSize; d++)
            (m[d], s[d]) = QAdd.FixedPointOrZero((double)xScale / ((double)d * yScale));
        return (m, s);
    }

    private static Parameters Read(OpContext ctx)
    {
        var g = Geometry(ctx);
        var p = new Parameters
        {
            G = g,
            IncludePad = ctx.Int("count_include_pad", 0) != 0,
            XZero = (int)ctx.Int("x_zero_point", 0),
            YZero = (int)ctx.Int("y_zero_point", 0),
            Min = (int)ctx.Int("y_min", 0),
            Max = (int)ctx.Int("y_max", 255),
            Multipliers = ctx.Ints("multipliers") ?? throw ctx.Invalid("the 'multipliers' attribute is required"),
            Shifts = ctx.Ints("shifts") ?? throw ctx.Invalid("the 'shifts' attribute is required"),
        };
        int k = g.KH * g.KW;
        if (p.Multipliers.Length != k + 1 || p.Shifts.Length != k + 1)
            throw ctx.Invalid($"multipliers and shifts need {k + 1} entries (divisors 0 to {k})");
        return p;
    }

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.UInt8);
        var p = Read(ctx);
        if ((long)p.G.KH * p.G.KW * 255 > int.MaxValue)
            throw ctx.Unsupported("a window so large its int32 sum could overflow");
        ctx.SetOutput(0, DataType.UInt8, p.G.OutputShape(p.G.C));
    }

    public override string Describe(OpContext ctx)
    {
        var p = Read(ctx);
        return $"{p.G.Describe()}{(p.IncludePad ? " count_include_pad" : "")}, uint8, zero points {p.XZero} -> {p.YZero}, clamp [{p.Min}, {p.Max}]";
    }

    public override void Evaluate(EvalContext ctx)
    {
        var p = Read(ctx);
        var g = p.G;
        var x = ctx.Input(0).Longs!;
        var y = new long[g.N * g.C * g.OH * g.OW];
        int o = 0;
        for (int nc = 0; nc < g.N * g.C; nc++)
            for (int oy = 0; oy < g.OH; oy++)
                for (int ox = 0; ox < g.OW; ox++)
                {
                    int acc = 0, count = 0, padded = 0;
                    for (int ky = 0; ky < g.KH; ky++)
                    {
                        int iy = oy * g.SY - g.PadTop + ky * g.DY;
                        for (int kx = 0; kx < g.KW; kx++)
                        {
                            int ix = ox * g.SX - g.PadLeft + kx * g.DX;
                            // As the float AveragePool: explicit padding counts for count_include_pad, ceil_mode's overhang never.
                            if (iy >= -g.PadTop && iy < g.H + g.PadBottom && ix >= -g.PadLeft && ix < g.W + g.PadRight) padded++;
                            if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) continue;
                            acc += (int)x[(nc * g.H + iy) * g.W + ix] - p.XZero;
                            count++;
                        }
                    }
                    int d = p.IncludePad ? padded : count;
                    y[o++] = QuantMath.RequantizeToU8(acc, (int)p.Multipliers[d], (int)p.Shifts[d], p.YZero, p.Min, p.Max);
                }
        ctx.SetOutput(0, Tensor.FromLongs(DataType.UInt8, g.OutputShape(g.C), y));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var p = Read(ctx);
        var g = p.G;
        var w = ctx.W;
        string x = ctx.In(0), y = ctx.Out(0);
        string requant = ctx.Helper(KernelHelpers.RequantizeToU8);
        int k = g.KH * g.KW;
        bool boundsChecks = g.HasPadding || (g.OH - 1) * g.SY + (g.KH - 1) * g.DY >= g.H || (g.OW - 1) * g.SX + (g.KW - 1) * g.DX >= g.W;
        if (boundsChecks)
        {
            w.Line($"// Fixed-point s_x / (d * s_y) for each divisor d = 0..{k}.");
            w.Line($"ReadOnlySpan<int> mt = new int[] {{ {string.Join(", ", p.Multipliers.Select(CSharp.Int))} }};");
            w.Line($"ReadOnlySpan<int> st = new int[] {{ {string.Join(", ", p.Shifts.Select(CSharp.Int))} }};");
        }
        w.Line($"// Σ (q - {p.XZero}) over each window's positions inside the input, requantized by the window's divisor.");
        using (w.Block($"for (int nc = 0; nc < {g.N * g.C}; nc++)"))
        {
            w.Line($"var xp = {x}.Slice(nc * {g.H * g.W}, {g.H * g.W});");
            w.Line($"var yp = {y}.Slice(nc * {g.OH * g.OW}, {g.OH * g.OW});");
            using (w.Block($"for (int oy = 0; oy < {g.OH}; oy++)"))
            using (w.Block($"for (int ox = 0; ox < {g.OW}; ox++)"))
            {
                w.Line("int acc = 0;");
                if (boundsChecks) w.Line("int count = 0;");
                using (w.Block($"for (int ky = 0; ky < {g.KH}; ky++)"))
                {
                    w.Line($"int iy = oy * {g.SY} + ky * {g.DY}{(g.PadTop != 0 ? " - " + g.PadTop : "")};");
                    if (boundsChecks) w.Line($"if ((uint)iy >= {g.H}u) continue;");
                    using (w.Block($"for (int kx = 0; kx < {g.KW}; kx++)"))
                    {
                        w.Line($"int ix = ox * {g.SX} + kx * {g.DX}{(g.PadLeft != 0 ? " - " + g.PadLeft : "")};");
                        if (boundsChecks) w.Line($"if ((uint)ix >= {g.W}u) continue;");
                        w.Line(boundsChecks ? $"acc += xp[iy * {g.W} + ix]; count++;" : $"acc += xp[iy * {g.W} + ix];");
                    }
                }
                if (!boundsChecks)
                    w.Line($"yp[oy * {g.OW} + ox] = {requant}(acc - {k * p.XZero}, {p.Multipliers[k]}, {p.Shifts[k]}, {p.YZero}, {p.Min}, {p.Max});");
                else
                    EmitClippedStore(ctx, p, requant);
            }
        }
    }

    /// <summary>The store of a window that may be clipped: subtract the zero points it read, divide by its own count.</summary>
    private static void EmitClippedStore(KernelContext ctx, Parameters p, string requant)
    {
        var g = p.G;
        var w = ctx.W;
        w.Line($"acc -= count * {p.XZero};");
        string d = "count";
        if (p.IncludePad)
        {
            // The window clipped to the padded input (not to ceil_mode's overhang), as the float kernel counts it.
            w.Line($"int wy0 = Math.Max(oy * {g.SY} - {g.PadTop}, -{g.PadTop}), wy1 = Math.Min(oy * {g.SY} - {g.PadTop} + {(g.KH - 1) * g.DY + 1}, {g.H + g.PadBottom});");
            w.Line($"int wx0 = Math.Max(ox * {g.SX} - {g.PadLeft}, -{g.PadLeft}), wx1 = Math.Min(ox * {g.SX} - {g.PadLeft} + {(g.KW - 1) * g.DX + 1}, {g.W + g.PadRight});");
            w.Line($"int padded = ((wy1 - wy0 + {g.DY - 1}) / {g.DY}) * ((wx1 - wx0 + {g.DX - 1}) / {g.DX});");
            d = "padded";
        }
        w.Line($"yp[oy * {g.OW} + ox] = {requant}(acc, mt[{d}], st[{d}], {p.YZero}, {p.Min}, {p.Max});");
    }
}
