using System;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// And, Or, Xor (bool, NumPy broadcasting) and Not: the mask algebra exporters write around Equal and Where
/// (<c>~mask</c>, <c>padding &amp; causal</c>). Constant masks fold.
/// </summary>
public abstract class LogicalBinary : Operator
{
    protected abstract bool Apply(bool a, bool b);
    protected abstract string Symbol { get; }

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.Bool);
        ctx.RequireType(1, DataType.Bool);
        ctx.SetOutput(0, DataType.Bool, Broadcasting.OutputShape(ctx, ctx.InputShapeOrFail(0), ctx.InputShapeOrFail(1)));
    }

    public override void Evaluate(EvalContext ctx)
    {
        var a = ctx.Input(0);
        var b = ctx.Input(1);
        var shape = Broadcasting.OutputShape(ctx, a.Shape, b.Shape);
        ctx.SetOutput(0, Tensor.FromLongs(DataType.Bool, shape, Broadcasting.Longs(a, b, shape, (x, y) => Apply(x != 0, y != 0) ? 1 : 0)));
    }

    /// <summary>A constant scalar operand is a literal in the code (ElementwiseOperands.For), not embedded data.</summary>
    public override bool EmbedsConstant(OpContext ctx, int index) => ctx.InputConstant(index) is not { Length: 1 };

    public override void EmitKernel(KernelContext ctx)
    {
        var operands = new[] { ElementwiseOperands.For(ctx, 0), ElementwiseOperands.For(ctx, 1) };
        ElementwiseLoop.Emit(ctx, ctx.OutputShape(0), operands, e => $"{e[0]} {Symbol} {e[1]}");
    }
}

public sealed class And : LogicalBinary
{
    public override string OpType => "And";
    protected override string Symbol => "&";
    protected override bool Apply(bool a, bool b) => a & b;
}

public sealed class Or : LogicalBinary
{
    public override string OpType => "Or";
    protected override string Symbol => "|";
    protected override bool Apply(bool a, bool b) => a | b;
}

public sealed class Xor : LogicalBinary
{
    public override string OpType => "Xor";
    protected override string Symbol => "^";
    protected override bool Apply(bool a, bool b) => a ^ b;
}

public sealed class Not : Operator
{
    public override string OpType => "Not";

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.Bool);
        ctx.SetOutput(0, DataType.Bool, ctx.InputShapeOrFail(0));
    }

    public override void Evaluate(EvalContext ctx)
    {
        var x = ctx.Input(0);
        ctx.SetOutput(0, Tensor.FromLongs(DataType.Bool, x.Shape, Array.ConvertAll(x.Longs!, v => v != 0 ? 0L : 1L)));
    }

    public override void EmitKernel(KernelContext ctx) =>
        ElementwiseLoop.Emit(ctx, ctx.OutputShape(0), new[] { Operand.FromSpan(ctx.In(0), ctx.InputShape(0)) }, e => $"!{e[0]}");
}
