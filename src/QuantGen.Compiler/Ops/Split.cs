using System;
using System.Linq;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// Split: cuts a tensor along <c>axis</c> (default 0) into consecutive parts, one per output. The part lengths come
/// from <c>split</c> (an attribute before opset 13, a build-time constant input from 13), or from <c>num_outputs</c>
/// (opset 18: parts of ceil(dim / n), the last one shorter), or else the dimension is divided evenly between the
/// outputs. Float or integer data.
/// </summary>
public sealed class Split : Operator
{
    public override string OpType => "Split";

    public override bool IsRuntimeInput(int index) => index == 0;

    /// <summary>The split axis, the length of each part along it, and the input as [Outer, axis, Inner].</summary>
    private sealed record Plan(int Axis, int[] Parts, int Outer, int Length, int Inner);

    private static Plan Read(OpContext ctx)
    {
        var x = ctx.InputShapeOrFail(0);
        if (x.Length == 0)
            throw ctx.ShapeError("cannot split a scalar (the input must have rank 1 or more)");
        int axis = ctx.Axis(ctx.Int("axis", 0), x.Length);
        int dim = x[axis];
        int outputs = ctx.OutputCount;
        if (outputs == 0)
            throw ctx.Invalid("it has no outputs");

        long[]? split = null;
        if (ctx.Opset < 13)
            split = ctx.Ints("split");
        else if (ctx.HasAttribute("split"))
            throw ctx.Invalid("from opset 13 split is an input, not an attribute");
        else if (ctx.HasInput(1))
            split = ctx.RequireConstant(1, "split").AsLongs();

        bool hasNumOutputs = ctx.Opset >= 18 && ctx.HasAttribute("num_outputs");
        int[] parts;
        if (split != null)
        {
            if (hasNumOutputs)
                throw ctx.Invalid("split and num_outputs are both given (one or the other)");
            if (split.Length != outputs)
                throw ctx.Invalid($"split has {split.Length} entries for {outputs} outputs");
            if (split.Any(s => s < 0))
                throw ctx.Invalid($"split [{string.Join(", ", split)}] has a negative entry");
            if (split.Sum() != dim)
                throw ctx.ShapeError($"split [{string.Join(", ", split)}] adds up to {split.Sum()}, but axis {axis} of {Shapes.Format(x)} has {dim}");
            parts = split.Select(s => (int)s).ToArray();
        }
        else if (hasNumOutputs)
        {
            long n = ctx.Int("num_outputs");
            if (n != outputs)
                throw ctx.Invalid($"num_outputs is {n} but the node has {outputs} outputs");
            if (n > dim && dim > 0)
                throw ctx.Invalid($"num_outputs {n} is more than the {dim} elements along axis {axis}");
            int chunk = (int)((dim + n - 1) / n);
            parts = new int[outputs];
            for (int i = 0, left = dim; i < outputs; i++)
            {
                parts[i] = Math.Min(chunk, left);
                left -= parts[i];
            }
        }
        else
        {
            if (dim % outputs != 0)
                throw ctx.ShapeError($"axis {axis} of {Shapes.Format(x)} ({dim}) does not divide into {outputs} equal parts (give split{(ctx.Opset >= 18 ? " or num_outputs" : "")})");
            parts = Enumerable.Repeat(dim / outputs, outputs).ToArray();
        }
        int outer = Shapes.ElementCount(x.Take(axis).ToArray());
        int inner = Shapes.ElementCount(x.Skip(axis + 1).ToArray());
        return new Plan(axis, parts, outer, dim, inner);
    }

    private static int[] PartShape(int[] x, int axis, int part)
    {
        var shape = (int[])x.Clone();
        shape[axis] = part;
        return shape;
    }

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, TensorIndexing.AnyType);
        var p = Read(ctx);
        var x = ctx.InputShape(0);
        for (int i = 0; i < p.Parts.Length; i++)
            ctx.SetOutput(i, ctx.InputType(0), PartShape(x, p.Axis, p.Parts[i]));
    }

    public override string Describe(OpContext ctx)
    {
        var p = Read(ctx);
        return $"axis {p.Axis}, parts [{string.Join(", ", p.Parts)}]";
    }

    public override void Evaluate(EvalContext ctx)
    {
        var p = Read(ctx);
        var t = ctx.Input(0);
        for (int i = 0, start = 0; i < p.Parts.Length; start += p.Parts[i], i++)
        {
            // The part is a band of `part * inner` elements in each of the `outer` rows of the input.
            int band = p.Parts[i] * p.Inner, row = p.Length * p.Inner;
            var map = new int[p.Outer * band];
            for (int o = 0; o < p.Outer; o++)
                for (int k = 0; k < band; k++)
                    map[o * band + k] = o * row + start * p.Inner + k;
            ctx.SetOutput(i, TensorIndexing.TakeFlat(t, PartShape(t.Shape, p.Axis, p.Parts[i]), map));
        }
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var p = Read(ctx);
        var w = ctx.W;
        int row = p.Length * p.Inner;
        w.Line(p.Outer == 1
            ? $"// Each output is the next run of the input along axis {p.Axis}."
            : $"// Each output takes its band (along axis {p.Axis}) of every one of the {p.Outer} input rows.");
        for (int i = 0, start = 0; i < p.Parts.Length; start += p.Parts[i], i++)
        {
            int band = p.Parts[i] * p.Inner;
            if (ctx.Node.Outputs[i].Length == 0 || band * p.Outer == 0)
                continue; // not requested, or empty
            string x = ctx.In(0), y = ctx.Out(i);
            if (p.Outer == 1)
            {
                w.Line($"{x}.Slice({CSharp.Int(start * p.Inner)}, {band}).CopyTo({y});");
                continue;
            }
            using (w.Block($"for (int o = 0; o < {p.Outer}; o++)"))
            {
                string from = StridedCopy.Offset(CSharp.Int(start * p.Inner), "o", row);
                string to = StridedCopy.Offset("0", "o", band);
                w.Line(band == 1 ? $"{y}[{to}] = {x}[{from}];" : $"{x}.Slice({from}, {band}).CopyTo({y}.Slice({to}, {band}));");
            }
        }
    }
}
