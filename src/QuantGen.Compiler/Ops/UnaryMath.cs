using System;
using System.Linq;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// Elementwise math on one tensor: Neg, Exp, Log, Sqrt, Erf. IEEE semantics throughout (Log(0) = -inf, Log(-1) = NaN,
/// Sqrt(-0) = -0, NaN propagates). The reference computes in double and rounds once; the kernel uses MathF (or the
/// same double formula for Erf), so the two agree to an ulp.
/// </summary>
public abstract class UnaryMathOperator : Operator
{
    /// <summary>Element types the op accepts (float unless an op says more).</summary>
    protected virtual DataType[] Types => new[] { DataType.Float };

    protected abstract float Apply(float x);

    /// <summary>Integer form, for ops that accept integer types (already wrapped to the type by the caller).</summary>
    protected virtual long Apply(long x) => throw new NotSupportedException();

    /// <summary>The C# expression of the op applied to the element variable <paramref name="v"/>.</summary>
    protected abstract string Expression(KernelContext ctx, string v);

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, Types);
        ctx.SetOutput(0, ctx.InputType(0), ctx.InputShapeOrFail(0));
    }

    public override void Evaluate(EvalContext ctx)
    {
        var x = ctx.Input(0);
        ctx.SetOutput(0, x.Type == DataType.Float
            ? Tensor.FromFloats(x.Shape, Array.ConvertAll(x.Floats!, Apply))
            : Tensor.FromLongs(x.Type, x.Shape, Array.ConvertAll(x.Longs!, v => ElementTypes.Wrap(x.Type, Apply(v)))));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var shape = ctx.OutputShape(0);
        ElementwiseLoop.Emit(ctx, shape, new[] { Operand.FromSpan(ctx.In(0), ctx.InputShape(0)) }, e => Expression(ctx, e[0]));
    }
}

/// <summary>Neg: -x. On integers it wraps (-int.MinValue = int.MinValue), as two's complement does in ONNX Runtime.</summary>
public sealed class Neg : UnaryMathOperator
{
    public override string OpType => "Neg";
    protected override DataType[] Types => new[] { DataType.Float, DataType.Int64, DataType.Int32, DataType.Int8 };
    protected override float Apply(float x) => -x;
    protected override long Apply(long x) => unchecked(-x);

    protected override string Expression(KernelContext ctx, string v) => ctx.OutputType(0) switch
    {
        DataType.Int32 => $"unchecked(-{v})",
        DataType.Int8 => $"unchecked((sbyte)-{v})",
        _ => $"-{v}",
    };
}

public sealed class Exp : UnaryMathOperator
{
    public override string OpType => "Exp";
    protected override float Apply(float x) => (float)Math.Exp(x);
    protected override string Expression(KernelContext ctx, string v) => $"MathF.Exp({v})";
}

public sealed class Log : UnaryMathOperator
{
    public override string OpType => "Log";
    protected override float Apply(float x) => (float)Math.Log(x);
    protected override string Expression(KernelContext ctx, string v) => $"MathF.Log({v})";
}

public sealed class Sqrt : UnaryMathOperator
{
    public override string OpType => "Sqrt";
    protected override float Apply(float x) => (float)Math.Sqrt(x);
    protected override string Expression(KernelContext ctx, string v) => $"MathF.Sqrt({v})";
}

/// <summary>Erf: the Gauss error function (see <see cref="ScalarMath.Erf"/> for the formula and its accuracy).</summary>
public sealed class Erf : UnaryMathOperator
{
    public override string OpType => "Erf";
    protected override float Apply(float x) => (float)ScalarMath.Erf(x);
    protected override string Expression(KernelContext ctx, string v) => $"{ctx.Helper(KernelHelpers.ErfF32)}({v})";
}
