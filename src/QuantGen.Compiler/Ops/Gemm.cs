using System;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>Gemm: Y = alpha * A' * B' + beta * C, with A' = transA ? Aᵀ : A and B' = transB ? Bᵀ : B.</summary>
public sealed class Gemm : Operator
{
    public override string OpType => "Gemm";
    public override bool CanFuseActivation => true;

    private readonly record struct Dims(int M, int K, int N, bool TransA, bool TransB, float Alpha, float Beta);

    private static Dims Read(OpContext ctx)
    {
        var a = ctx.InputShapeOrFail(0);
        var b = ctx.InputShapeOrFail(1);
        if (a.Length != 2 || b.Length != 2)
            throw ctx.ShapeError($"A and B must be 2-D, got {Shapes.Format(a)} and {Shapes.Format(b)}");
        bool ta = ctx.Int("transA", 0) != 0, tb = ctx.Int("transB", 0) != 0;
        int m = ta ? a[1] : a[0], k = ta ? a[0] : a[1];
        int kb = tb ? b[1] : b[0], n = tb ? b[0] : b[1];
        if (k != kb)
            throw ctx.ShapeError($"A' is {m}x{k} but B' is {kb}x{n}");
        if (ctx.HasInput(2) && Shapes.Broadcast(ctx.InputShape(2), new[] { m, n })?.SameAs(new[] { m, n }) != true)
            throw ctx.ShapeError($"C of shape {Shapes.Format(ctx.InputShape(2))} does not broadcast to {m}x{n}");
        return new Dims(m, k, n, ta, tb, ctx.Float("alpha", 1f), ctx.Float("beta", 1f));
    }

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.Float);
        ctx.RequireType(1, DataType.Float);
        ctx.RequireType(2, DataType.Float);
        var d = Read(ctx);
        ctx.SetOutput(0, DataType.Float, new[] { d.M, d.N });
    }

    public override string Describe(OpContext ctx)
    {
        var d = Read(ctx);
        return $"M={d.M} K={d.K} N={d.N}{(d.TransA ? " transA" : "")}{(d.TransB ? " transB" : "")}";
    }

    public override void Evaluate(EvalContext ctx)
    {
        var d = Read(ctx);
        var a = ctx.Input(0).AsFloats();
        var b = ctx.Input(1).AsFloats();
        var c = ctx.HasInput(2) ? ctx.Input(2) : null;
        var cmap = c != null ? Broadcasting.IndexMap(c.Shape, new[] { d.M, d.N }) : null;
        var cf = c?.AsFloats();
        var y = new float[d.M * d.N];
        for (int m = 0; m < d.M; m++)
            for (int n = 0; n < d.N; n++)
            {
                double sum = 0;
                for (int k = 0; k < d.K; k++)
                    sum += (double)a[d.TransA ? k * d.M + m : m * d.K + k] * b[d.TransB ? n * d.K + k : k * d.N + n];
                float v = d.Alpha * (float)sum;
                if (cf != null) v += d.Beta * cf[cmap![m * d.N + n]];
                y[m * d.N + n] = v;
            }
        ctx.SetOutput(0, Tensor.FromFloats(new[] { d.M, d.N }, y));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var d = Read(ctx);
        var w = ctx.W;
        // The inner loop is a dot product over K, so A' rows and B' columns should be contiguous.
        // A constant B is stored transposed (N x K) at build time; runtime operands are read with strides.
        string a = ctx.In(0);
        var bConst = ctx.InputConstant(1);
        string b = bConst != null ? ctx.Embed("Bt", d.TransB ? bConst : Transpose(bConst, d.K, d.N)) : ctx.In(1);
        bool bContiguous = bConst != null || d.TransB;
        string? cExpr = null;
        if (ctx.HasInput(2) && d.Beta != 0)
        {
            var cShape = ctx.InputShape(2);
            var strides = Shapes.BroadcastStrides(cShape, new[] { d.M, d.N });
            string index = $"m * {strides[0]} + n * {strides[1]}";
            var cConst = ctx.InputConstant(2);
            string c = cConst != null && d.Beta != 1f ? ctx.Embed("C", Scale(cConst, d.Beta)) : ctx.In(2);
            cExpr = $"{c}[{index}]" + (d.Beta != 1f && cConst == null ? $" * {CSharp.Float(d.Beta)}" : "");
        }

        using (w.Block($"for (int m = 0; m < {d.M}; m++)"))
        {
            using (w.Block($"for (int n = 0; n < {d.N}; n++)"))
            {
                string sum;
                if (!d.TransA && bContiguous)
                {
                    sum = $"{ctx.Helper(KernelHelpers.Dot)}({a}.Slice(m * {d.K}, {d.K}), {b}.Slice(n * {d.K}, {d.K}))";
                }
                else
                {
                    string ai = d.TransA ? $"k * {d.M} + m" : $"m * {d.K} + k";
                    string bi = bContiguous ? $"n * {d.K} + k" : $"k * {d.N} + n";
                    w.Line("float acc = 0f;");
                    w.Line($"for (int k = 0; k < {d.K}; k++) acc += {a}[{ai}] * {b}[{bi}];");
                    sum = "acc";
                }
                if (d.Alpha != 1f) sum += $" * {CSharp.Float(d.Alpha)}";
                if (cExpr != null) sum += " + " + cExpr;
                w.Line($"float v = {sum};");
                w.Line($"{ctx.Out(0)}[m * {d.N} + n] = {ctx.Activate("v")};");
            }
        }
    }

    internal static Tensor Transpose(Tensor t, int rows, int cols)
    {
        var src = t.AsFloats();
        var dst = new float[src.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                dst[c * rows + r] = src[r * cols + c];
        return Tensor.FromFloats(new[] { cols, rows }, dst);
    }

    private static Tensor Scale(Tensor t, float s) => Tensor.FromFloats(t.Shape, Array.ConvertAll(t.AsFloats(), v => v * s));
}
