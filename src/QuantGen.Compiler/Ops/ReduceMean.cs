using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// ReduceMean over <c>axes</c> (an attribute before opset 18, a build-time constant input from 18; all axes when
/// absent unless <c>noop_with_empty_axes</c>), keeping reduced dimensions as 1 when <c>keepdims</c> (the default).
/// </summary>
public sealed class ReduceMean : Operator
{
    public override string OpType => "ReduceMean";

    public override bool IsRuntimeInput(int index) => index == 0;

    /// <summary>Which input dimensions are reduced (none: the op is the identity) and the output shape.</summary>
    private sealed record Plan(bool[] Reduced, int[] Output, int Count);

    private static Plan Read(OpContext ctx)
    {
        var x = ctx.InputShapeOrFail(0);
        long[]? axes = ctx.Opset < 18 ? ctx.Ints("axes") : ctx.HasInput(1) ? ctx.RequireConstant(1, "axes").AsLongs() : null;
        if (axes != null && axes.Length == 0)
            axes = null;
        bool keepDims = ctx.Int("keepdims", 1) != 0;
        bool noop = ctx.Opset >= 18 && ctx.Int("noop_with_empty_axes", 0) != 0;
        var reduced = new bool[x.Length];
        if (axes == null)
        {
            if (!noop)
                for (int d = 0; d < x.Length; d++) reduced[d] = true;
        }
        else
        {
            foreach (var a in axes)
            {
                int axis = ctx.Axis(a, x.Length, "axes entry");
                if (reduced[axis]) throw ctx.Invalid($"axis {a} appears twice in axes");
                reduced[axis] = true;
            }
        }
        var output = new List<int>();
        int count = 1;
        for (int d = 0; d < x.Length; d++)
        {
            if (!reduced[d]) output.Add(x[d]);
            else
            {
                count *= x[d];
                if (keepDims) output.Add(1);
            }
        }
        return new Plan(reduced, output.ToArray(), count);
    }

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.Float);
        ctx.SetOutput(0, DataType.Float, Read(ctx).Output);
    }

    public override string Describe(OpContext ctx)
    {
        var p = Read(ctx);
        var axes = Enumerable.Range(0, p.Reduced.Length).Where(d => p.Reduced[d]).ToArray();
        return axes.Length == 0 ? "no axes (identity)" : $"axes [{string.Join(", ", axes)}], mean of {p.Count}";
    }

    public override void Evaluate(EvalContext ctx)
    {
        var p = Read(ctx);
        var t = ctx.Input(0);
        var x = t.AsFloats();
        var shape = t.Shape;
        // Accumulate each input element into the output element it reduces to.
        var keptStrides = new int[shape.Length];
        for (int d = shape.Length - 1, s = 1; d >= 0; d--)
        {
            keptStrides[d] = p.Reduced[d] ? 0 : s;
            if (!p.Reduced[d]) s *= shape[d];
        }
        var sums = new double[Shapes.ElementCount(p.Output)];
        var idx = new int[shape.Length];
        for (int i = 0; i < x.Length; i++)
        {
            sums[TensorIndexing.Offset(idx, keptStrides)] += x[i];
            for (int d = idx.Length - 1; d >= 0; d--)
            {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        ctx.SetOutput(0, Tensor.FromFloats(p.Output, Array.ConvertAll(sums, s => (float)(s / p.Count))));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var p = Read(ctx);
        var w = ctx.W;
        var x = ctx.InputShape(0);
        string xs = ctx.In(0), y = ctx.Out(0);
        int outputs = Shapes.ElementCount(p.Output);
        if (outputs == 0)
        {
            w.Line("// Nothing to write: the output is empty.");
            return;
        }
        if (!p.Reduced.Any(r => r))
        {
            w.Line("// No axes to reduce: a copy.");
            w.Line($"{xs}.Slice(0, {outputs}).CopyTo({y});");
            return;
        }

        // Merge neighbouring dimensions of the same kind (kept or reduced): they are contiguous in memory.
        var strides = Shapes.Strides(x);
        var groups = new List<(bool Reduced, int Extent, int Stride)>();
        for (int d = 0; d < x.Length; d++)
        {
            if (x[d] == 1) continue;
            if (groups.Count > 0 && groups[groups.Count - 1].Reduced == p.Reduced[d])
                groups[groups.Count - 1] = (p.Reduced[d], groups[groups.Count - 1].Extent * x[d], strides[d]);
            else
                groups.Add((p.Reduced[d], x[d], strides[d]));
        }
        var kept = groups.Where(g => !g.Reduced).ToList();
        var reduced = groups.Where(g => g.Reduced).ToList();

        w.Line($"// Each output element is the mean of {p.Count} input element(s).");
        if (kept.Count > 0) w.Line("int o = 0;");
        var closers = new List<IDisposable>();
        string offset = "0";
        for (int k = 0; k < kept.Count; k++)
        {
            closers.Add(w.Block($"for (int i{k} = 0; i{k} < {kept[k].Extent}; i{k}++)"));
            w.Line($"int xo{k} = {StridedCopy.Offset(offset, $"i{k}", kept[k].Stride)};");
            offset = $"xo{k}";
        }
        w.Line("float sum = 0f;");
        var inner = new List<IDisposable>();
        for (int r = 0; r < reduced.Count; r++)
        {
            inner.Add(w.Block($"for (int r{r} = 0; r{r} < {reduced[r].Extent}; r{r}++)"));
            offset = StridedCopy.Offset(offset, $"r{r}", reduced[r].Stride);
            if (r < reduced.Count - 1)
            {
                w.Line($"int ro{r} = {offset};");
                offset = $"ro{r}";
            }
        }
        w.Line($"sum += {xs}[{offset}];");
        for (int i = inner.Count - 1; i >= 0; i--)
            inner[i].Dispose();
        w.Line($"{y}[{(kept.Count > 0 ? "o++" : "0")}] = sum / {CSharp.Float(p.Count)};");
        for (int i = closers.Count - 1; i >= 0; i--)
            closers[i].Dispose();
    }
}
