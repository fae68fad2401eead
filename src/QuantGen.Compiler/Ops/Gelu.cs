using System;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// Gelu (opset 20): x Φ(x) with approximate = "none" (erf form), or the tanh approximation with approximate = "tanh".
/// Older exporters write it as Div/Erf/Add/Mul, which the Erf operator covers.
/// </summary>
public sealed class Gelu : Operator
{
    public override string OpType => "Gelu";

    private static bool Tanh(OpContext ctx)
    {
        string approximate = ctx.String("approximate", "none");
        return approximate switch
        {
            "none" => false,
            "tanh" => true,
            _ => throw ctx.Invalid($"approximate is '{approximate}', expected 'none' or 'tanh'"),
        };
    }

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.Float);
        Tanh(ctx);
        ctx.SetOutput(0, DataType.Float, ctx.InputShapeOrFail(0));
    }

    public override string Describe(OpContext ctx) => Tanh(ctx) ? "tanh approximation" : "exact (erf)";

    public override void Evaluate(EvalContext ctx)
    {
        bool tanh = Tanh(ctx);
        var x = ctx.Input(0);
        ctx.SetOutput(0, Tensor.FromFloats(x.Shape, Array.ConvertAll(x.Floats!, v => (float)(tanh ? ScalarMath.GeluTanh(v) : ScalarMath.Gelu(v)))));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        bool tanh = Tanh(ctx);
        string gelu = tanh ? "" : ctx.Helper(KernelHelpers.GeluF32);
        ElementwiseLoop.Emit(ctx, ctx.OutputShape(0), new[] { Operand.FromSpan(ctx.In(0), ctx.InputShape(0)) }, e => tanh
            ? $"(float)(0.5 * {e[0]} * (1.0 + Math.Tanh(0.7978845608028654 * ({e[0]} + 0.044715 * {e[0]} * {e[0]} * {e[0]}))))"
            : $"{gelu}({e[0]})");
    }
}
