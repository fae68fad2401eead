using System;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Quantization;

namespace QuantGen.Compiler.Ops.Quantized;

/// <summary>
/// INT8 addition of two uint8 tensors of one shape with their own scales and zero points (TensorFlow Lite's integer
/// add): each input, minus its zero point and shifted left by <see cref="LeftShift"/> bits, is scaled by the
/// fixed-point multiplier s_in / (2 max(s_a, s_b)); the sum is requantized by 2 max(s_a, s_b) / (2^20 s_y), the output
/// zero point added and the result clamped to [y_min, y_max] (a fused Relu or Clip). Integer arithmetic only.
/// Attributes: a_zero_point, b_zero_point, y_zero_point, a_multiplier, a_shift, b_multiplier, b_shift,
/// y_multiplier, y_shift, y_min, y_max (see <see cref="Parameters"/>).
/// </summary>
public sealed class QAdd : Operator
{
    /// <summary>Headroom bits: (q - z) &lt;&lt; 20 stays below 2^28, and the scaled inputs below 2^27.</summary>
    public const int LeftShift = 20;

    public override string OpType => "QAdd";

    /// <summary>The integer parameters of one QAdd.</summary>
    public readonly record struct Parameters(
        int AZero, int AMultiplier, int AShift,
        int BZero, int BMultiplier, int BShift,
        int YZero, int YMultiplier, int YShift,
        int Min, int Max)
    {
        /// <summary>The scalar definition every QAdd kernel follows.</summary>
        public byte Apply(int a, int b)
        {
            int sa = QuantMath.Requantize((a - AZero) << LeftShift, AMultiplier, AShift);
            int sb = QuantMath.Requantize((b - BZero) << LeftShift, BMultiplier, BShift);
            return QuantMath.RequantizeToU8(sa + sb, YMultiplier, YShift, YZero, Min, Max);
        }
    }

    /// <summary>
    /// The parameters adding tensors quantized with <paramref name="a"/> and <paramref name="b"/> into <paramref name="y"/>;
    /// null (with the reason) when the output multiplier is too large for 32-bit fixed point (s_y tiny next to the inputs').
    /// </summary>
    public static Parameters? Compute(QuantParams a, QuantParams b, QuantParams y, int min, int max, out string? reason)
    {
        double twiceMax = 2.0 * Math.Max(a.Scale, b.Scale);
        var (am, ash) = FixedPointOrZero(a.Scale / twiceMax);
        var (bm, bsh) = FixedPointOrZero(b.Scale / twiceMax);
        double outReal = twiceMax / ((1L << LeftShift) * (double)y.Scale);
        reason = null;
        if (outReal >= 1L << 29)
        {
            reason = $"its output scale {y.Scale} is too small next to its inputs' ({a.Scale}, {b.Scale}) for 32-bit requantization";
            return null;
        }
        var (ym, ysh) = FixedPointOrZero(outReal);
        return new Parameters(a.ZeroPoint, am, ash, b.ZeroPoint, bm, bsh, y.ZeroPoint, ym, ysh, min, max);
    }

    /// <summary>
    /// <see cref="QuantMath.FixedPoint"/>, except that a multiplier below 2^-32 (which turns any |x| &lt; 2^28 into 0,
    /// ties up included) becomes multiplier 0, shift 1: exactly what it would compute.
    /// </summary>
    internal static (int Multiplier, int Shift) FixedPointOrZero(double m) =>
        m < 1.0 / (1L << 32) ? (0, 1) : QuantMath.FixedPoint(m);

    /// <summary>The attributes a_zero_point ... y_max, each name with <paramref name="prefix"/> in front (a QConv that absorbed a QAdd keeps them as add_...).</summary>
    internal static Parameters Read(OpContext ctx, string prefix = "") => new(
        (int)ctx.Int(prefix + "a_zero_point", 0), (int)ctx.Int(prefix + "a_multiplier"), (int)ctx.Int(prefix + "a_shift"),
        (int)ctx.Int(prefix + "b_zero_point", 0), (int)ctx.Int(prefix + "b_multiplier"), (int)ctx.Int(prefix + "b_shift"),
        (int)ctx.Int(prefix + "y_zero_point", 0), (int)ctx.Int(prefix + "y_multiplier"), (int)ctx.Int(prefix + "y_shift"),
        (int)ctx.Int(prefix + "y_min", 0), (int)ctx.Int(prefix + "y_max", 255));

    /// <summary>The attribute names of <see cref="Read"/>.</summary>
    internal static readonly string[] AttributeNames =
    {
        "a_zero_point", "a_multiplier", "a_shift", "b_zero_point", "b_multiplier", "b_shift",
        "y_zero_point", "y_multiplier", "y_shift", "y_min", "y_max",
    };

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.UInt8);
        ctx.RequireType(1, DataType.UInt8);
        var a = ctx.InputShapeOrFail(0);
        var b = ctx.InputShapeOrFail(1);
        if (!a.SameAs(b))
            throw ctx.ShapeError($"QAdd needs inputs of one shape, got {Shapes.Format(a)} and {Shapes.Format(b)}");
        ctx.SetOutput(0, DataType.UInt8, a);
    }

    public override string Describe(OpContext ctx)
    {
        var p = Read(ctx);
        return $"uint8 + uint8, zero points {p.AZero} + {p.BZero} -> {p.YZero}, clamp [{p.Min}, {p.Max}]";
    }

    public override void Evaluate(EvalContext ctx)
    {
        var p = Read(ctx);
        var a = ctx.Input(0);
        var b = ctx.Input(1).Longs!;
        var y = new long[a.Length];
        for (int i = 0; i < y.Length; i++)
            y[i] = p.Apply((int)a.Longs![i], (int)b[i]);
        ctx.SetOutput(0, Tensor.FromLongs(DataType.UInt8, a.Shape, y));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var p = Read(ctx);
        var w = ctx.W;
        int n = Shapes.ElementCount(ctx.OutputShape(0));
        string a = ctx.In(0), b = ctx.In(1), y = ctx.Out(0);
        w.Line($"// ((q - z) << {LeftShift}) of each input scaled to a common fixed point, added, requantized; 64-bit products, ties up.");
        w.Line($"{ctx.Helper(KernelHelpers.QAddU8)}({a}.Slice(0, {n}), {b}.Slice(0, {n}), {y}.Slice(0, {n}), {p.AZero}, {p.AMultiplier}, {p.AShift},");
        w.Line($"    {p.BZero}, {p.BMultiplier}, {p.BShift}, {p.YZero}, {p.YMultiplier}, {p.YShift}, {p.Min}, {p.Max});");
    }
}
