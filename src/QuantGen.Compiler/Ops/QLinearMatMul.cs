using System;
using System.Linq;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// The product of MatMulInteger and QLinearMatMul: NumPy MatMul shapes (batches broadcast, 1-D A is a row, 1-D B a
/// column), int32 sums of (a - a_zero_point[row]) * (b - b_zero_point[column]).
/// </summary>
internal sealed class IntegerProduct
{
    public int M, K, N;
    public int[] Output = null!;
    public int[] AOffsets = null!, BOffsets = null!;   // first element of each output batch's A and B matrices
    public int A, B;
    public DataType AType, BType;
    public int[] AZero = null!, BZero = null!;

    public static IntegerProduct Read(OpContext ctx, int a, int aZero, int b, int bZero)
    {
        var sa = ctx.InputShapeOrFail(a);
        var sb = ctx.InputShapeOrFail(b);
        if (sa.Length == 0 || sb.Length == 0)
            throw ctx.ShapeError($"the inputs need rank 1 or more, got {Shapes.Format(sa)} and {Shapes.Format(sb)}");
        int m = sa.Length == 1 ? 1 : sa[sa.Length - 2], k = sa[sa.Length - 1];
        int kb = sb.Length == 1 ? sb[0] : sb[sb.Length - 2], n = sb.Length == 1 ? 1 : sb[sb.Length - 1];
        if (k != kb)
            throw ctx.ShapeError($"A {Shapes.Format(sa)} has {k} columns but B {Shapes.Format(sb)} has {kb} rows");
        var batchA = sa.Take(Math.Max(0, sa.Length - 2)).ToArray();
        var batchB = sb.Take(Math.Max(0, sb.Length - 2)).ToArray();
        var batch = Shapes.Broadcast(batchA, batchB)
            ?? throw ctx.ShapeError($"the batch dimensions of A {Shapes.Format(sa)} and B {Shapes.Format(sb)} do not broadcast");
        var p = new IntegerProduct
        {
            M = m, K = k, N = n, A = a, B = b,
            Output = batch.Concat(sa.Length > 1 ? new[] { m } : new int[0]).Concat(sb.Length > 1 ? new[] { n } : new int[0]).ToArray(),
            AOffsets = Broadcasting.IndexMap(batchA, batch).Select(i => i * m * k).ToArray(),
            BOffsets = Broadcasting.IndexMap(batchB, batch).Select(i => i * k * n).ToArray(),
            AType = ctx.InputType(a), BType = ctx.InputType(b),
        };
        IntegerOps.Range(ctx, p.AType);
        IntegerOps.Range(ctx, p.BType);
        p.AZero = IntegerOps.ZeroPoints(ctx, aZero, p.AType, m, "a zero point");
        p.BZero = IntegerOps.ZeroPoints(ctx, bZero, p.BType, n, "b zero point");
        return p;
    }

    public string Describe() => $"M={M} K={K} N={N}{(AOffsets.Length > 1 ? $", {AOffsets.Length} batches" : "")}, {AType} x {BType}";

    /// <summary>The int32 accumulators in output order.</summary>
    public int[] Accumulate(EvalContext ctx)
    {
        var a = ctx.Input(A).Longs!;
        var b = ctx.Input(B).Longs!;
        var acc = new int[AOffsets.Length * M * N];
        for (int batch = 0, o = 0; batch < AOffsets.Length; batch++)
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++)
                {
                    int sum = 0;
                    for (int t = 0; t < K; t++)
                        sum += ((int)a[AOffsets[batch] + i * K + t] - AZero[i]) * ((int)b[BOffsets[batch] + t * N + j] - BZero[j]);
                    acc[o++] = sum;
                }
        return acc;
    }

    /// <summary>Writes the loops; <paramref name="store"/> writes the statement storing <c>acc</c> (column <c>j</c>) into <c>yr[j]</c>.</summary>
    public void Emit(KernelContext ctx, Action<SourceWriter> store)
    {
        var w = ctx.W;
        string a = ctx.In(A), b = ctx.In(B), y = ctx.Out(0);
        if (AOffsets.Length * M * N == 0)
        {
            w.Line("// Nothing to compute: the output is empty.");
            return;
        }
        bool rowZeros = AZero.Distinct().Count() > 1, columnZeros = BZero.Distinct().Count() > 1;
        if (rowZeros) w.Line(IntegerOps.IntTable("azero", AZero));
        if (columnZeros) w.Line(IntegerOps.IntTable("bzero", BZero));
        if (AOffsets.Length > 1)
        {
            w.Line(IntegerOps.IntTable("aoff", AOffsets));
            w.Line(IntegerOps.IntTable("boff", BOffsets));
        }
        w.Line($"// int32 sums of (a - a zero point) * (b - b zero point) over {K} terms.");
        using (w.Block($"for (int batch = 0; batch < {AOffsets.Length}; batch++)"))
        {
            w.Line(AOffsets.Length > 1 ? "int ao = aoff[batch], bo = boff[batch];" : "int ao = 0, bo = 0;");
            using (w.Block($"for (int i = 0; i < {M}; i++)"))
            {
                w.Line($"var ar = {a}.Slice(ao + i * {K}, {K});");
                w.Line($"var yr = {y}.Slice((batch * {M} + i) * {N}, {N});");
                w.Line($"int az = {(rowZeros ? "azero[i]" : IntegerOps.Int(AZero[0]))};");
                using (w.Block($"for (int j = 0; j < {N}; j++)"))
                {
                    w.Line($"int bz = {(columnZeros ? "bzero[j]" : IntegerOps.Int(BZero[0]))};");
                    w.Line("int acc = 0;");
                    w.Line($"for (int t = 0; t < {K}; t++) acc += (ar[t] - az) * ({b}[bo + t * {N} + j] - bz);");
                    store(w);
                }
            }
        }
    }
}

