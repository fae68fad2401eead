using System;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>Add, Sub, Mul, Div: elementwise with NumPy broadcasting, on float or integer tensors.</summary>
public abstract class BinaryArithmetic : Operator
{
    protected abstract float Apply(float a, float b);
    protected abstract long Apply(long a, long b);
    protected abstract string Symbol { get; }

    public override bool CanFuseActivation => true;

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.Float, DataType.Int64, DataType.Int32);
        if (ctx.InputType(0) != ctx.InputType(1))
            throw ctx.Invalid($"the inputs have different element types ({ctx.InputType(0)} and {ctx.InputType(1)})");
        if (ctx.Opset < 7 && ctx.HasAttribute("broadcast"))
            throw ctx.Unsupported("the legacy 'broadcast' attribute");
        ctx.SetOutput(0, ctx.InputType(0), Broadcasting.OutputShape(ctx, ctx.InputShape(0), ctx.InputShape(1)));
    }

    public override void Evaluate(EvalContext ctx)
    {
        var a = ctx.Input(0);
        var b = ctx.Input(1);
        var shape = Broadcasting.OutputShape(ctx, a.Shape, b.Shape);
        ctx.SetOutput(0, a.Type == DataType.Float
            ? Tensor.FromFloats(shape, Broadcasting.Floats(a, b, shape, Apply))
            : Tensor.FromLongs(a.Type, shape, Broadcasting.Longs(a, b, shape, (x, y) => Wrap(a.Type, Apply(x, y)))));
    }

    private static long Wrap(DataType type, long v) => type == DataType.Int32 ? (int)v : v;

    public override void EmitKernel(KernelContext ctx)
    {
        var operands = new[] { OperandFor(ctx, 0), OperandFor(ctx, 1) };
        bool isFloat = ctx.OutputType(0) == DataType.Float;
        string cast = ctx.OutputType(0) == DataType.Int32 ? "(int)" : "";
        if (isFloat && ctx.Activation != null)
        {
            ctx.W.Line("// The fused activation is applied to each result before it is stored.");
            ElementwiseLoop.Emit(ctx, ctx.OutputShape(0), operands, e => ctx.Activate($"({e[0]} {Symbol} {e[1]})"));
        }
        else
        {
            ElementwiseLoop.Emit(ctx, ctx.OutputShape(0), operands, e => $"{cast}({e[0]} {Symbol} {e[1]})");
        }
    }

    /// <summary>A constant scalar operand is a literal in the code (see <see cref="OperandFor"/>), not embedded data.</summary>
    public override bool EmbedsConstant(OpContext ctx, int index) => ctx.InputConstant(index) is not { Length: 1 };

    /// <summary>A constant scalar operand becomes a literal in the code; anything else is read from its span.</summary>
    internal static Operand OperandFor(KernelContext ctx, int index)
    {
        var c = ctx.InputConstant(index);
        if (c != null && c.Length == 1)
            return Operand.FromLiteral(c.Type == DataType.Float ? CSharp.Float(c.Floats![0]) : CSharp.Long(c.Longs![0]));
        return Operand.FromSpan(ctx.In(index), ctx.InputShape(index));
    }
}

public sealed class Add : BinaryArithmetic
{
    public override string OpType => "Add";
    protected override string Symbol => "+";
    protected override float Apply(float a, float b) => a + b;
    protected override long Apply(long a, long b) => a + b;
}

public sealed class Sub : BinaryArithmetic
{
    public override string OpType => "Sub";
    protected override string Symbol => "-";
    protected override float Apply(float a, float b) => a - b;
    protected override long Apply(long a, long b) => a - b;
}

public sealed class Mul : BinaryArithmetic
{
    public override string OpType => "Mul";
    protected override string Symbol => "*";
    protected override float Apply(float a, float b) => a * b;
    protected override long Apply(long a, long b) => a * b;
}

public sealed class Div : BinaryArithmetic
{
    public override string OpType => "Div";
    protected override string Symbol => "/";
    protected override float Apply(float a, float b) => a / b;

    // Integer division by zero is undefined in ONNX; the generated code would throw, so fold to 0 rather than crash the build.
    protected override long Apply(long a, long b) => b == 0 ? 0 : a / b;
}
