using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Quantization;

namespace QuantGen.Compiler.Ops.Quantized;

/// <summary>
/// INT8 matrix product with constant weights (what Gemm and MatMul with a constant B become):
/// y[.., n] = requantize(bias[n] + Σ_k x[.., k] * w[n, k]). Inputs: x (uint8, [..., K]), w (int8, N x K: one row per
/// output channel), bias (int32 [N], zero-point term folded in), multiplier and shift (int32 [N]).
/// Attributes: x_zero_point, y_zero_point, y_min, y_max. In dynamic mode (dynamic = 1) the output is float and inputs
/// 2..5 are those of <see cref="DynamicEpilogue"/>.
/// </summary>
public sealed class QGemm : Operator
{
    public override string OpType => "QGemm";
    public override bool CanFuseActivation => true;

    private static (int Rows, int K, int N) Dims(OpContext ctx)
    {
        var x = ctx.InputShapeOrFail(0);
        var w = ctx.InputShapeOrFail(1);
        if (x.Length < 1 || w.Length != 2 || x[x.Length - 1] != w[1])
            throw ctx.ShapeError($"x {Shapes.Format(x)} and w {Shapes.Format(w)} do not multiply");
        return (Shapes.ElementCount(x) / w[1], w[1], w[0]);
    }

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.UInt8);
        ctx.RequireType(1, DataType.Int8);
        var x = ctx.InputShape(0);
        var shape = (int[])x.Clone();
        shape[shape.Length - 1] = Dims(ctx).N;
        ctx.SetOutput(0, QConv.IsDynamic(ctx) ? DataType.Float : DataType.UInt8, shape);
    }

    public override string Describe(OpContext ctx)
    {
        var (rows, k, n) = Dims(ctx);
        var r = QConv.ReadRequant(ctx);
        return QConv.IsDynamic(ctx) ? $"M={rows} K={k} N={n}, uint8 x int8, float output" : $"M={rows} K={k} N={n}, uint8 x int8, zero points {r.XZero} -> {r.YZero}, clamp [{r.Min}, {r.Max}]";
    }

    public override void Evaluate(EvalContext ctx)
    {
        var (rows, k, n) = Dims(ctx);
        var r = QConv.ReadRequant(ctx);
        bool dynamic = QConv.IsDynamic(ctx);
        var epilogue = dynamic ? DynamicEpilogue.Read(ctx) : null;
        var x = ctx.Input(0).Longs!;
        var w = ctx.Input(1).Longs!;
        var bias = dynamic ? null : ctx.Input(2).Longs!;
        var mult = dynamic ? null : ctx.Input(3).Longs!;
        var shift = dynamic ? null : ctx.Input(4).Longs!;
        var y = new long[rows * n];
        var yf = new float[rows * n];
        for (int m = 0; m < rows; m++)
            for (int j = 0; j < n; j++)
            {
                int acc = dynamic ? 0 : (int)bias![j];
                for (int i = 0; i < k; i++) acc += (int)x[m * k + i] * (int)w[j * k + i];
                if (dynamic) yf[m * n + j] = epilogue!.Apply(acc, j, ctx.Node.Activation);
                else y[m * n + j] = QuantMath.RequantizeToU8(acc, (int)mult![j], (int)shift![j], r.YZero, r.Min, r.Max);
            }
        var shape = (int[])ctx.Input(0).Shape.Clone();
        shape[shape.Length - 1] = n;
        ctx.SetOutput(0, dynamic ? Tensor.FromFloats(shape, yf) : Tensor.FromLongs(DataType.UInt8, shape, y));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var (rows, k, n) = Dims(ctx);
        var r = QConv.ReadRequant(ctx);
        var w = ctx.W;
        bool dynamic = QConv.IsDynamic(ctx);
        string x = ctx.In(0), wt = ctx.In(1), y = ctx.Out(0);
        if (dynamic) DynamicEpilogue.EmitPreamble(ctx);
        w.Line($"// Each output: int32 dot product of a uint8 input row and an int8 weight row ({k} terms), then requantized.");
        using (w.Block($"for (int m = 0; m < {rows}; m++)"))
        {
            w.Line($"var row = {x}.Slice(m * {k}, {k});");
            using (w.Block($"for (int n = 0; n < {n}; n++)"))
            {
                w.Line($"var wn = {wt}.Slice(n * {k}, {k});");
                w.Line(dynamic ? "int acc = 0;" : $"int acc = {ctx.In(2)}[n];");
                w.Line($"acc += {ctx.Helper(KernelHelpers.DotU8S8)}(row, wn);");
                if (dynamic)
                    DynamicEpilogue.EmitStore(ctx, $"{y}[m * {n} + n]", "acc", "n");
                else
                    w.Line($"{y}[m * {n} + n] = {ctx.Helper(KernelHelpers.RequantizeToU8)}(acc, {ctx.In(3)}[n], {ctx.In(4)}[n], {r.YZero}, {r.Min}, {r.Max});");
            }
        }
    }
}
