using System;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>MaxPool and AveragePool over 1-D and 2-D windows (pads, auto_pad, ceil_mode, dilations for MaxPool).</summary>
public abstract class Pool : Operator
{
    protected abstract bool IsMax { get; }

    private WindowGeometry Read(OpContext ctx)
    {
        if (IsMax && ctx.OutputCount > 1 && ctx.Node.Outputs[1].Length > 0)
            throw ctx.Unsupported("the optional 'Indices' output");
        return WindowGeometry.Read(ctx, ctx.InputShapeOrFail(0), null, allowCeil: true, allowDilations: IsMax || ctx.Opset >= 19);
    }

    private bool CountIncludePad(OpContext ctx) => !IsMax && ctx.Int("count_include_pad", 0) != 0;

    public override void InferShapes(ShapeContext ctx)
    {
        // MaxPool also runs on quantized uint8 tensors: quantization is monotonic, so max commutes with it.
        if (IsMax) ctx.RequireType(0, DataType.Float, DataType.UInt8);
        else ctx.RequireType(0, DataType.Float);
        var g = Read(ctx);
        ctx.SetOutput(0, ctx.InputType(0), g.OutputShape(g.C));
    }

    public override string Describe(OpContext ctx) => Read(ctx).Describe() + (CountIncludePad(ctx) ? " count_include_pad" : "");

    public override void Evaluate(EvalContext ctx)
    {
        var g = Read(ctx);
        bool includePad = CountIncludePad(ctx);
        var input = ctx.Input(0);
        var x = input.AsFloats(); // exact for uint8 values too
        var y = new float[g.N * g.C * g.OH * g.OW];
        int o = 0;
        for (int nc = 0; nc < g.N * g.C; nc++)
            for (int oy = 0; oy < g.OH; oy++)
                for (int ox = 0; ox < g.OW; ox++)
                {
                    float max = float.NegativeInfinity;
                    double sum = 0;
                    int count = 0, padded = 0;
                    for (int ky = 0; ky < g.KH; ky++)
                    {
                        int iy = oy * g.SY - g.PadTop + ky * g.DY;
                        for (int kx = 0; kx < g.KW; kx++)
                        {
                            int ix = ox * g.SX - g.PadLeft + kx * g.DX;
                            // Positions in the explicit padding count for count_include_pad; those past it (ceil_mode) never do.
                            if (iy >= -g.PadTop && iy < g.H + g.PadBottom && ix >= -g.PadLeft && ix < g.W + g.PadRight) padded++;
                            if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) continue;
                            float v = x[(nc * g.H + iy) * g.W + ix];
                            if (v > max || float.IsNaN(v)) max = v;
                            sum += v;
                            count++;
                        }
                    }
                    y[o++] = IsMax ? max : (float)(sum / (includePad ? padded : count));
                }
        ctx.SetOutput(0, input.Type == DataType.UInt8
            ? Tensor.FromLongs(DataType.UInt8, g.OutputShape(g.C), Array.ConvertAll(y, v => (long)v))
            : Tensor.FromFloats(g.OutputShape(g.C), y));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var g = Read(ctx);
        bool quantized = ctx.InputType(0) == DataType.UInt8;
        bool includePad = CountIncludePad(ctx);
        var w = ctx.W;
        string x = ctx.In(0), y = ctx.Out(0);
        bool boundsChecks = g.HasPadding || (g.OH - 1) * g.SY + (g.KH - 1) * g.DY >= g.H || (g.OW - 1) * g.SX + (g.KW - 1) * g.DX >= g.W;
        if (quantized && IsMax && !boundsChecks && g.KH == 2 && g.KW == 2 && g.SY == 2 && g.SX == 2 && g.DY == 1 && g.DX == 1 && g.SpatialRank == 2)
        {
            w.Line($"{ctx.Helper(KernelHelpers.MaxPool2x2U8)}({x}, {y}, {g.N * g.C}, {g.H}, {g.W}, {g.OH}, {g.OW});");
            return;
        }
        using (w.Block($"for (int nc = 0; nc < {g.N * g.C}; nc++)"))
        {
            w.Line($"var xp = {x}.Slice(nc * {g.H * g.W}, {g.H * g.W});");
            w.Line($"var yp = {y}.Slice(nc * {g.OH * g.OW}, {g.OH * g.OW});");
            using (w.Block($"for (int oy = 0; oy < {g.OH}; oy++)"))
            using (w.Block($"for (int ox = 0; ox < {g.OW}; ox++)"))
            {
                w.Line(quantized ? "byte acc = 0;" : IsMax ? "float acc = float.NegativeInfinity;" : "float acc = 0f;");
                if (!IsMax && boundsChecks) w.Line("int count = 0;");
                using (w.Block($"for (int ky = 0; ky < {g.KH}; ky++)"))
                {
                    w.Line($"int iy = {g.InputRow("oy", "ky")};");
                    if (boundsChecks) w.Line($"if ((uint)iy >= {g.H}u) continue;");
                    using (w.Block($"for (int kx = 0; kx < {g.KW}; kx++)"))
                    {
                        w.Line($"int ix = {g.InputColumn("ox", "kx")};");
                        if (boundsChecks) w.Line($"if ((uint)ix >= {g.W}u) continue;");
                        w.Line($"{(quantized ? "byte" : "float")} v = xp[iy * {g.W} + ix];");
                        if (IsMax) w.Line(quantized ? "if (v > acc) acc = v;" : "if (v > acc || float.IsNaN(v)) acc = v;");
                        else w.Line(boundsChecks ? "acc += v; count++;" : "acc += v;");
                    }
                }
                string result;
                if (IsMax) result = "acc";
                else if (!boundsChecks) result = $"acc / {g.KH * g.KW}f";
                else if (!includePad) result = "acc / count";
                else
                {
                    // count_include_pad: the window clipped to the padded input (not to ceil_mode's overhang).
                    // wy0/wx0, not y0/x0: those are the kernel's span parameters.
                    w.Line($"int wy0 = Math.Max(oy * {g.SY} - {g.PadTop}, -{g.PadTop}), wy1 = Math.Min(oy * {g.SY} - {g.PadTop} + {(g.KH - 1) * g.DY + 1}, {g.H + g.PadBottom});");
                    w.Line($"int wx0 = Math.Max(ox * {g.SX} - {g.PadLeft}, -{g.PadLeft}), wx1 = Math.Min(ox * {g.SX} - {g.PadLeft} + {(g.KW - 1) * g.DX + 1}, {g.W + g.PadRight});");
                    w.Line($"int padded = ((wy1 - wy0 + {g.DY - 1}) / {g.DY}) * ((wx1 - wx0 + {g.DX - 1}) / {g.DX});");
                    result = "acc / padded";
                }
                w.Line($"yp[oy * {g.OW} + ox] = {result};");
            }
        }
    }
}

