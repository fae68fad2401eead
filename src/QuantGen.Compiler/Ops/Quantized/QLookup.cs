using System;
using System.Linq;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Quantization;

namespace QuantGen.Compiler.Ops.Quantized;

/// <summary>
/// A uint8 → uint8 function given by its table: y = table[x]. The quantization pass builds the table at build time from
/// a float function between two quantization grids, q_y = Q_y(f(DQ_x(q))) (<see cref="Build"/>): a standalone Relu, Clip,
/// LeakyRelu, HardSigmoid, HardSwish, Sigmoid or Tanh, or a change of grid (f the identity). The table is the op's
/// definition, so the reference and the kernel agree by construction.
/// Attributes: table (Ints, 256 values in [0, 255]), function (String, for the generated comment).
/// </summary>
public sealed class QLookup : Operator
{
    public override string OpType => "QLookup";

    /// <summary>The table of <paramref name="f"/> from grid <paramref name="x"/> to grid <paramref name="y"/> (same float arithmetic as Dequantize and Quantize).</summary>
    public static long[] Build(QuantParams x, QuantParams y, Func<float, float> f) =>
        Enumerable.Range(0, 256).Select(q => (long)y.Quantize(f(x.Dequantize(q)))).ToArray();

    private static long[] Table(OpContext ctx)
    {
        var t = ctx.Ints("table") ?? throw ctx.Invalid("the 'table' attribute is required");
        if (t.Length != 256 || t.Any(v => v < 0 || v > 255))
            throw ctx.Invalid("the table must hold 256 values in [0, 255]");
        return t;
    }

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.UInt8);
        Table(ctx);
        ctx.SetOutput(0, DataType.UInt8, ctx.InputShape(0));
    }

    public override string Describe(OpContext ctx) => "uint8 table of " + ctx.String("function", "a function");

    public override void Evaluate(EvalContext ctx)
    {
        var t = Table(ctx);
        var x = ctx.Input(0);
        ctx.SetOutput(0, Tensor.FromLongs(DataType.UInt8, x.Shape, Array.ConvertAll(x.Longs!, q => t[q])));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var t = Table(ctx);
        int n = Shapes.ElementCount(ctx.OutputShape(0));
        string x = ctx.In(0), y = ctx.Out(0);
        ctx.W.Line($"ReadOnlySpan<byte> table = new byte[] {{ {string.Join(", ", t.Select(CSharp.Int))} }};");
        ctx.W.Line($"for (int i = 0; i < {n}; i++) {y}[i] = table[{x}[i]];");
    }
}
