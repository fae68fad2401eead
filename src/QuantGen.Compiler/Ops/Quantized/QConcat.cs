using System.Linq;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Quantization;

namespace QuantGen.Compiler.Ops.Quantized;

/// <summary>
/// INT8 Concat: uint8 inputs, each with its own scale and zero point, joined along <c>axis</c> into the output's
/// parameters. An input whose parameters equal the output's is copied; another is requantized element by element:
/// q_y = clamp(requantize(q - z_i, m_i, s_i) + z_y, 0, 255), m_i / 2^s_i ≈ s_i / s_y.
/// Attributes: axis, y_zero_point, and per input (Ints) x_zero_points, multipliers, shifts (shift 0: a plain copy).
/// </summary>
public sealed class QConcat : Operator
{
    public override string OpType => "QConcat";

    /// <summary>How input <c>i</c> maps into the output: a copy (Shift 0) or a fixed-point requantization.</summary>
    public readonly record struct Mapping(int XZero, int Multiplier, int Shift)
    {
        public bool IsCopy => Shift == 0;

        public static Mapping Between(QuantParams input, QuantParams output) =>
            input == output ? new Mapping(input.ZeroPoint, 0, 0) : Requantizing(input, output);

        private static Mapping Requantizing(QuantParams input, QuantParams output)
        {
            var (m, s) = QAdd.FixedPointOrZero((double)input.Scale / output.Scale);
            return new Mapping(input.ZeroPoint, m, s);
        }

        public byte Apply(int q, int yZero) =>
            IsCopy ? (byte)q : QuantMath.RequantizeToU8(q - XZero, Multiplier, Shift, yZero, 0, 255);
    }

    /// <summary>Largest ratio s_i / s_y the 32-bit fixed point represents (any ratio past 255 saturates every q but z_i anyway).</summary>
    public const double MaxMultiplier = 1 << 29;

    private static (int Axis, int[] Shape, Mapping[] Maps, int YZero) Read(OpContext ctx)
    {
        if (ctx.InputCount == 0)
            throw ctx.Invalid("it has no inputs");
        var first = ctx.InputShapeOrFail(0);
        if (first.Length == 0)
            throw ctx.ShapeError("cannot concatenate scalars");
        int axis = ctx.Axis(ctx.Int("axis"), first.Length);
        var shape = (int[])first.Clone();
        for (int i = 1; i < ctx.InputCount; i++)
        {
            var s = ctx.InputShapeOrFail(i);
            bool compatible = s.Length == first.Length && Enumerable.Range(0, s.Length).All(d => d == axis || s[d] == first[d]);
            if (!compatible)
                throw ctx.ShapeError($"input {i} of shape {Shapes.Format(s)} does not match input 0 of shape {Shapes.Format(first)} outside axis {axis}");
            shape[axis] += s[axis];
        }
        var zeros = ctx.Ints("x_zero_points");
        var mults = ctx.Ints("multipliers");
        var shifts = ctx.Ints("shifts");
        if (zeros == null || mults == null || shifts == null || zeros.Length != ctx.InputCount || mults.Length != ctx.InputCount || shifts.Length != ctx.InputCount)
            throw ctx.Invalid($"x_zero_points, multipliers and shifts need one entry per input ({ctx.InputCount})");
        var maps = Enumerable.Range(0, ctx.InputCount).Select(i => new Mapping((int)zeros[i], (int)mults[i], (int)shifts[i])).ToArray();
        return (axis, shape, maps, (int)ctx.Int("y_zero_point", 0));
    }

    public override void InferShapes(ShapeContext ctx)
    {
        for (int i = 0; i < ctx.InputCount; i++) ctx.RequireType(i, DataType.UInt8);
        ctx.SetOutput(0, DataType.UInt8, Read(ctx).Shape);
    }

    public override string Describe(OpContext ctx)
    {
        var (axis, _, maps, yZero) = Read(ctx);
        int requantized = maps.Count(m => !m.IsCopy);
        return $"{maps.Length} uint8 inputs, axis {axis}, {(requantized == 0 ? "all copied" : requantized + " requantized")}, zero point {yZero}";
    }

    public override void Evaluate(EvalContext ctx)
    {
        var (axis, shape, maps, yZero) = Read(ctx);
        int outer = Shapes.ElementCount(shape.Take(axis).ToArray());
        int inner = Shapes.ElementCount(shape.Skip(axis + 1).ToArray());
        int row = shape[axis] * inner;
        var y = new long[outer * row];
        for (int i = 0, at = 0; i < maps.Length; i++)
        {
            var x = ctx.Input(i).Longs!;
            int band = ctx.InputShape(i)[axis] * inner;
            for (int o = 0; o < outer; o++)
                for (int j = 0; j < band; j++)
                    y[o * row + at + j] = maps[i].Apply((int)x[o * band + j], yZero);
            at += band;
        }
        ctx.SetOutput(0, Tensor.FromLongs(DataType.UInt8, shape, y));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var (axis, shape, maps, yZero) = Read(ctx);
        var w = ctx.W;
        int outer = Shapes.ElementCount(shape.Take(axis).ToArray());
        int inner = Shapes.ElementCount(shape.Skip(axis + 1).ToArray());
        int row = shape[axis] * inner;
        if (outer * row == 0)
        {
            w.Line("// Nothing to copy: the output is empty.");
            return;
        }
        // A requantized input maps each of its 256 values through a table computed at build time with the same
        // integer arithmetic as the reference.
        for (int i = 0; i < maps.Length; i++)
        {
            if (maps[i].IsCopy || ctx.InputShape(i)[axis] * inner == 0) continue;
            var table = Enumerable.Range(0, 256).Select(q => CSharp.Int(maps[i].Apply(q, yZero)));
            w.Line($"ReadOnlySpan<byte> map{i} = new byte[] {{ {string.Join(", ", table)} }};");
        }
        w.Line($"// Each input's band of every output row (along axis {axis}), copied or mapped into the output's scale and zero point {yZero}.");
        using (outer > 1 ? w.Block($"for (int o = 0; o < {outer}; o++)") : null)
        {
            int at = 0;
            for (int i = 0; i < maps.Length; i++)
            {
                int band = ctx.InputShape(i)[axis] * inner;
                if (band > 0)
                {
                    string from = outer > 1 ? StridedCopy.Offset("0", "o", band) : "0";
                    string to = outer > 1 ? StridedCopy.Offset(CSharp.Int(at), "o", row) : CSharp.Int(at);
                    string x = ctx.In(i), y = ctx.Out(0);
                    if (maps[i].IsCopy)
                        w.Line(band == 1 ? $"{y}[{to}] = {x}[{from}];" : $"{x}.Slice({from}, {band}).CopyTo({y}.Slice({to}, {band}));");
                    else
                    {
                        w.Line($"var src{i} = {x}.Slice({from}, {band});");
                        w.Line($"var dst{i} = {y}.Slice({to}, {band});");
                        w.Line($"for (int j = 0; j < {band}; j++) dst{i}[j] = map{i}[src{i}[j]];");
                    }
                }
                at += band;
            }
        }
    }
}