public sealed class MaxPool : Pool
{
    public override string OpType => "MaxPool";
    protected override bool IsMax => true;
}

public sealed class AveragePool : Pool
{
    public override string OpType => "AveragePool";
    protected override bool IsMax => false;
}

/// <summary>GlobalAveragePool and GlobalMaxPool: one value per channel over all spatial positions.</summary>
public abstract class GlobalPool : Operator
{
    protected abstract bool IsMax { get; }

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.Float);
        var x = ctx.InputShapeOrFail(0);
        if (x.Length < 3) throw ctx.ShapeError($"the input must be N x C x spatial, got {Shapes.Format(x)}");
        var y = (int[])x.Clone();
        for (int i = 2; i < y.Length; i++) y[i] = 1;
        ctx.SetOutput(0, DataType.Float, y);
    }

    public override void Evaluate(EvalContext ctx)
    {
        var t = ctx.Input(0);
        var x = t.AsFloats();
        int nc = t.Shape[0] * t.Shape[1], plane = t.Length / Math.Max(1, nc);
        var y = new float[nc];
        for (int i = 0; i < nc; i++)
        {
            double sum = 0;
            float max = float.NegativeInfinity;
            for (int j = 0; j < plane; j++)
            {
                float v = x[i * plane + j];
                sum += v;
                if (v > max || float.IsNaN(v)) max = v;
            }
            y[i] = IsMax ? max : (float)(sum / plane);
        }
        var shape = (int[])t.Shape.Clone();
        for (int i = 2; i < shape.Length; i++) shape[i] = 1;
        ctx.SetOutput(0, Tensor.FromFloats(shape, y));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var x = ctx.InputShape(0);
        int nc = x[0] * x[1], plane = Shapes.ElementCount(x) / Math.Max(1, nc);
        var w = ctx.W;
        using (w.Block($"for (int c = 0; c < {nc}; c++)"))
        {
            w.Line($"var xp = {ctx.In(0)}.Slice(c * {plane}, {plane});");
            w.Line(IsMax ? "float acc = float.NegativeInfinity;" : "float acc = 0f;");
            using (w.Block($"for (int i = 0; i < {plane}; i++)"))
                w.Line(IsMax ? "if (xp[i] > acc || float.IsNaN(xp[i])) acc = xp[i];" : "acc += xp[i];");
            w.Line($"{ctx.Out(0)}[c] = {(IsMax ? "acc" : $"acc / {plane}f")};");
        }
    }
}

public sealed class GlobalAveragePool : GlobalPool
{
    public override string OpType => "GlobalAveragePool";
    protected override bool IsMax => false;
}

public sealed class GlobalMaxPool : GlobalPool
{
    public override string OpType => "GlobalMaxPool";
    protected override bool IsMax => true;
}
