using System;
using System.Linq;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// Trilu: keeps the upper (upper = 1, the default) or lower triangle of each matrix in the last two dimensions and
/// zeroes the rest. Element (i, j) is kept when j - i &gt;= k (upper) or j - i &lt;= k (lower); k is an optional build-time
/// scalar (default 0). Causal masks built from a constant fold.
/// </summary>
public sealed class Trilu : Operator
{
    public override string OpType => "Trilu";

    public override bool IsRuntimeInput(int index) => index == 0;

    private readonly record struct Geometry(bool Upper, long K, int Batch, int Rows, int Columns);

    private static Geometry Read(OpContext ctx)
    {
        var shape = ctx.InputShapeOrFail(0);
        if (shape.Length < 2)
            throw ctx.ShapeError($"the input must have rank 2 or more, got shape {Shapes.Format(shape)}");
        long upper = ctx.Int("upper", 1);
        if (upper is not (0 or 1))
            throw ctx.Invalid($"upper is {upper}, expected 0 or 1");
        long k = 0;
        if (ctx.HasInput(1))
        {
            var t = ctx.RequireConstant(1, "k");
            if (t.Length != 1 || t.Type != DataType.Int64)
                throw ctx.Invalid($"k must be an int64 scalar, got {t.Type} of shape {Shapes.Format(t.Shape)}");
            // Beyond ±(rows + columns) every k keeps or drops everything alike: clamping avoids overflow in i + k.
            long bound = (long)shape[shape.Length - 2] + shape[shape.Length - 1];
            k = Math.Max(-bound, Math.Min(bound, t.Longs![0]));
        }
        int rows = shape[shape.Length - 2], columns = shape[shape.Length - 1];
        return new Geometry(upper == 1, k, Shapes.ElementCount(shape.Take(shape.Length - 2).ToArray()), rows, columns);
    }

    /// <summary>Row i keeps columns [0, split) (lower) or [split, Columns) (upper).</summary>
    private static int Split(Geometry g, int row) =>
        (int)Math.Max(0, Math.Min(g.Columns, g.Upper ? row + g.K : row + g.K + 1));

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, TensorIndexing.AnyType);
        Read(ctx);
        ctx.SetOutput(0, ctx.InputType(0), ctx.InputShape(0));
    }

    public override string Describe(OpContext ctx)
    {
        var g = Read(ctx);
        return $"{(g.Upper ? "upper" : "lower")}, k {g.K}";
    }

    public override void Evaluate(EvalContext ctx)
    {
        var g = Read(ctx);
        var x = ctx.Input(0);
        int columns = Math.Max(1, g.Columns), rows = Math.Max(1, g.Rows);
        bool Kept(int e)
        {
            int split = Split(g, e / columns % rows);
            return g.Upper ? e % columns >= split : e % columns < split;
        }
        ctx.SetOutput(0, x.Type == DataType.Float
            ? Tensor.FromFloats(x.Shape, x.Floats!.Select((v, e) => Kept(e) ? v : 0f).ToArray())
            : Tensor.FromLongs(x.Type, x.Shape, x.Longs!.Select((v, e) => Kept(e) ? v : 0L).ToArray()));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var g = Read(ctx);
        var w = ctx.W;
        string x = ctx.In(0), y = ctx.Out(0);
        if (g.Batch * g.Rows * g.Columns == 0)
        {
            w.Line("// The input is empty.");
            return;
        }
        w.Line($"// Row i of each {g.Rows}x{g.Columns} matrix keeps columns {(g.Upper ? $"j >= i + {g.K}" : $"j <= i + {g.K}")}; the others become 0.");
        using (g.Batch > 1 ? w.Block($"for (int b = 0; b < {g.Batch * g.Rows * g.Columns}; b += {g.Rows * g.Columns})") : null)
        using (w.Block($"for (int i = 0; i < {g.Rows}; i++)"))
        {
            string b = g.Batch > 1 ? "b + " : "";
            long offset = g.Upper ? g.K : g.K + 1;
            w.Line($"int row = {b}i * {g.Columns};");
            w.Line($"int split = (int)Math.Clamp(i + {CSharp.Long(offset)}, 0L, {g.Columns}L);");
            if (g.Upper)
            {
                w.Line($"{y}.Slice(row, split).Clear();");
                w.Line($"{x}.Slice(row + split, {g.Columns} - split).CopyTo({y}.Slice(row + split, {g.Columns} - split));");
            }
            else
            {
                w.Line($"{x}.Slice(row, split).CopyTo({y}.Slice(row, split));");
                w.Line($"{y}.Slice(row + split, {g.Columns} - split).Clear();");
            }
        }
    }
}
