using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Quantization;

namespace QuantGen.Compiler.Ops.Quantized;

/// <summary>
/// INT8 product of two activations (attention's Q x K^T and softmax(scores) x V): A [..., M, K] uint8 (zero point
/// a_zero_point) by B [..., K, N] uint8 (b_zero_point), the batch dimensions broadcasting as in ONNX MatMul (both inputs
/// of rank 2 or more). acc = Σ_k (a - z_a)(b - z_b) exactly in int32, then y = RequantizeToU8(acc, multiplier, shift,
/// y_zero_point, y_min, y_max) with the fixed-point form of s_a s_b / s_y.
/// <para>
/// Why the zero points are subtracted while widening (not expanded into Σab - z_a Σb - z_b Σa + K z_a z_b): B is an
/// activation, so its column sums would cost one more pass over B per call; the kernels widen to int16 anyway (the only
/// exact AVX2 route: uint8 x uint8 has no saturation-free byte instruction), and a - z_a, b - z_b in [-255, 255] fit
/// int16, so subtracting on the way costs one vector subtraction per 8 or 16 values and leaves the inner loop a bare
/// vpmaddwd + add. Each term is at most 255^2 = 65025 in size, so no sum wraps for K ≤ <see cref="MaxK"/>; the
/// quantizer refuses larger K (the reference would wrap like the kernels, but the result would mean nothing).
/// </para>
/// </summary>
public sealed class QMatMul : Operator
{
    /// <summary>The largest K whose sums cannot leave int32: K * 255^2 ≤ 2^31 - 1.</summary>
    public const int MaxK = int.MaxValue / (255 * 255);

    public override string OpType => "QMatMul";

    /// <summary>The integer parameters of one QMatMul.</summary>
    public readonly record struct Parameters(int AZero, int BZero, int YZero, int Multiplier, int Shift, int Min, int Max);

    internal static Parameters ReadParameters(OpContext ctx) => new(
        (int)ctx.Int("a_zero_point", 0), (int)ctx.Int("b_zero_point", 0), (int)ctx.Int("y_zero_point", 0),
        (int)ctx.Int("multiplier"), (int)ctx.Int("shift"), (int)ctx.Int("y_min", 0), (int)ctx.Int("y_max", 255));

    /// <summary>
    /// The requantization multiplier s_a s_b / s_y as fixed point, or null (with the reason) when 32-bit requantization
    /// cannot represent it.
    /// </summary>
    public static (int Multiplier, int Shift)? Requantization(QuantParams a, QuantParams b, QuantParams y, out string? reason)
    {
        double real = (double)a.Scale * b.Scale / y.Scale;
        reason = null;
        if (!(real > 0) || double.IsInfinity(real) || real >= 1 << 29)
        {
            reason = $"its output scale {y.Scale} is too small next to its inputs' ({a.Scale} x {b.Scale}) for 32-bit requantization";
            return null;
        }
        return QAdd.FixedPointOrZero(real);
    }

