using System.Linq;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>Concat: joins any number of tensors along <c>axis</c> (negative counts from the end); float or integer.</summary>
public sealed class Concat : Operator
{
    public override string OpType => "Concat";

    private static (int Axis, int[] Shape) Read(OpContext ctx)
    {
        if (ctx.InputCount == 0)
            throw ctx.Invalid("it has no inputs");
        var first = ctx.InputShapeOrFail(0);
        if (first.Length == 0)
            throw ctx.ShapeError("cannot concatenate scalars (inputs must have rank 1 or more)");
        int axis = ctx.Axis(ctx.Int("axis"), first.Length);
        var shape = (int[])first.Clone();
        for (int i = 1; i < ctx.InputCount; i++)
        {
            var s = ctx.InputShapeOrFail(i);
            if (ctx.InputType(i) != ctx.InputType(0))
                throw ctx.Invalid($"input {i} is {ctx.InputType(i)} but input 0 is {ctx.InputType(0)}");
            bool compatible = s.Length == first.Length && Enumerable.Range(0, s.Length).All(d => d == axis || s[d] == first[d]);
            if (!compatible)
                throw ctx.ShapeError($"input {i} of shape {Shapes.Format(s)} does not match input 0 of shape {Shapes.Format(first)} outside axis {axis}");
            shape[axis] += s[axis];
        }
        return (axis, shape);
    }

    public override void InferShapes(ShapeContext ctx)
    {
        for (int i = 0; i < ctx.InputCount; i++) ctx.RequireType(i, TensorIndexing.AnyType);
        var (_, shape) = Read(ctx);
        ctx.SetOutput(0, ctx.InputType(0), shape);
    }

    public override string Describe(OpContext ctx) => $"{ctx.InputCount} inputs, axis {Read(ctx).Axis}";

    public override void Evaluate(EvalContext ctx)
    {
        var (axis, shape) = Read(ctx);
        var inputs = Enumerable.Range(0, ctx.InputCount).Select(ctx.Input).ToArray();
        var owner = new int[shape[axis]];
        var local = new int[shape[axis]];
        for (int i = 0, at = 0; i < inputs.Length; i++)
            for (int k = 0; k < inputs[i].Shape[axis]; k++, at++)
            {
                owner[at] = i;
                local[at] = k;
            }
        var strides = inputs.Select(t => Shapes.Strides(t.Shape)).ToArray();
        int n = Shapes.ElementCount(shape);
        var idx = new int[shape.Length];
        bool isFloat = inputs[0].Type == DataType.Float;
        var floats = isFloat ? new float[n] : null;
        var longs = isFloat ? null : new long[n];
        for (int e = 0; e < n; e++)
        {
            int i = owner[idx[axis]];
            int offset = 0;
            for (int d = 0; d < idx.Length; d++) offset += (d == axis ? local[idx[d]] : idx[d]) * strides[i][d];
            if (isFloat) floats![e] = inputs[i].Floats![offset];
            else longs![e] = inputs[i].Longs![offset];
            for (int d = idx.Length - 1; d >= 0; d--)
            {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        ctx.SetOutput(0, new Tensor(inputs[0].Type, shape, floats, longs));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var (axis, shape) = Read(ctx);
        var w = ctx.W;
        // Seen as [outer, band]: each input fills a band of every output row.
        int outer = Shapes.ElementCount(shape.Take(axis).ToArray());
        int inner = Shapes.ElementCount(shape.Skip(axis + 1).ToArray());
        int row = shape[axis] * inner;
        if (outer * row == 0)
        {
            w.Line("// Nothing to copy: the output is empty.");
            return;
        }
        w.Line(outer == 1
            ? $"// Copies each input to its place in the output, one after another along axis {axis}."
            : $"// For each of the {outer} output rows, copies each input's band (along axis {axis}) in turn.");
        using (outer > 1 ? w.Block($"for (int o = 0; o < {outer}; o++)") : null)
        {
            int at = 0;
            for (int i = 0; i < ctx.InputCount; i++)
            {
                int band = ctx.InputShape(i)[axis] * inner;
                if (band > 0)
                {
                    string from = outer > 1 ? StridedCopy.Offset("0", "o", band) : "0";
                    string to = outer > 1 ? StridedCopy.Offset(CSharp.Int(at), "o", row) : CSharp.Int(at);
                    string x = ctx.In(i), y = ctx.Out(0);
                    w.Line(band == 1 ? $"{y}[{to}] = {x}[{from}];" : $"{x}.Slice({from}, {band}).CopyTo({y}.Slice({to}, {band}));");
                }
                at += band;
            }
        }
    }
}
