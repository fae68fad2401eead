using System;
using System.Linq;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// LayerNormalization (opset 17): each row of X over the dimensions from <c>axis</c> (default -1) on is normalized,
/// Y = (X - mean) / sqrt(variance + epsilon) * Scale + B, with the population variance. Scale and the optional B
/// broadcast onto the normalized shape. The optional outputs Mean and InvStdDev hold each row's statistics, shaped like
/// X with the normalized dimensions set to 1. Float only, computed in float (<c>stash_type</c> 1, the default).
/// The fusion pass <c>FuseLayerNormalization</c> also puts this node in older graphs, in place of the decomposed form.
/// </summary>
public sealed class LayerNormalization : Operator
{
    public override string OpType => "LayerNormalization";

    /// <summary>Rows of <c>Length</c> contiguous elements each; the statistics' shape.</summary>
    private sealed record Plan(int Axis, int Rows, int Length, float Epsilon, int[] StatsShape);

    private static Plan Read(OpContext ctx)
    {
        var x = ctx.InputShapeOrFail(0);
        if (x.Length == 0)
            throw ctx.ShapeError("the input must have rank 1 or more");
        int axis = ctx.Axis(ctx.Int("axis", -1), x.Length);
        float epsilon = ctx.Float("epsilon", 1e-5f);
        if (!(epsilon >= 0f) || float.IsInfinity(epsilon))
            throw ctx.Invalid($"epsilon {epsilon} must be a finite value >= 0");
        long stash = ctx.Int("stash_type", 1);
        if (stash != 1)
            throw ctx.Unsupported($"stash_type {stash} (only 1, statistics in float, is supported)");
        int rows = Shapes.ElementCount(x.Take(axis).ToArray());
        var normalized = x.Skip(axis).ToArray();
        int length = Shapes.ElementCount(normalized);
        if (length == 0)
            throw ctx.ShapeError($"nothing to normalize: the dimensions from axis {axis} of {Shapes.Format(x)} hold no element");
        CheckAffine(ctx, 1, "Scale", normalized, required: true);
        CheckAffine(ctx, 2, "B", normalized, required: false);
        var stats = x.Select((d, i) => i < axis ? d : 1).ToArray();
        return new Plan(axis, rows, length, epsilon, stats);
    }

    /// <summary>Scale and B must broadcast onto the normalized shape (a runtime one must match it exactly).</summary>
    private static void CheckAffine(OpContext ctx, int index, string name, int[] normalized, bool required)
    {
        if (!ctx.HasInput(index))
        {
            if (required) throw ctx.Invalid($"the {name} input is required");
            return;
        }
        var s = ctx.InputShape(index);
        // Right-aligned: each dimension equals the normalized one or is 1; dimensions beyond its rank must be 1.
        int extra = s.Length - normalized.Length;
        bool broadcasts = true;
        for (int i = 0; i < s.Length; i++)
            broadcasts &= s[i] == 1 || (i >= extra && s[i] == normalized[i - extra]);
        if (!broadcasts)
            throw ctx.ShapeError($"{name} {Shapes.Format(s)} does not broadcast onto the normalized shape {Shapes.Format(normalized)}");
        if (ctx.InputConstant(index) == null && Shapes.ElementCount(s) != Shapes.ElementCount(normalized))
            throw ctx.Unsupported($"a {name} computed at run time that broadcasts ({Shapes.Format(s)} onto {Shapes.Format(normalized)}); it must be constant or have the normalized shape");
    }

