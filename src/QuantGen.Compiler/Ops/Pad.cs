using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// Pad in the modes constant, reflect, edge and wrap (opset 19). Pads (and the constant value) come from attributes
/// before opset 11 and from build-time constant inputs from 11, with an optional <c>axes</c> input from 18. Negative
/// pads remove elements first; the padding modes then work on what remains, as ONNX Runtime does. Reflect needs pads
/// smaller than the axis (ONNX Runtime refuses more too); wrap may go round several times.
/// </summary>
public sealed class Pad : Operator
{
    public override string OpType => "Pad";

    public override bool IsRuntimeInput(int index) => index == 0;

    private enum Mode { Constant, Reflect, Edge, Wrap }

    /// <summary>
    /// Per dimension: elements cropped from the input's start, the size of what is kept, and the padding added
    /// before it (all non-negative), plus the output shape.
    /// </summary>
    private sealed record Plan(Mode Mode, double Value, int[] Crop, int[] Kept, int[] Before, int[] Output);

    private static Plan Read(OpContext ctx)
    {
        var shape = ctx.InputShapeOrFail(0);
        int rank = shape.Length;
        string modeName = ctx.String("mode", "constant");
        var mode = modeName switch
        {
            "constant" => Mode.Constant,
            "reflect" => Mode.Reflect,
            "edge" => Mode.Edge,
            "wrap" when ctx.Opset >= 19 => Mode.Wrap,
            _ => throw ctx.Invalid($"mode '{modeName}' is not one of constant, reflect, edge{(ctx.Opset >= 19 ? ", wrap" : "")}"),
        };

        long[] pads;
        double value = 0;
        long[]? axes = null;
        if (ctx.Opset < 11)
        {
            pads = ctx.Ints("pads") ?? throw ctx.Invalid("the required attribute 'pads' is missing");
            value = ctx.Float("value", 0f);
        }
        else
        {
            pads = ctx.RequireConstant(1, "pads").AsLongs();
            if (ctx.HasInput(2))
            {
                var v = ctx.RequireConstant(2, "constant_value");
                if (v.Length != 1) throw ctx.Invalid($"constant_value must be a scalar, got shape {Shapes.Format(v.Shape)}");
                if (v.Type != ctx.InputType(0)) throw ctx.Invalid($"constant_value is {v.Type} but the data is {ctx.InputType(0)}");
                value = v[0];
            }
            if (ctx.Opset >= 18 && ctx.HasInput(3))
                axes = ctx.RequireConstant(3, "axes").AsLongs();
        }

        axes ??= Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        if (pads.Length != 2 * axes.Length)
            throw ctx.Invalid($"pads has {pads.Length} entries; expected {2 * axes.Length} (begin and end for each of {axes.Length} axes)");
        var begin = new long[rank];
        var end = new long[rank];
        var seen = new bool[rank];
        for (int i = 0; i < axes.Length; i++)
        {
            int axis = ctx.Axis(axes[i], rank, "axes entry");
            if (seen[axis]) throw ctx.Invalid($"axis {axes[i]} appears twice in axes");
            seen[axis] = true;
            begin[axis] = pads[i];
            end[axis] = pads[i + axes.Length];
        }

        var crop = new int[rank];
        var kept = new int[rank];
        var before = new int[rank];
        var output = new int[rank];
        for (int d = 0; d < rank; d++)
        {
            long cropBegin = Math.Max(0, -begin[d]), cropEnd = Math.Max(0, -end[d]);
            long k = shape[d] - cropBegin - cropEnd;
            if (k < 0)
                throw ctx.ShapeError($"the negative pads {begin[d]}, {end[d]} remove more than the {shape[d]} elements of axis {d}");
            long padBegin = Math.Max(0, begin[d]), padEnd = Math.Max(0, end[d]);
            long size = k + padBegin + padEnd;
            if (size > int.MaxValue)
                throw ctx.ShapeError($"padding axis {d} gives {size} elements");
            if ((padBegin > 0 || padEnd > 0) && mode != Mode.Constant)
            {
                if (k == 0)
                    throw ctx.ShapeError($"axis {d} has no elements to {modeName}-pad from");
                if (mode == Mode.Reflect && Math.Max(padBegin, padEnd) >= k)
                    throw ctx.Unsupported($"reflect pads of {Math.Max(padBegin, padEnd)} on axis {d} of size {k} (reflect needs pads smaller than the axis)");
            }
            crop[d] = (int)cropBegin;
            kept[d] = (int)k;
            before[d] = (int)padBegin;
            output[d] = (int)size;
        }
        return new Plan(mode, value, crop, kept, before, output);
    }