    /// <summary>MatMul's shape rule, for operands of rank 2 or more (no vector promotion).</summary>
    private static MatMul.Dims Read(OpContext ctx)
    {
        var a = ctx.InputShapeOrFail(0);
        var b = ctx.InputShapeOrFail(1);
        if (a.Length < 2 || b.Length < 2)
            throw ctx.ShapeError($"QMatMul needs inputs of rank 2 or more, got {Shapes.Format(a)} and {Shapes.Format(b)}");
        return MatMul.Read(ctx);
    }

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.UInt8);
        ctx.RequireType(1, DataType.UInt8);
        ctx.SetOutput(0, DataType.UInt8, Read(ctx).Output);
    }

    public override string Describe(OpContext ctx)
    {
        var d = Read(ctx);
        var p = ReadParameters(ctx);
        int batches = Shapes.ElementCount(d.Batch);
        return $"M={d.M} K={d.K} N={d.N}" + (batches > 1 ? $", {batches} batches" : "")
            + $", uint8 x uint8, zero points {p.AZero} x {p.BZero} -> {p.YZero}, clamp [{p.Min}, {p.Max}]";
    }

    /// <summary>The scalar definition: per batch (broadcast like MatMul), Σ_k (a - z_a)(b - z_b) in int32, requantized.</summary>
    public override void Evaluate(EvalContext ctx)
    {
        var d = Read(ctx);
        var p = ReadParameters(ctx);
        var a = ctx.Input(0).Longs!;
        var b = ctx.Input(1).Longs!;
        var mapA = Broadcasting.IndexMap(d.BatchA, d.Batch);
        var mapB = Broadcasting.IndexMap(d.BatchB, d.Batch);
        int mk = d.M * d.K, kn = d.K * d.N, mn = d.M * d.N;
        var y = new long[mapA.Length * mn];
        for (int t = 0; t < mapA.Length; t++)
            for (int i = 0; i < d.M; i++)
                for (int j = 0; j < d.N; j++)
                {
                    int acc = 0;
                    for (int q = 0; q < d.K; q++)
                        acc = unchecked(acc + ((int)a[mapA[t] * mk + i * d.K + q] - p.AZero) * ((int)b[mapB[t] * kn + q * d.N + j] - p.BZero));
                    y[t * mn + i * d.N + j] = QuantMath.RequantizeToU8(acc, p.Multiplier, p.Shift, p.YZero, p.Min, p.Max);
                }
        ctx.SetOutput(0, Tensor.FromLongs(DataType.UInt8, d.Output, y));
    }

    private static int Align(int bytes) => (bytes + 63) / 64 * 64;

    private static (int Acc, int Packed, int Rows) Scratch(MatMul.Dims d)
    {
        int kp = (d.K + 1) / 2;
        return (Align(d.M * d.N * 4), Align((d.N + 7) / 8 * kp * 16 * 2), Align(d.M * kp * 2 * 2));
    }

    /// <summary>int32 accumulators for one batch, B - z_b widened and packed (one batch), A - z_a widened (one batch).</summary>
    public override int ScratchBytes(OpContext ctx)
    {
        var (acc, packed, rows) = Scratch(Read(ctx));
        return acc + packed + rows;
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var d = Read(ctx);
        var p = ReadParameters(ctx);
        var w = ctx.W;
        string a = ctx.In(0), b = ctx.In(1), y = ctx.Out(0);
        if (Shapes.ElementCount(d.Output) == 0)
        {
            w.Line("// Nothing to compute: the output is empty.");
            return;
        }
        string scratch = ctx.Scratch();
        var (accBytes, packedBytes, rowBytes) = Scratch(d);
        int mk = d.M * d.K, kn = d.K * d.N, mn = d.M * d.N;
        w.Line($"// Per batch: int32 Σ_k (a - {p.AZero})(b - {p.BZero}) ({d.K} terms; zero points subtracted while widening to int16),");
        w.Line($"// then requantized by {p.Multiplier} * 2^-{p.Shift} (s_a s_b / s_y), zero point {p.YZero}, clamp [{p.Min}, {p.Max}].");
        w.Line($"var acc = MemoryMarshal.Cast<byte, int>({scratch}.Slice(0, {accBytes}));");
        w.Line($"var packed = MemoryMarshal.Cast<byte, short>({scratch}.Slice({accBytes}, {packedBytes}));");
        w.Line($"var rows = MemoryMarshal.Cast<byte, short>({scratch}.Slice({accBytes + packedBytes}, {rowBytes}));");

        var (dims, strides) = ElementwiseLoop.Collapse(d.Batch, new[]
        {
            Operand.FromSpan(a, d.BatchA), Operand.FromSpan(b, d.BatchB), Operand.FromSpan(y, d.Batch),
        });
        // B is packed once per distinct B matrix: a B broadcast over the innermost batch loops is packed once per use.
        bool bVaries = dims.Length > 0;
        if (bVaries) w.Line("int lastB = -1;");
        var closers = new List<IDisposable>();
        for (int i = 0; i < dims.Length; i++)
            closers.Add(w.Block($"for (int i{i} = 0; i{i} < {dims[i]}; i{i}++)"));
        var offsets = new[] { "ao", "bo", "yo" };
        var sizes = new[] { mk, kn, mn };
        var declared = new List<string>();
        for (int k = 0; k < 3; k++)
        {
            var terms = Enumerable.Range(0, dims.Length).Where(i => strides[k][i] != 0).Select(i => $"i{i} * {strides[k][i] * sizes[k]}").ToList();
            if (terms.Count == 0) offsets[k] = "0";
            else declared.Add($"{offsets[k]} = {string.Join(" + ", terms)}");
        }
        if (declared.Count > 0)
            w.Line($"int {string.Join(", ", declared)};");
        string ao = offsets[0], bo = offsets[1], yo = offsets[2];
        string packB = bVaries ? $"{bo} != lastB" : "true";
        w.Line($"{ctx.Helper(KernelHelpers.MatMulU8U8)}({a}.Slice({ao}, {mk}), {b}.Slice({bo}, {kn}), acc, {d.M}, {d.K}, {d.N}, {p.AZero}, {p.BZero}, packed, rows, {packB});");
        if (bVaries) w.Line($"lastB = {bo};");
        w.Line($"{ctx.Helper(KernelHelpers.RequantizeRowU8)}(acc.Slice(0, {mn}), {y}.Slice({yo}, {mn}), 0, {p.Multiplier}, {p.Shift}, {p.YZero}, {p.Min}, {p.Max});");
        for (int i = closers.Count - 1; i >= 0; i--)
            closers[i].Dispose();
    }
}
