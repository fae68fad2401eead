using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>Conv, 1-D and 2-D: groups (depthwise included), strides, pads, auto_pad, dilations, optional bias.</summary>
public sealed class Conv : Operator
{
    public override string OpType => "Conv";
    public override bool CanFuseActivation => true;

    internal sealed class Params
    {
        public WindowGeometry G = null!;
        public int M, Group, Cg, Mg;
    }

    internal static Params Read(OpContext ctx)
    {
        var x = ctx.InputShapeOrFail(0);
        var w = ctx.InputShapeOrFail(1);
        if (w.Length != x.Length || w.Length < 3)
            throw ctx.ShapeError($"the weights {Shapes.Format(w)} and the input {Shapes.Format(x)} must both be N x C x spatial (rank 3 or 4)");
        var kernel = new int[w.Length - 2];
        System.Array.Copy(w, 2, kernel, 0, kernel.Length);
        var g = WindowGeometry.Read(ctx, x, kernel, allowCeil: false);
        long group = ctx.Int("group", 1);
        int m = w[0];
        if (group < 1 || g.C % group != 0 || m % group != 0)
            throw ctx.Invalid($"group {group} does not divide the {g.C} input and {m} output channels");
        if (w[1] * group != g.C)
            throw ctx.ShapeError($"the weights expect {w[1]} channels per group ({w[1] * group} in all), the input has {g.C}");
        if (ctx.HasInput(2) && (ctx.InputShape(2).Length != 1 || ctx.InputShape(2)[0] != m))
            throw ctx.ShapeError($"the bias must have shape [{m}], got {Shapes.Format(ctx.InputShape(2))}");
        return new Params { G = g, M = m, Group = (int)group, Cg = g.C / (int)group, Mg = m / (int)group };
    }

    public override void InferShapes(ShapeContext ctx)
    {
        for (int i = 0; i < 3; i++) ctx.RequireType(i, DataType.Float);
        var p = Read(ctx);
        ctx.SetOutput(0, DataType.Float, p.G.OutputShape(p.M));
    }

    public override string Describe(OpContext ctx)
    {
        var p = Read(ctx);
        return p.G.Describe() + (p.Group == 1 ? "" : p.Group == p.G.C && p.Mg == 1 ? " depthwise" : $" group {p.Group}");
    }

    public override void Evaluate(EvalContext ctx)
    {
        var p = Read(ctx);
        var g = p.G;
        var x = ctx.Input(0).AsFloats();
        var w = ctx.Input(1).AsFloats();
        var b = ctx.HasInput(2) ? ctx.Input(2).AsFloats() : null;
        var y = new float[g.N * p.M * g.OH * g.OW];
        int o = 0;
        for (int n = 0; n < g.N; n++)
            for (int oc = 0; oc < p.M; oc++)
            {
                int c0 = oc / p.Mg * p.Cg;
                for (int oy = 0; oy < g.OH; oy++)
                    for (int ox = 0; ox < g.OW; ox++)
                    {
                        double sum = b?[oc] ?? 0;
                        for (int ic = 0; ic < p.Cg; ic++)
                            for (int ky = 0; ky < g.KH; ky++)
                            {
                                int iy = oy * g.SY - g.PadTop + ky * g.DY;
                                if (iy < 0 || iy >= g.H) continue;
                                for (int kx = 0; kx < g.KW; kx++)
                                {
                                    int ix = ox * g.SX - g.PadLeft + kx * g.DX;
                                    if (ix < 0 || ix >= g.W) continue;
                                    sum += (double)x[((n * g.C + c0 + ic) * g.H + iy) * g.W + ix] * w[((oc * p.Cg + ic) * g.KH + ky) * g.KW + kx];
                                }
                            }
                        y[o++] = (float)sum;
                    }
            }
        ctx.SetOutput(0, Tensor.FromFloats(g.OutputShape(p.M), y));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var p = Read(ctx);
        var g = p.G;
        var w = ctx.W;
        string x = ctx.In(0), wt = ctx.In(1), y = ctx.Out(0);
        string? bias = ctx.HasInput(2) ? ctx.In(2) : null;
        int plane = g.OH * g.OW;
        w.Line($"// Direct convolution: for each output pixel, sum over the {p.Cg}x{g.KH}x{g.KW} input window.");
        using (w.Block($"for (int n = 0; n < {g.N}; n++)"))
        using (w.Block($"for (int oc = 0; oc < {p.M}; oc++)"))
        {
            w.Line(p.Group == 1 ? $"int xc = n * {g.C * g.H * g.W};" : $"int xc = (n * {g.C} + oc / {p.Mg} * {p.Cg}) * {g.H * g.W};");
            w.Line($"var wo = {wt}.Slice(oc * {p.Cg * g.KH * g.KW}, {p.Cg * g.KH * g.KW});");
            w.Line($"var yo = {y}.Slice((n * {p.M} + oc) * {plane}, {plane});");
            w.Line($"float b = {(bias != null ? bias + "[oc]" : "0f")};");
            using (w.Block($"for (int oy = 0; oy < {g.OH}; oy++)"))
            using (w.Block($"for (int ox = 0; ox < {g.OW}; ox++)"))
            {
                w.Line("float sum = b;");
                using (w.Block($"for (int ic = 0; ic < {p.Cg}; ic++)"))
                {
                    w.Line($"int xi = xc + ic * {g.H * g.W};");
                    w.Line($"int wi = ic * {g.KH * g.KW};");
                    using (w.Block($"for (int ky = 0; ky < {g.KH}; ky++)"))
                    {
                        w.Line($"int iy = {g.InputRow("oy", "ky")};");
                        if (g.HasPadding) w.Line($"if ((uint)iy >= {g.H}u) continue;");
                        using (w.Block($"for (int kx = 0; kx < {g.KW}; kx++)"))
                        {
                            w.Line($"int ix = {g.InputColumn("ox", "kx")};");
                            if (g.HasPadding) w.Line($"if ((uint)ix >= {g.W}u) continue;");
                            w.Line($"sum += {x}[xi + iy * {g.W} + ix] * wo[wi + ky * {g.KW} + kx];");
                        }
                    }
                }
                w.Line($"yo[oy * {g.OW} + ox] = {ctx.Activate("sum")};");
            }
        }
    }
}
