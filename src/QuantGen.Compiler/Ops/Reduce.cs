using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// The float reductions (ReduceMean, ReduceSum, ReduceMax) over <c>axes</c>: an attribute until the opset where it
/// became a build-time constant input (13 for ReduceSum, 18 for the others). No axes means all of them, unless
/// <c>noop_with_empty_axes</c> (from that same opset) makes the op the identity. Reduced dimensions stay as 1 when
/// <c>keepdims</c> (the default). Subclasses say how elements combine.
/// </summary>
public abstract class ReduceOperator : Operator
{
    public override bool IsRuntimeInput(int index) => index == 0;

    /// <summary>The first opset in which <c>axes</c> is an input rather than an attribute.</summary>
    protected abstract long AxesInputOpset { get; }

    /// <summary>The accumulator before any element (the result over an empty set, before <see cref="Finish"/>).</summary>
    protected abstract double Initial { get; }
    protected abstract double Combine(double acc, double x);
    protected virtual double Finish(double acc, int count) => acc;

    /// <summary>C#: the accumulator's start value, the statement folding <c>v</c> into <c>acc</c>, and the result.</summary>
    protected abstract string EmitInitial { get; }
    protected abstract string EmitCombine(string acc, string v);
    protected virtual string EmitFinish(string acc, int count) => acc;

    /// <summary>
    /// The Vector256 loop over a contiguous run <c>rx</c> (a ref float) from <c>r</c>: folds 8 lanes at a time and
    /// leaves the result combined into <c>acc</c> and <c>r</c> where the scalar tail starts. Must give what the
    /// scalar loop gives (up to the order of additions).
    /// </summary>
    protected abstract void EmitVectorLoop(SourceWriter w, int extent);

    /// <summary>Vector256 form of <see cref="EmitCombine"/>, lane by lane equal to it.</summary>
    protected abstract string EmitVectorRowCombine(string acc, string v);

    /// <summary>Which input dimensions are reduced (none: the op is the identity) and the output shape.</summary>
    private sealed record Plan(bool[] Reduced, int[] Output, int Count);

    private Plan Read(OpContext ctx)
    {
        var x = ctx.InputShapeOrFail(0);
        bool axesInput = ctx.Opset >= AxesInputOpset;
        if (axesInput && ctx.HasAttribute("axes"))
            throw ctx.Invalid($"from opset {AxesInputOpset} axes is an input, not an attribute");
        long[]? axes = !axesInput ? ctx.Ints("axes") : ctx.HasInput(1) ? ctx.RequireConstant(1, "axes").AsLongs() : null;
        if (axes != null && axes.Length == 0)
            axes = null;
        bool keepDims = ctx.Int("keepdims", 1) != 0;
        bool noop = axesInput && ctx.Int("noop_with_empty_axes", 0) != 0;
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
        return axes.Length == 0 ? "no axes (identity)" : $"axes [{string.Join(", ", axes)}] ({p.Count} element(s) each)";
    }