/// <summary>ONNX MatMulInteger (opset 10): int32 y = Σ (a - a_zero_point)(b - b_zero_point), MatMul shapes, uint8/int8 inputs.</summary>
public sealed class MatMulInteger : Operator
{
    public override string OpType => "MatMulInteger";

    public override bool IsRuntimeInput(int index) => index is 0 or 1;

    private static IntegerProduct Read(OpContext ctx) => IntegerProduct.Read(ctx, 0, 2, 1, 3);

    public override void InferShapes(ShapeContext ctx) => ctx.SetOutput(0, DataType.Int32, Read(ctx).Output);

    public override string Describe(OpContext ctx) => Read(ctx).Describe() + " -> int32";

    public override void Evaluate(EvalContext ctx)
    {
        var p = Read(ctx);
        ctx.SetOutput(0, Tensor.FromLongs(DataType.Int32, p.Output, Array.ConvertAll(p.Accumulate(ctx), v => (long)v)));
    }

    public override void EmitKernel(KernelContext ctx) => Read(ctx).Emit(ctx, w => w.Line("yr[j] = acc;"));
}

/// <summary>
/// ONNX QLinearMatMul (opset 10): y = saturate(round(Σ (a - a_zp)(b - b_zp) * (a_scale * b_scale[n] / y_scale)) + y_zp),
/// MatMul shapes, uint8/int8, per-tensor or per-column b scales, with QLinear's float requantization (see <see cref="IntegerOps"/>).
/// </summary>
public sealed class QLinearMatMul : Operator
{
    public override string OpType => "QLinearMatMul";

    public override bool IsRuntimeInput(int index) => index is 0 or 3;

    private static (IntegerProduct Product, float[] Multipliers, int YZero, DataType YType, int Min, int Max) Read(OpContext ctx)
    {
        var p = IntegerProduct.Read(ctx, 0, 2, 3, 5);
        float aScale = IntegerOps.Scales(ctx, 1, 1, "a scale")[0];
        var bScales = IntegerOps.Scales(ctx, 4, p.N, "b scale");
        float yScale = IntegerOps.Scales(ctx, 6, 1, "y scale")[0];
        var yType = ctx.HasInput(7) ? ctx.InputType(7) : DataType.UInt8;
        var (min, max) = IntegerOps.Range(ctx, yType);
        int yZero = IntegerOps.ZeroPoints(ctx, 7, yType, 1, "y zero point")[0];
        return (p, IntegerOps.Multipliers(aScale, bScales, yScale), yZero, yType, min, max);
    }

    public override void InferShapes(ShapeContext ctx)
    {
        var r = Read(ctx);
        ctx.SetOutput(0, r.YType, r.Product.Output);
    }

    public override string Describe(OpContext ctx)
    {
        var r = Read(ctx);
        return $"{r.Product.Describe()} -> {r.YType}, zero point {r.YZero}";
    }

    public override void Evaluate(EvalContext ctx)
    {
        var r = Read(ctx);
        var acc = r.Product.Accumulate(ctx);
        var y = new long[acc.Length];
        for (int i = 0; i < y.Length; i++)
            y[i] = IntegerOps.Requantize(acc[i], r.Multipliers[i % r.Product.N], r.YZero, r.Min, r.Max);
        ctx.SetOutput(0, Tensor.FromLongs(r.YType, r.Product.Output, y));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var r = Read(ctx);
        bool perColumn = r.Multipliers.Distinct().Count() > 1;
        if (perColumn) ctx.W.Line(IntegerOps.FloatTable("multipliers", r.Multipliers));
        string m = perColumn ? "multipliers[j]" : CSharp.Float(r.Multipliers[0]);
        r.Product.Emit(ctx, w => w.Line(IntegerOps.EmitRequantize("yr[j]", "acc", m, r.YZero, r.Min, r.Max, r.YType)));
    }
}
