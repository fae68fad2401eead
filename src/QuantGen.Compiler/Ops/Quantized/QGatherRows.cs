using System;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops.Quantized;

/// <summary>
/// Gather of rows from an int8 table with one scale per row: y[j, :] = table[k, :] * scales[k] for k = indices[j]
/// (negative counting from the end; out of range throws, as Gather). What a large embedding table (a transformer's
/// token embeddings: 30522 x 768 in BERT-base, a fifth of its weights) becomes in INT8: a quarter of the bytes, and the
/// rows come out in float exactly as <see cref="Quantization.PerChannelWeights"/> dequantizes them (q * scale in float).
/// Inputs: table (int8 [D, N], constant), indices (int64 or int32, run time), scales (float [D], constant).
/// Output: float, indices' shape + [N]. The quantization passes make it from Gather (see QuantizeEmbeddings).
/// </summary>
public sealed class QGatherRows : Operator
{
    public override string OpType => "QGatherRows";

    private static (int D, int N, int Count) Dims(OpContext ctx)
    {
        var table = ctx.InputShapeOrFail(0);
        if (table.Length != 2) throw ctx.ShapeError("the table must be a matrix");
        return (table[0], table[1], Shapes.ElementCount(ctx.InputShapeOrFail(1)));
    }

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.Int8);
        ctx.RequireType(1, DataType.Int64, DataType.Int32);
        ctx.RequireType(2, DataType.Float);
        var (d, n, _) = Dims(ctx);
        if (Shapes.ElementCount(ctx.InputShapeOrFail(2)) != d) throw ctx.ShapeError($"scales must hold one value per row ({d})");
        var indices = ctx.InputShapeOrFail(1);
        var shape = new int[indices.Length + 1];
        Array.Copy(indices, shape, indices.Length);
        shape[indices.Length] = n;
        ctx.SetOutput(0, DataType.Float, shape);
    }

    public override string Describe(OpContext ctx)
    {
        var (d, n, count) = Dims(ctx);
        return $"{count} row(s) of a {d}x{n} int8 table, scale per row";
    }

    public override void Evaluate(EvalContext ctx)
    {
        var (d, n, count) = Dims(ctx);
        var table = ctx.Input(0).Longs!;
        var indices = ctx.Input(1).AsLongs();
        var scales = ctx.Input(2).Floats!;
        var y = new float[count * n];
        for (int j = 0; j < count; j++)
        {
            long k = indices[j] < 0 ? indices[j] + d : indices[j];
            if (k < 0 || k >= d) throw ctx.Invalid($"index {indices[j]} at element {j} is outside [-{d}, {d - 1}]");
            for (int r = 0; r < n; r++) y[j * n + r] = (float)table[k * n + r] * scales[k];
        }
        var shape = new int[ctx.Input(1).Shape.Length + 1];
        Array.Copy(ctx.Input(1).Shape, shape, shape.Length - 1);
        shape[shape.Length - 1] = n;
        ctx.SetOutput(0, Tensor.FromFloats(shape, y));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var (d, n, count) = Dims(ctx);
        var w = ctx.W;
        string table = ctx.In(0), indices = ctx.In(1), scales = ctx.In(2), y = ctx.Out(0);
        w.Line($"// {count} row(s) of {n} from the int8 table at run-time indices, each times its row's scale.");
        using (w.Block($"for (int j = 0; j < {count}; j++)"))
        {
            Gather.EmitIndex(ctx, indices, "j", d, 0);
            w.Line($"{ctx.Helper(KernelHelpers.DequantizeRowS8)}({table}.Slice((int)k * {n}, {n}), {scales}[(int)k], {y}.Slice(j * {n}, {n}));");
        }
    }
}
