using System;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Quantization;

namespace QuantGen.Compiler.Ops.Quantized;

/// <summary>float → uint8: q = clamp(round_half_even(x / scale) + zero_point, 0, 255). Attributes scale, zero_point.</summary>
public sealed class QuantizeU8 : Operator
{
    public override string OpType => "Quantize";

    internal static QuantParams Params(OpContext ctx) => new(ctx.Float("scale", 1f), (int)ctx.Int("zero_point", 0));

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.Float);
        ctx.SetOutput(0, DataType.UInt8, ctx.InputShape(0));
    }

    public override string Describe(OpContext ctx) => Params(ctx).ToString();

    public override void Evaluate(EvalContext ctx)
    {
        var p = Params(ctx);
        var x = ctx.Input(0);
        ctx.SetOutput(0, Tensor.FromLongs(DataType.UInt8, x.Shape, Array.ConvertAll(x.Floats!, v => (long)p.Quantize(v))));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var p = Params(ctx);
        int n = Shapes.ElementCount(ctx.OutputShape(0));
        ctx.W.Line($"{ctx.Helper(KernelHelpers.QuantizeRowU8)}({ctx.In(0)}.Slice(0, {n}), {ctx.Out(0)}.Slice(0, {n}), {CSharp.Float(p.Scale)}, {p.ZeroPoint});");
    }
}

/// <summary>uint8 → float: x = (q - zero_point) * scale. Attributes scale, zero_point.</summary>
public sealed class DequantizeU8 : Operator
{
    public override string OpType => "Dequantize";

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.UInt8);
        ctx.SetOutput(0, DataType.Float, ctx.InputShape(0));
    }

    public override string Describe(OpContext ctx) => QuantizeU8.Params(ctx).ToString();

    public override void Evaluate(EvalContext ctx)
    {
        var p = QuantizeU8.Params(ctx);
        var q = ctx.Input(0);
        ctx.SetOutput(0, Tensor.FromFloats(q.Shape, Array.ConvertAll(q.Longs!, v => p.Dequantize((int)v))));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var p = QuantizeU8.Params(ctx);
        int n = Shapes.ElementCount(ctx.OutputShape(0));
        using (ctx.W.Block($"for (int i = 0; i < {n}; i++)"))
            ctx.W.Line($"{ctx.Out(0)}[i] = ({ctx.In(0)}[i] - {p.ZeroPoint}) * {CSharp.Float(p.Scale)};");
    }
}