    /// <summary>A constant Scale or B expanded to one value per normalized element.</summary>
    private static float[] Expand(Tensor t, int[] normalized)
    {
        var shape = t.Shape.Length > normalized.Length ? t.Shape.Skip(t.Shape.Length - normalized.Length).ToArray() : t.Shape;
        var strides = Shapes.BroadcastStrides(shape, normalized);
        var src = t.AsFloats();
        var dst = new float[Shapes.ElementCount(normalized)];
        var idx = new int[normalized.Length];
        for (int i = 0; i < dst.Length; i++)
        {
            dst[i] = src[TensorIndexing.Offset(idx, strides)];
            for (int d = idx.Length - 1; d >= 0; d--)
            {
                if (++idx[d] < normalized[d]) break;
                idx[d] = 0;
            }
        }
        return dst;
    }

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.Float);
        ctx.RequireType(1, DataType.Float);
        ctx.RequireType(2, DataType.Float);
        var p = Read(ctx);
        ctx.SetOutput(0, DataType.Float, ctx.InputShape(0));
        ctx.SetOutput(1, DataType.Float, p.StatsShape);
        ctx.SetOutput(2, DataType.Float, p.StatsShape);
    }

    public override string Describe(OpContext ctx)
    {
        var p = Read(ctx);
        return $"axis {p.Axis}, {p.Rows} row(s) of {p.Length}, epsilon {CSharp.Float(p.Epsilon)}";
    }

    public override void Evaluate(EvalContext ctx)
    {
        var p = Read(ctx);
        var t = ctx.Input(0);
        var normalized = t.Shape.Skip(p.Axis).ToArray();
        var x = t.AsFloats();
        var scale = Expand(ctx.Input(1), normalized);
        var bias = ctx.HasInput(2) ? Expand(ctx.Input(2), normalized) : new float[p.Length];
        var y = new float[x.Length];
        var means = new float[p.Rows];
        var invStdDevs = new float[p.Rows];
        for (int r = 0; r < p.Rows; r++)
        {
            int b = r * p.Length;
            double sum = 0;
            for (int i = 0; i < p.Length; i++) sum += x[b + i];
            // stash_type 1: the statistics are floats. Rounding the mean to float matters when it is large next to the
            // spread (x - mean is then exact in float, and the result is what a float implementation gives).
            double mean = (float)(sum / p.Length);
            double squares = 0;
            for (int i = 0; i < p.Length; i++) squares += (x[b + i] - mean) * (x[b + i] - mean);
            double invStdDev = 1.0 / Math.Sqrt(squares / p.Length + p.Epsilon);
            for (int i = 0; i < p.Length; i++)
                y[b + i] = (float)((x[b + i] - mean) * invStdDev * scale[i] + bias[i]);
            means[r] = (float)mean;
            invStdDevs[r] = (float)invStdDev;
        }
        ctx.SetOutput(0, Tensor.FromFloats(t.Shape, y));
        if (ctx.OutputCount > 1) ctx.SetOutput(1, Tensor.FromFloats(p.StatsShape, means));
        if (ctx.OutputCount > 2) ctx.SetOutput(2, Tensor.FromFloats(p.StatsShape, invStdDevs));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var p = Read(ctx);
        var w = ctx.W;
        var normalized = ctx.InputShape(0).Skip(p.Axis).ToArray();
        int n = p.Length;
        string x = ctx.In(0), y = ctx.Out(0);
        bool mean = ctx.OutputCount > 1 && ctx.Node.Outputs[1].Length > 0;
        bool invStd = ctx.OutputCount > 2 && ctx.Node.Outputs[2].Length > 0;

        // Constant Scale and B are expanded to the row length at build time; Scale of all ones and an absent B cost nothing.
        var scaleConst = ctx.InputConstant(1);
        float[]? scaleValues = scaleConst != null ? Expand(scaleConst, normalized) : null;
        string? scale = scaleValues != null && scaleValues.All(v => v == 1f) ? null
            : scaleValues != null ? ctx.Embed("Scale", Tensor.FromFloats(normalized, scaleValues)) : ctx.In(1);
        string? bias = null;
        if (ctx.HasInput(2))
        {
            var biasConst = ctx.InputConstant(2);
            float[]? biasValues = biasConst != null ? Expand(biasConst, normalized) : null;
            bias = biasValues != null && biasValues.All(v => v == 0f) ? null
                : biasValues != null ? ctx.Embed("Bias", Tensor.FromFloats(normalized, biasValues)) : ctx.In(2);
        }
        if (p.Rows == 0)
        {
            w.Line("// Nothing to normalize: there are no rows.");
            return;
        }
        // Vector256 where the CPU has it (AVX2), else Vector128 (SSE, NEON), else scalar; each width only when a row holds a vector.
        var widths = new[] { ("Vector256", 8), ("Vector128", 4) }.Where(v => n >= v.Item2).ToArray();

        w.Line($"// {p.Rows} row(s) of {n}: mean and variance in one pass, shifted by the row's first element so a large mean does not");
        w.Line("// cancel the variance away; then y = (x - mean) * invStdDev" + (scale != null ? " * scale" : "") + (bias != null ? " + bias" : "") + ".");
        using (p.Rows > 1 ? w.Block($"for (int r = 0; r < {p.Rows}; r++)") : w.Block(""))
        {
            string row = p.Rows > 1 ? $"r * {CSharp.Int(n)}" : "0";
            w.Line($"var xr = {x}.Slice({row}, {n});");
            w.Line($"var yr = {y}.Slice({row}, {n});");
            w.Line("float shift = xr[0];");
            w.Line("float s1 = 0f, s2 = 0f;");
            w.Line("int i = 0;");
            for (int v = 0; v < widths.Length; v++)
            {
                var (vec, lanes) = widths[v];
                using (w.Block($"{(v > 0 ? "else if" : "if")} ({vec}.IsHardwareAccelerated)"))
                {
                    w.Line("ref float rx = ref MemoryMarshal.GetReference(xr);");
                    w.Line($"var vshift = {vec}.Create(shift);");
                    w.Line($"var v1 = {vec}<float>.Zero;");
                    w.Line($"var v2 = {vec}<float>.Zero;");
                    using (w.Block($"for (; i <= {n - lanes}; i += {lanes})"))
                    {
                        w.Line($"var d = {vec}.LoadUnsafe(ref rx, (nuint)i) - vshift;");
                        w.Line("v1 += d;");
                        w.Line("v2 += d * d;");
                    }
                    w.Line($"s1 = {vec}.Sum(v1);");
                    w.Line($"s2 = {vec}.Sum(v2);");
                }
            }
            using (w.Block($"for (; i < {n}; i++)"))
            {
                w.Line("float d = xr[i] - shift;");
                w.Line("s1 += d;");
                w.Line("s2 += d * d;");
            }
            w.Line($"float mean = shift + s1 / {CSharp.Float(n)};");
            w.Line($"float variance = MathF.Max(0f, (s2 - s1 * s1 / {CSharp.Float(n)}) / {CSharp.Float(n)});");
            w.Line($"float invStdDev = 1f / MathF.Sqrt(variance + {CSharp.Float(p.Epsilon)});");
            string r0 = p.Rows > 1 ? "r" : "0";
            if (mean) w.Line($"{ctx.Out(1)}[{r0}] = mean;");
            if (invStd) w.Line($"{ctx.Out(2)}[{r0}] = invStdDev;");
            w.Line("i = 0;");
            string Affine(string v, string m, string inv, string s, string b) => $"({v} - {m}) * {inv}" + (scale != null ? $" * {s}" : "") + (bias != null ? $" + {b}" : "");
            for (int v = 0; v < widths.Length; v++)
            {
                var (vec, lanes) = widths[v];
                using (w.Block($"{(v > 0 ? "else if" : "if")} ({vec}.IsHardwareAccelerated)"))
                {
                    w.Line("ref float rx = ref MemoryMarshal.GetReference(xr);");
                    w.Line("ref float ry = ref MemoryMarshal.GetReference(yr);");
                    if (scale != null) w.Line($"ref float rs = ref MemoryMarshal.GetReference({scale});");
                    if (bias != null) w.Line($"ref float rb = ref MemoryMarshal.GetReference({bias});");
                    w.Line($"var vmean = {vec}.Create(mean);");
                    w.Line($"var vinv = {vec}.Create(invStdDev);");
                    w.Line($"for (; i <= {n - lanes}; i += {lanes})");
                    string Load(string r) => $"{vec}.LoadUnsafe(ref {r}, (nuint)i)";
                    w.Line($"    ({Affine(Load("rx"), "vmean", "vinv", Load("rs"), Load("rb"))}).StoreUnsafe(ref ry, (nuint)i);");
                }
            }
            w.Line($"for (; i < {n}; i++) yr[i] = {Affine("xr[i]", "mean", "invStdDev", $"{scale}[i]", $"{bias}[i]")};");
        }
    }
}
