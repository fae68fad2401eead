using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// Equal, Less, Greater, LessOrEqual, GreaterOrEqual: elementwise with NumPy broadcasting, bool output. IEEE on floats
/// (every comparison with NaN is false). On build-time inputs (constant masks) they fold.
/// </summary>
public abstract class Comparison : Operator
{
    protected abstract bool Compare(float a, float b);
    protected abstract bool Compare(long a, long b);
    protected abstract string Symbol { get; }

    /// <summary>Equal also compares bools; the ordering ones only numbers.</summary>
    protected virtual bool AcceptsBool => false;

    public override void InferShapes(ShapeContext ctx)
    {
        if (AcceptsBool)
            ctx.RequireType(0, DataType.Float, DataType.Int64, DataType.Int32, DataType.Int8, DataType.UInt8, DataType.Bool);
        else
            ctx.RequireType(0, DataType.Float, DataType.Int64, DataType.Int32, DataType.Int8, DataType.UInt8);
        if (ctx.InputType(0) != ctx.InputType(1))
            throw ctx.Invalid($"the inputs have different element types ({ctx.InputType(0)} and {ctx.InputType(1)})");
        ctx.SetOutput(0, DataType.Bool, Broadcasting.OutputShape(ctx, ctx.InputShapeOrFail(0), ctx.InputShapeOrFail(1)));
    }

    public override void Evaluate(EvalContext ctx)
    {
        var a = ctx.Input(0);
        var b = ctx.Input(1);
        var shape = Broadcasting.OutputShape(ctx, a.Shape, b.Shape);
        var ma = Broadcasting.IndexMap(a.Shape, shape);
        var mb = Broadcasting.IndexMap(b.Shape, shape);
        var r = new long[ma.Length];
        for (int i = 0; i < r.Length; i++)
            r[i] = (a.Type == DataType.Float ? Compare(a.Floats![ma[i]], b.Floats![mb[i]]) : Compare(a.Longs![ma[i]], b.Longs![mb[i]])) ? 1 : 0;
        ctx.SetOutput(0, Tensor.FromLongs(DataType.Bool, shape, r));
    }

    /// <summary>A constant scalar operand is a literal in the code (ElementwiseOperands.For), not embedded data.</summary>
    public override bool EmbedsConstant(OpContext ctx, int index) => ctx.InputConstant(index) is not { Length: 1 };

    public override void EmitKernel(KernelContext ctx)
    {
        var operands = new[] { ElementwiseOperands.For(ctx, 0), ElementwiseOperands.For(ctx, 1) };
        ElementwiseLoop.Emit(ctx, ctx.OutputShape(0), operands, e => $"{e[0]} {Symbol} {e[1]}");
    }
}

public sealed class Equal : Comparison
{
    public override string OpType => "Equal";
    protected override bool AcceptsBool => true;
    protected override string Symbol => "==";
    protected override bool Compare(float a, float b) => a == b;
    protected override bool Compare(long a, long b) => a == b;
}

public sealed class Less : Comparison
{
    public override string OpType => "Less";
    protected override string Symbol => "<";
    protected override bool Compare(float a, float b) => a < b;
    protected override bool Compare(long a, long b) => a < b;
}

public sealed class Greater : Comparison
{
    public override string OpType => "Greater";
    protected override string Symbol => ">";
    protected override bool Compare(float a, float b) => a > b;
    protected override bool Compare(long a, long b) => a > b;
}

public sealed class LessOrEqual : Comparison
{
    public override string OpType => "LessOrEqual";
    protected override string Symbol => "<=";
    protected override bool Compare(float a, float b) => a <= b;
    protected override bool Compare(long a, long b) => a <= b;
}

public sealed class GreaterOrEqual : Comparison
{
    public override string OpType => "GreaterOrEqual";
    protected override string Symbol => ">=";
    protected override bool Compare(float a, float b) => a >= b;
    protected override bool Compare(long a, long b) => a >= b;
}

/// <summary>Operands of elementwise kernels over any element type: a build-time scalar becomes a typed literal.</summary>
internal static class ElementwiseOperands
{
    public static Operand For(KernelContext ctx, int index)
    {
        var c = ctx.InputConstant(index);
        if (c != null && c.Length == 1)
            return Operand.FromLiteral(TensorIndexing.Literal(c.Type, c[0]));
        return Operand.FromSpan(ctx.In(index), ctx.InputShape(index));
    }
}
