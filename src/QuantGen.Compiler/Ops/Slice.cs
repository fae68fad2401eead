using System;
using System.Linq;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// Slice: starts/ends/axes as attributes (opset &lt; 10) or as build-time constant inputs with optional steps
/// (opset 10+). Negative starts and ends count from the end, out-of-range values are clamped, negative steps walk
/// backwards, all as the spec says.
/// </summary>
public sealed class Slice : Operator
{
    public override string OpType => "Slice";

    public override bool IsRuntimeInput(int index) => index == 0;

    /// <summary>Per input dimension: first element, step and element count of the slice.</summary>
    private sealed record Plan(int[] Start, int[] Step, int[] Count);

    private static Plan Read(OpContext ctx)
    {
        var shape = ctx.InputShapeOrFail(0);
        int rank = shape.Length;
        long[] starts, ends;
        long[]? axes, steps = null;
        if (ctx.Opset < 10)
        {
            starts = ctx.Ints("starts") ?? throw ctx.Invalid("the required attribute 'starts' is missing");
            ends = ctx.Ints("ends") ?? throw ctx.Invalid("the required attribute 'ends' is missing");
            axes = ctx.Ints("axes");
        }
        else
        {
            starts = ctx.RequireConstant(1, "starts").AsLongs();
            ends = ctx.RequireConstant(2, "ends").AsLongs();
            axes = ctx.HasInput(3) ? ctx.RequireConstant(3, "axes").AsLongs() : null;
            steps = ctx.HasInput(4) ? ctx.RequireConstant(4, "steps").AsLongs() : null;
        }
        if (starts.Length != ends.Length)
            throw ctx.Invalid($"starts has {starts.Length} entries but ends has {ends.Length}");
        axes ??= Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        if (axes.Length != starts.Length)
            throw ctx.Invalid($"axes has {axes.Length} entries but starts has {starts.Length}");
        if (steps != null && steps.Length != starts.Length)
            throw ctx.Invalid($"steps has {steps.Length} entries but starts has {starts.Length}");

        var start = new int[rank];
        var step = Enumerable.Repeat(1, rank).ToArray();
        var count = (int[])shape.Clone();
        var seen = new bool[rank];
        for (int i = 0; i < axes.Length; i++)
        {
            int axis = ctx.Axis(axes[i], rank, "axes entry");
            if (seen[axis]) throw ctx.Invalid($"axis {axes[i]} appears twice in axes");
            seen[axis] = true;
            long dim = shape[axis], s = starts[i], e = ends[i], k = steps?[i] ?? 1;
            if (k == 0) throw ctx.Invalid($"steps[{i}] is 0");
            if (k > int.MaxValue || k < -int.MaxValue) k = k > 0 ? dim + 1 : -(dim + 1); // any step past the dimension takes one element
            if (s < 0) s += dim;
            if (e < 0) e += dim;
            long n;
            if (k > 0)
            {
                s = Clamp(s, 0, dim);
                e = Clamp(e, 0, dim);
                n = e > s ? (e - s + k - 1) / k : 0;
            }
            else
            {
                s = Clamp(s, 0, dim - 1);
                e = Clamp(e, -1, dim - 1);
                n = s > e ? (s - e - k - 1) / -k : 0;
            }
            start[axis] = n > 0 ? (int)s : 0;
            step[axis] = (int)k;
            count[axis] = (int)n;
        }
        return new Plan(start, step, count);
    }

    private static long Clamp(long v, long lo, long hi) => Math.Max(lo, Math.Min(hi, v));

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, TensorIndexing.AnyType);
        ctx.SetOutput(0, ctx.InputType(0), Read(ctx).Count);
    }

    public override string Describe(OpContext ctx)
    {
        var p = Read(ctx);
        var shape = ctx.InputShape(0);
        var parts = Enumerable.Range(0, shape.Length)
            .Where(d => p.Count[d] != shape[d] || p.Step[d] != 1)
            .Select(d => $"axis {d}: {p.Start[d]}" + (p.Step[d] == 1 ? $"..{p.Start[d] + p.Count[d]}" : $" step {p.Step[d]} x{p.Count[d]}"));
        return string.Join(", ", parts);
    }

    public override void Evaluate(EvalContext ctx)
    {
        var p = Read(ctx);
        var x = ctx.Input(0);
        var strides = Shapes.Strides(x.Shape);
        int baseOffset = TensorIndexing.Offset(p.Start, strides);
        var steps = strides.Select((s, d) => s * p.Step[d]).ToArray();
        ctx.SetOutput(0, TensorIndexing.Take(x, p.Count, idx => baseOffset + TensorIndexing.Offset(idx, steps)));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var p = Read(ctx);
        var strides = Shapes.Strides(ctx.InputShape(0));
        ctx.W.Line("// Copies the selected box of the input (start and step per dimension) to the output in order.");
        StridedCopy.Emit(ctx.W, ctx.In(0), ctx.Out(0), p.Count,
            strides.Select((s, d) => s * p.Step[d]).ToArray(), TensorIndexing.Offset(p.Start, strides),
            Shapes.Strides(p.Count), 0);
    }
}
