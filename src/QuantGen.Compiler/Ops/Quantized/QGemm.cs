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

    private static int XBytes(int k) => k % 4 == 0 ? 0 : ((k + 3) / 4 * 4 + 63) / 64 * 64;

    private static int AccBytes(int n) => (n + 7) / 8 * 32;

    /// <summary>Rows the kernel takes at once: 4 when there are that many (see EmitKernel), else 1.</summary>
    private static int RowsAtOnce(int rows) => rows >= 4 ? 4 : 1;

    /// <summary>Copies of the input rows taken at once, padded to whole quads (only when K is not a multiple of 4), and their int32 accumulators.</summary>
    public override int ScratchBytes(OpContext ctx)
    {
        var (rows, k, n) = Dims(ctx);
        return RowsAtOnce(rows) * (XBytes(k) + AccBytes(n));
    }

    /// <summary>
    /// The weights packed for the inner loop: blocks of 8 output channels, and in each block, for every quad of 4
    /// consecutive k, the 8 channels' 4 weights side by side ([blocks][k4][8][4], zero-padded). One 32-byte load then
    /// feeds one dot-product instruction for 8 channels.
    /// </summary>
    internal static Tensor PackWeights(Tensor w, int n, int k)
    {
        int blocks = (n + 7) / 8, k4 = (k + 3) / 4;
        var packed = new long[blocks * k4 * 32];
        for (int c = 0; c < n; c++)
            for (int i = 0; i < k; i++)
                packed[((c / 8) * k4 + i / 4) * 32 + (c % 8) * 4 + i % 4] = w.Longs![c * k + i];
        return Tensor.FromLongs(DataType.Int8, new[] { blocks, k4, 8, 4 }, packed);
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var (rows, k, n) = Dims(ctx);
        var r = QConv.ReadRequant(ctx);
        var w = ctx.W;
        bool dynamic = QConv.IsDynamic(ctx);
        int blocks = (n + 7) / 8, k4 = (k + 3) / 4;
        string x = ctx.In(0), scratch = ctx.Scratch();
        var weights = ctx.InputConstant(1) ?? throw ctx.Unsupported("QGemm with weights that are not constant");
        string wt = ctx.Embed("packed", PackWeights(weights, n, k));
        if (dynamic) DynamicEpilogue.EmitPreamble(ctx);
        bool pad = XBytes(k) > 0;
        int accStride = AccBytes(n) / 4, full = rows - rows % 4, atOnce = RowsAtOnce(rows);
        if (full > 0)
        {
            w.Line($"// Input rows 4 at a time (each weight load feeds 4 rows){(rows > full ? ", the rest one by one" : "")}: int32 dot products with {n} weight rows");
            w.Line($"// ({k} terms; weights packed 8 channels x 4 k per 32 bytes), then {(dynamic ? "the float epilogue" : "requantized per channel")}.");
        }
        else
        {
            w.Line($"// Per input row: int32 dot products with {n} weight rows ({k} terms; weights packed 8 channels x 4 k per 32 bytes),");
            w.Line(dynamic ? "// then the float epilogue." : "// then requantized per channel.");
        }
        if (pad)
        {
            w.Line($"// K = {k} is not a multiple of 4: rows are copied to whole quads, so the last quad reads bytes of this call (their weights are 0).");
            w.Line($"var rows = {scratch}.Slice(0, {atOnce * XBytes(k)});");
        }
        w.Line($"var acc = MemoryMarshal.Cast<byte, int>({scratch}.Slice({atOnce * XBytes(k)}, {atOnce * AccBytes(n)}));");
        if (full > 0)
        {
            using (w.Block($"for (int m = 0; m < {full}; m += 4)"))
            {
                if (pad)
                {
                    w.Line($"for (int r = 0; r < 4; r++) {x}.Slice((m + r) * {k}, {k}).CopyTo(rows.Slice(r * {XBytes(k)}));");
                    w.Line($"{ctx.Helper(KernelHelpers.GemvRows4U8S8)}(rows, {XBytes(k)}, {wt}, acc, {accStride}, {blocks}, {k4});");
                }
                else
                {
                    w.Line($"{ctx.Helper(KernelHelpers.GemvRows4U8S8)}({x}.Slice(m * {k}, {4 * k}), {k}, {wt}, acc, {accStride}, {blocks}, {k4});");
                }
                using (w.Block("for (int r = 0; r < 4; r++)"))
                    EmitRowEpilogue(ctx, "m + r", $"r * {accStride}", n, r, dynamic);
            }
        }
        if (rows > full)
        {
            using (w.Block(full == 0 ? $"for (int m = 0; m < {rows}; m++)" : $"for (int m = {full}; m < {rows}; m++)"))
            {
                if (pad) w.Line($"{x}.Slice(m * {k}, {k}).CopyTo(rows);");
                string input = pad ? "rows" : $"{x}.Slice(m * {k}, {k})";
                w.Line($"{ctx.Helper(KernelHelpers.GemvU8S8)}({input}, {wt}, acc, {blocks}, {k4});");
                EmitRowEpilogue(ctx, "m", "0", n, r, dynamic);
            }
        }
    }

    /// <summary>Row <paramref name="row"/>'s outputs from its int32 sums at acc[<paramref name="accOffset"/>...]: requantized, or the dynamic float epilogue.</summary>
    private static void EmitRowEpilogue(KernelContext ctx, string row, string accOffset, int n, QConv.Requant r, bool dynamic)
    {
        string y = ctx.Out(0);
        if (dynamic)
        {
            using (ctx.W.Block($"for (int n = 0; n < {n}; n++)"))
                DynamicEpilogue.EmitStore(ctx, $"{y}[{Grouped(row)} * {n} + n]", accOffset == "0" ? "acc[n]" : $"acc[{accOffset} + n]", "n");
        }
        else
        {
            string sums = accOffset == "0" ? $"acc.Slice(0, {n})" : $"acc.Slice({accOffset}, {n})";
            ctx.W.Line($"{ctx.Helper(KernelHelpers.RequantizeChannelsU8)}({sums}, {y}.Slice({Grouped(row)} * {n}, {n}), {ctx.In(2)}, {ctx.In(3)}, {ctx.In(4)}, {r.YZero}, {r.Min}, {r.Max});");
        }
    }

    private static string Grouped(string expression) => expression.Contains(" ") ? "(" + expression + ")" : expression;
}
