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

    /// <summary>
    /// Scratch layout of the float kernel: the input with its padding ([C][Hp][Wp]), the im2col matrix ([K][pixels]) and
    /// the GEMM's output ([Mg][pixels]); pixels is the output plane rounded up to the GEMM's 16-pixel tile.
    /// </summary>
    private readonly record struct Layout(int PaddedHeight, int PaddedWidth, int Plane, int Pixels, int K, int PaddedFloats, int Im2ColFloats, int AccFloats)
    {
        public static Layout Of(Params p, OpContext ctx)
        {
            var g = p.G;
            int hp = g.H + g.PadTop + g.PadBottom, wp = g.W + g.PadLeft + g.PadRight, plane = g.OH * g.OW, pixels = (plane + 15) / 16 * 16;
            int k = p.Cg * g.KH * g.KW;
            long padded = (long)g.C * hp * wp, im2col = (long)k * pixels, acc = (long)p.Mg * pixels;
            if ((padded + im2col + acc) * 4 > 1 << 30)
                throw ctx.Unsupported($"a convolution that needs {(padded + im2col + acc) * 4:N0} bytes of scratch memory (more than 1 GiB)");
            return new Layout(hp, wp, plane, pixels, k, (int)padded, (int)im2col, (int)acc);
        }

        public int ScratchBytes => (PaddedFloats + Im2ColFloats + AccFloats) * 4;
    }

    public override int ScratchBytes(OpContext ctx) => Layout.Of(Read(ctx), ctx).ScratchBytes;

    public override void EmitKernel(KernelContext ctx)
    {
        var p = Read(ctx);
        var g = p.G;
        var l = Layout.Of(p, ctx);
        var w = ctx.W;
        string x = ctx.In(0), wt = ctx.In(1), y = ctx.Out(0), scratch = ctx.Scratch();
        string bias = ctx.HasInput(2) ? ctx.In(2) : "ReadOnlySpan<float>.Empty";
        int inputPlane = g.C * g.H * g.W, paddedPlane = l.PaddedHeight * l.PaddedWidth;
        w.Line($"// im2col + GEMM: the input copied with its zero padding ({l.PaddedHeight}x{l.PaddedWidth}), one im2col row per element of the");
        w.Line($"// {p.Cg}x{g.KH}x{g.KW} window, then per group a {p.Mg} x {l.K} by {l.K} x {l.Plane} product (pixels padded to {l.Pixels}).");
        w.Line($"var scratchFloats = MemoryMarshal.Cast<byte, float>({scratch});");
        w.Line($"var padded = scratchFloats.Slice(0, {l.PaddedFloats});");
        w.Line($"var im2col = scratchFloats.Slice({l.PaddedFloats}, {l.Im2ColFloats});");
        w.Line($"var acc = scratchFloats.Slice({l.PaddedFloats + l.Im2ColFloats}, {l.AccFloats});");
        using (w.Block($"for (int n = 0; n < {g.N}; n++)"))
        {
            w.Line($"{ctx.Helper(KernelHelpers.PadF32)}({x}.Slice(n * {inputPlane}, {inputPlane}), padded, {g.C}, {g.H}, {g.W}, {g.PadTop}, {g.PadLeft}, {l.PaddedHeight}, {l.PaddedWidth});");
            using (w.Block($"for (int group = 0; group < {p.Group}; group++)"))
            {
                using (w.Block($"for (int k = 0; k < {l.K}; k++)"))
                {
                    w.Line($"// Window element k = (channel, ky, kx): where it sits in the padded input for output pixel (0, 0).");
                    w.Line($"int offset = (group * {p.Cg} + k / {g.KH * g.KW}) * {paddedPlane} + k / {g.KW} % {g.KH} * {g.DY * l.PaddedWidth} + k % {g.KW} * {g.DX};");
                    w.Line($"{ctx.Helper(KernelHelpers.Im2ColRowF32)}(padded, im2col.Slice(k * {l.Pixels}, {l.Pixels}), offset, {g.OH}, {g.OW}, {g.SY * l.PaddedWidth}, {g.SX});");
                }
                string groupBias = ctx.HasInput(2) ? $"{bias}.Slice(group * {p.Mg}, {p.Mg})" : bias;
                w.Line($"{ctx.Helper(KernelHelpers.GemmF32)}(im2col, {wt}.Slice(group * {p.Mg * l.K}, {p.Mg * l.K}), {groupBias}, acc, {p.Mg}, {l.K}, {l.Pixels});");
                using (w.Block($"for (int j = 0; j < {p.Mg}; j++)"))
                {
                    w.Line($"var yo = {y}.Slice((n * {p.M} + group * {p.Mg} + j) * {l.Plane}, {l.Plane});");
                    if (ctx.Activation == null)
                    {
                        w.Line($"acc.Slice(j * {l.Pixels}, {l.Plane}).CopyTo(yo);");
                    }
                    else
                    {
                        w.Line($"var aj = acc.Slice(j * {l.Pixels}, {l.Plane});");
                        using (w.Block($"for (int i = 0; i < {l.Plane}; i++)"))
                        {
                            w.Line("float v = aj[i];");
                            w.Line($"yo[i] = {ctx.Activate("v")};");
                        }
                    }
                }
            }
        }
    }
}
