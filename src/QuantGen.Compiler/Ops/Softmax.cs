using System;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// Softmax: exp(x - max) / Σ exp(x - max). From opset 13 it normalizes along <c>axis</c> (default -1); before, the
/// input is seen as 2-D, [prod(dims before axis), prod(dims from axis)] (default axis 1), and each row is normalized.
/// </summary>
public sealed class Softmax : Operator
{
    public override string OpType => "Softmax";

    /// <summary>The input as [Outer, Length, Inner]: softmax runs over Length for each (outer, inner) pair.</summary>
    private readonly record struct Dims(int Axis, int Outer, int Length, int Inner);

    private static Dims Read(OpContext ctx)
    {
        var x = ctx.InputShapeOrFail(0);
        if (x.Length == 0)
            throw ctx.ShapeError("the input must have rank 1 or more");
        bool perAxis = ctx.Opset >= 13;
        int axis = ctx.Axis(ctx.Int("axis", perAxis ? -1 : 1), x.Length);
        int outer = 1, length = 1, inner = 1;
        for (int d = 0; d < x.Length; d++)
        {
            if (d < axis) outer *= x[d];
            else if (d == axis || !perAxis) length *= x[d];
            else inner *= x[d];
        }
        return new Dims(axis, outer, length, inner);
    }

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.Float);
        Read(ctx);
        ctx.SetOutput(0, DataType.Float, ctx.InputShape(0));
    }

    public override string Describe(OpContext ctx)
    {
        var d = Read(ctx);
        return ctx.Opset >= 13 ? $"axis {d.Axis}" : $"axis {d.Axis} (rows of {d.Length})";
    }

    public override void Evaluate(EvalContext ctx)
    {
        var d = Read(ctx);
        var t = ctx.Input(0);
        var x = t.AsFloats();
        var y = new float[x.Length];
        for (int o = 0; o < d.Outer; o++)
            for (int i = 0; i < d.Inner; i++)
            {
                int b = o * d.Length * d.Inner + i;
                float max = float.NegativeInfinity;
                for (int k = 0; k < d.Length; k++) max = Math.Max(max, x[b + k * d.Inner]);
                double sum = 0;
                for (int k = 0; k < d.Length; k++) sum += Math.Exp(x[b + k * d.Inner] - max);
                for (int k = 0; k < d.Length; k++) y[b + k * d.Inner] = (float)(Math.Exp(x[b + k * d.Inner] - max) / sum);
            }
        ctx.SetOutput(0, Tensor.FromFloats(t.Shape, y));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var d = Read(ctx);
        var w = ctx.W;
        string x = ctx.In(0), y = ctx.Out(0);
        if (d.Outer * d.Length * d.Inner == 0)
        {
            w.Line("// Nothing to normalize: the tensor is empty.");
            return;
        }
        w.Line($"// Numerically stable softmax over {d.Length} element(s){(d.Inner > 1 ? $" {d.Inner} apart" : "")}: subtract the max, exponentiate, divide by the sum.");
        using (d.Outer > 1 ? w.Block($"for (int o = 0; o < {d.Outer}; o++)") : null)
        using (d.Inner > 1 ? w.Block($"for (int i = 0; i < {d.Inner}; i++)") : null)
        {
            string b = (d.Outer > 1, d.Inner > 1) switch
            {
                (true, true) => $"o * {d.Length * d.Inner} + i",
                (true, false) => $"o * {d.Length}",
                (false, true) => "i",
                _ => "0",
            };
            string at = d.Inner > 1 ? $"b + k * {d.Inner}" : "b + k";
            w.Line($"int b = {b};");
            if (d.Inner == 1 && d.Length >= 16)
            {
                // A contiguous row (the last axis, as in attention): max, exponentials and the final scaling 8 lanes at a
                // time. The max is the same whatever the order; a NaN anywhere makes the sum, hence every output, NaN.
                w.Line($"var xr = {x}.Slice(b, {d.Length});");
                w.Line($"var yr = {y}.Slice(b, {d.Length});");
                w.Line("float max = xr[0];");
                w.Line("int k = 0;");
                using (w.Block("if (Vector256.IsHardwareAccelerated)"))
                {
                    w.Line("ref float rx = ref MemoryMarshal.GetReference(xr);");
                    w.Line("var vmax = Vector256.LoadUnsafe(ref rx);");
                    w.Line($"for (k = 8; k <= {d.Length - 8}; k += 8) vmax = Vector256.Max(vmax, Vector256.LoadUnsafe(ref rx, (nuint)k));");
                    w.Line("for (int l = 0; l < 8; l++) max = MathF.Max(max, vmax.GetElement(l));");
                }
                w.Line($"for (; k < {d.Length}; k++) max = MathF.Max(max, xr[k]);");
                // Exponentials 8 lanes at a time (the float exp the Gelu kernels use, within 1 ulp), summed per lane.
                string exp = ctx.Helper(KernelHelpers.ExpLanes), expOne = ctx.Helper(KernelHelpers.ExpLaneF32);
                w.Line("float sum = 0f;");
                w.Line("k = 0;");
                using (w.Block("if (Vector256.IsHardwareAccelerated)"))
                {
                    w.Line("ref float rx = ref MemoryMarshal.GetReference(xr);");
                    w.Line("ref float ry = ref MemoryMarshal.GetReference(yr);");
                    w.Line("var vmax = Vector256.Create(max);");
                    w.Line("var vsum = Vector256<float>.Zero;");
                    using (w.Block($"for (; k <= {d.Length - 8}; k += 8)"))
                    {
                        w.Line($"var e = {exp}(Vector256.LoadUnsafe(ref rx, (nuint)k) - vmax);");
                        w.Line("e.StoreUnsafe(ref ry, (nuint)k);");
                        w.Line("vsum += e;");
                    }
                    w.Line("sum = Vector256.Sum(vsum);");
                }
                using (w.Block($"for (; k < {d.Length}; k++)"))
                {
                    w.Line($"float e = {expOne}(xr[k] - max);");
                    w.Line("yr[k] = e;");
                    w.Line("sum += e;");
                }
                w.Line("float scale = 1f / sum;");
                w.Line("k = 0;");
                using (w.Block("if (Vector256.IsHardwareAccelerated)"))
                {
                    w.Line("ref float ry = ref MemoryMarshal.GetReference(yr);");
                    w.Line("var vscale = Vector256.Create(scale);");
                    w.Line($"for (; k <= {d.Length - 8}; k += 8) (Vector256.LoadUnsafe(ref ry, (nuint)k) * vscale).StoreUnsafe(ref ry, (nuint)k);");
                }
                w.Line($"for (; k < {d.Length}; k++) yr[k] *= scale;");
            }
            else
            {
                w.Line($"float max = {x}[b];");
                w.Line($"for (int k = 1; k < {d.Length}; k++) max = MathF.Max(max, {x}[{at}]);");
                w.Line("float sum = 0f;");
                using (w.Block($"for (int k = 0; k < {d.Length}; k++)"))
                {
                    w.Line($"float e = MathF.Exp({x}[{at}] - max);");
                    w.Line($"{y}[{at}] = e;");
                    w.Line("sum += e;");
                }
                w.Line("float scale = 1f / sum;");
                w.Line($"for (int k = 0; k < {d.Length}; k++) {y}[{at}] *= scale;");
            }
        }
    }
}