    public override void Evaluate(EvalContext ctx)
    {
        var p = Read(ctx);
        var t = ctx.Input(0);
        var x = t.AsFloats();
        var shape = t.Shape;
        if (!p.Reduced.Any(r => r))
        {
            ctx.SetOutput(0, Tensor.FromFloats(p.Output, (float[])x.Clone()));
            return;
        }
        // Fold each input element into the output element it reduces to.
        var keptStrides = new int[shape.Length];
        for (int d = shape.Length - 1, s = 1; d >= 0; d--)
        {
            keptStrides[d] = p.Reduced[d] ? 0 : s;
            if (!p.Reduced[d]) s *= shape[d];
        }
        var acc = new double[Shapes.ElementCount(p.Output)];
        for (int i = 0; i < acc.Length; i++) acc[i] = Initial;
        var idx = new int[shape.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int o = TensorIndexing.Offset(idx, keptStrides);
            acc[o] = Combine(acc[o], x[i]);
            for (int d = idx.Length - 1; d >= 0; d--)
            {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        ctx.SetOutput(0, Tensor.FromFloats(p.Output, Array.ConvertAll(acc, a => (float)Finish(a, p.Count))));
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
        w.Line($"// Each output element reduces {p.Count} input element(s).");
        if (groups.Count > 0 && !groups[groups.Count - 1].Reduced && groups.Any(g => g.Reduced))
            EmitRows(w, xs, y, groups, p.Count);
        else
            EmitElements(w, xs, y, groups, p.Count);
    }

    /// <summary>
    /// The innermost dimensions are kept (e.g. [B, S, H] pooled over S): each output row accumulates whole input rows,
    /// contiguous on both sides, 8 lanes at a time. Every output element still folds its inputs in the same order.
    /// </summary>
    private void EmitRows(SourceWriter w, string xs, string y, List<(bool Reduced, int Extent, int Stride)> groups, int count)
    {
        int row = groups[groups.Count - 1].Extent;
        var loops = groups.Take(groups.Count - 1).ToList();
        var outer = loops.Where(g => !g.Reduced).ToList();
        var reduced = loops.Where(g => g.Reduced).ToList();
        w.Line($"// The last {row} element(s) are kept: whole rows are folded into the output row.");
        w.Line("int yo = 0;");
        var closers = new List<IDisposable>();
        string offset = "0";
        for (int k = 0; k < outer.Count; k++)
        {
            closers.Add(w.Block($"for (int i{k} = 0; i{k} < {outer[k].Extent}; i{k}++)"));
            w.Line($"int xo{k} = {StridedCopy.Offset(offset, $"i{k}", outer[k].Stride)};");
            offset = $"xo{k}";
        }
        w.Line($"var yr = {y}.Slice(yo, {row});");
        w.Line($"yr.Fill({EmitInitial});");
        var inner = new List<IDisposable>();
        for (int r = 0; r < reduced.Count; r++)
        {
            inner.Add(w.Block($"for (int r{r} = 0; r{r} < {reduced[r].Extent}; r{r}++)"));
            w.Line($"int ro{r} = {StridedCopy.Offset(offset, $"r{r}", reduced[r].Stride)};");
            offset = $"ro{r}";
        }
        w.Line($"var xr = {xs}.Slice({offset}, {row});");
        w.Line("int k = 0;");
        if (row >= 8)
        {
            using (w.Block("if (Vector256.IsHardwareAccelerated)"))
            {
                w.Line("ref float rx = ref MemoryMarshal.GetReference(xr);");
                w.Line("ref float ry = ref MemoryMarshal.GetReference(yr);");
                using (w.Block($"for (; k <= {row - 8}; k += 8)"))
                {
                    w.Line("var va = Vector256.LoadUnsafe(ref ry, (nuint)k);");
                    w.Line("var vx = Vector256.LoadUnsafe(ref rx, (nuint)k);");
                    w.Line($"{EmitVectorRowCombine("va", "vx")}.StoreUnsafe(ref ry, (nuint)k);");
                }
            }
        }
        w.Line($"for (; k < {row}; k++) yr[k] = {EmitCombine("yr[k]", "xr[k]")};");
        for (int i = inner.Count - 1; i >= 0; i--)
            inner[i].Dispose();
        string finish = EmitFinish("yr[k]", count);
        if (finish != "yr[k]")
            w.Line($"for (int k = 0; k < {row}; k++) yr[k] = {finish};");
        w.Line($"yo += {row};");
        for (int i = closers.Count - 1; i >= 0; i--)
            closers[i].Dispose();
    }

    /// <summary>Each output element in turn folds its inputs; a contiguous innermost reduced run is read 8 lanes at a time.</summary>
    private void EmitElements(SourceWriter w, string xs, string y, List<(bool Reduced, int Extent, int Stride)> groups, int count)
    {
        var kept = groups.Where(g => !g.Reduced).ToList();
        var reduced = groups.Where(g => g.Reduced).ToList();
        if (kept.Count > 0) w.Line("int o = 0;");
        var closers = new List<IDisposable>();
        string offset = "0";
        for (int k = 0; k < kept.Count; k++)
        {
            closers.Add(w.Block($"for (int i{k} = 0; i{k} < {kept[k].Extent}; i{k}++)"));
            w.Line($"int xo{k} = {StridedCopy.Offset(offset, $"i{k}", kept[k].Stride)};");
            offset = $"xo{k}";
        }
        w.Line($"float acc = {EmitInitial};");
        if (reduced.Count == 0)
        {
            // Every reduced dimension has extent 1: one element each.
            w.Line($"acc = {EmitCombine("acc", $"{xs}[{offset}]")};");
        }
        var last = reduced.Count > 0 ? reduced[reduced.Count - 1] : default;
        bool contiguous = reduced.Count > 0 && groups[groups.Count - 1].Reduced && last.Stride == 1 && last.Extent >= 16;
        var inner = new List<IDisposable>();
        for (int r = 0; r < reduced.Count; r++)
        {
            if (r == reduced.Count - 1 && contiguous)
            {
                w.Line($"var run = {xs}.Slice({offset}, {last.Extent});");
                w.Line("int r = 0;");
                using (w.Block("if (Vector256.IsHardwareAccelerated)"))
                {
                    w.Line("ref float rx = ref MemoryMarshal.GetReference(run);");
                    EmitVectorLoop(w, last.Extent);
                }
                w.Line($"for (; r < {last.Extent}; r++) acc = {EmitCombine("acc", "run[r]")};");
                break;
            }
            inner.Add(w.Block($"for (int r{r} = 0; r{r} < {reduced[r].Extent}; r{r}++)"));
            offset = StridedCopy.Offset(offset, $"r{r}", reduced[r].Stride);
            if (r < reduced.Count - 1)
            {
                w.Line($"int ro{r} = {offset};");
                offset = $"ro{r}";
            }
            else
            {
                w.Line($"acc = {EmitCombine("acc", $"{xs}[{offset}]")};");
            }
        }
        for (int i = inner.Count - 1; i >= 0; i--)
            inner[i].Dispose();
        w.Line($"{y}[{(kept.Count > 0 ? "o++" : "0")}] = {EmitFinish("acc", count)};");
        for (int i = closers.Count - 1; i >= 0; i--)
            closers[i].Dispose();
    }
}

/// <summary>The additive reductions (sum, mean): 0 to start, one vector loop.</summary>
public abstract class SumReduceOperator : ReduceOperator
{
    protected override double Initial => 0;
    protected override double Combine(double acc, double x) => acc + x;
    protected override string EmitInitial => "0f";
    protected override string EmitCombine(string acc, string v) => $"{acc} + {v}";

    protected override string EmitVectorRowCombine(string acc, string v) => $"({acc} + {v})";

    protected override void EmitVectorLoop(SourceWriter w, int extent)
    {
        w.Line("var vsum = Vector256<float>.Zero;");
        w.Line($"for (; r <= {extent - 8}; r += 8) vsum += Vector256.LoadUnsafe(ref rx, (nuint)r);");
        w.Line("acc += Vector256.Sum(vsum);");
    }
}

/// <summary>ReduceMean: the sum over the reduced axes divided by their element count (NaN over an empty set).</summary>
public sealed class ReduceMean : SumReduceOperator
{
    public override string OpType => "ReduceMean";
    protected override long AxesInputOpset => 18;
    protected override double Finish(double acc, int count) => acc / count;
    protected override string EmitFinish(string acc, int count) => $"{acc} / {CSharp.Float(count)}";
}

/// <summary>ReduceSum: the sum over the reduced axes (0 over an empty set); axes is an input from opset 13.</summary>
public sealed class ReduceSum : SumReduceOperator
{
    public override string OpType => "ReduceSum";
    protected override long AxesInputOpset => 13;
}

/// <summary>ReduceMax: the largest element over the reduced axes (-inf over an empty set, NaN if any is NaN).</summary>
public sealed class ReduceMax : ReduceOperator
{
    public override string OpType => "ReduceMax";
    protected override long AxesInputOpset => 18;
    protected override double Initial => double.NegativeInfinity;
    protected override double Combine(double acc, double x) => double.IsNaN(acc) || double.IsNaN(x) ? double.NaN : Math.Max(acc, x);
    protected override string EmitInitial => "float.NegativeInfinity";
    protected override string EmitCombine(string acc, string v) => $"MathF.Max({acc}, {v})";

    // Where either lane is NaN, acc + v is NaN: the lanes then agree with MathF.Max whatever Vector256.Max does with NaN.
    protected override string EmitVectorRowCombine(string acc, string v) =>
        $"Vector256.ConditionalSelect(Vector256.Equals({acc}, {acc}) & Vector256.Equals({v}, {v}), Vector256.Max({acc}, {v}), {acc} + {v})";

    protected override void EmitVectorLoop(SourceWriter w, int extent)
    {
        // Vector256.Max's NaN handling differs between runtimes (maxps returns the second operand): NaN lanes are
        // tracked on their own, so the result is NaN exactly when the scalar MathF.Max chain gives NaN.
        w.Line("var vmax = Vector256.Create(float.NegativeInfinity);");
        w.Line("var vnan = Vector256<float>.Zero;");
        using (w.Block($"for (; r <= {extent - 8}; r += 8)"))
        {
            w.Line("var v = Vector256.LoadUnsafe(ref rx, (nuint)r);");
            w.Line("vmax = Vector256.Max(vmax, v);");
            w.Line("vnan |= ~Vector256.Equals(v, v);");
        }
        w.Line("for (int l = 0; l < 8; l++) acc = MathF.Max(acc, vmax.GetElement(l));");
        w.Line("if (vnan != Vector256<float>.Zero) acc = float.NaN;");
    }
}