    /// <summary>The kept-input coordinate that output coordinate <paramref name="o"/> reads (-1: the constant).</summary>
    private static int Source(Mode mode, int o, int before, int kept)
    {
        int i = o - before;
        if (i >= 0 && i < kept) return i;
        return mode switch
        {
            Mode.Edge => i < 0 ? 0 : kept - 1,
            Mode.Reflect => i < 0 ? -i : 2 * (kept - 1) - i,
            Mode.Wrap => ((i % kept) + kept) % kept,
            _ => -1,
        };
    }

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, TensorIndexing.AnyType);
        ctx.SetOutput(0, ctx.InputType(0), Read(ctx).Output);
    }

    public override string Describe(OpContext ctx)
    {
        var p = Read(ctx);
        string text = p.Mode.ToString().ToLowerInvariant();
        if (p.Mode == Mode.Constant && p.Value != 0) text += " " + p.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return text;
    }

    public override void Evaluate(EvalContext ctx)
    {
        var p = Read(ctx);
        var x = ctx.Input(0);
        var strides = Shapes.Strides(x.Shape);
        ctx.SetOutput(0, TensorIndexing.Take(x, p.Output, idx =>
        {
            int offset = 0;
            for (int d = 0; d < idx.Length; d++)
            {
                int s = Source(p.Mode, idx[d], p.Before[d], p.Kept[d]);
                if (s < 0) return -1;
                offset += (p.Crop[d] + s) * strides[d];
            }
            return offset;
        }, p.Value));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var p = Read(ctx);
        var w = ctx.W;
        string x = ctx.In(0), y = ctx.Out(0);
        var inStrides = Shapes.Strides(ctx.InputShape(0));
        var outStrides = Shapes.Strides(p.Output);
        int rank = p.Output.Length;
        if (Shapes.ElementCount(p.Output) == 0)
        {
            w.Line("// Nothing to write: the output is empty.");
            return;
        }

        if (p.Mode == Mode.Constant)
        {
            w.Line("// Fills the output with the pad value, then copies the kept input into its interior.");
            w.Line($"{y}.Fill({TensorIndexing.Literal(ctx.OutputType(0), p.Value)});");
            StridedCopy.Emit(w, x, y, p.Kept, inStrides, TensorIndexing.Offset(p.Crop, inStrides), outStrides, TensorIndexing.Offset(p.Before, outStrides));
            return;
        }

        // Edge, reflect and wrap: walk the output; each padded dimension maps its coordinate back into the input.
        w.Line($"// Walks the output; each padded coordinate maps back into the input ({p.Mode.ToString().ToLowerInvariant()} mode).");
        var closers = new List<IDisposable>();
        string offset = "";
        int constant = 0;
        w.Line("int o = 0;");
        for (int d = 0; d < rank; d++)
        {
            constant += p.Crop[d] * inStrides[d];
            if (p.Output[d] == 1)
                continue; // a single kept element (an empty axis makes the output empty, handled above)
            closers.Add(w.Block($"for (int i{d} = 0; i{d} < {p.Output[d]}; i{d}++)"));
            string coordinate = $"i{d}";
            if (p.Output[d] != p.Kept[d])
            {
                string s = $"s{d}";
                w.Line(p.Before[d] == 0 ? $"int {s} = i{d};" : $"int {s} = i{d} - {p.Before[d]};");
                w.Line(p.Mode switch
                {
                    Mode.Edge => $"if ({s} < 0) {s} = 0; else if ({s} >= {p.Kept[d]}) {s} = {p.Kept[d] - 1};",
                    Mode.Reflect => $"if ({s} < 0) {s} = -{s}; else if ({s} >= {p.Kept[d]}) {s} = {2 * (p.Kept[d] - 1)} - {s};",
                    _ when Math.Max(p.Before[d], p.Output[d] - p.Kept[d] - p.Before[d]) <= p.Kept[d] =>
                        $"if ({s} < 0) {s} += {p.Kept[d]}; else if ({s} >= {p.Kept[d]}) {s} -= {p.Kept[d]};",
                    _ => $"{s} = ({s} % {p.Kept[d]} + {p.Kept[d]}) % {p.Kept[d]}; // wraps more than once",
                });
                coordinate = s;
            }
            string term = inStrides[d] == 1 ? coordinate : $"{coordinate} * {inStrides[d]}";
            offset = offset.Length == 0 ? term : $"{offset} + {term}";
            if (d < rank - 1)
            {
                w.Line($"int xo{d} = {offset};");
                offset = $"xo{d}";
            }
        }
        string index = offset.Length == 0 ? CSharp.Int(constant) : constant == 0 ? offset : $"{offset} + {constant}";
        w.Line($"{y}[o++] = {x}[{index}];");
        for (int i = closers.Count - 1; i >= 0; i--)
            closers[i].Dispose();
    }
}
