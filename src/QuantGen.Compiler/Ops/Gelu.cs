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
        ctx.SetOutput(0, Tensor.FromFloats(x.Shape, Array.ConvertAll(x.Floats!, v => tanh ? ScalarMath.GeluTanhLane(v) : ScalarMath.GeluLane(v))));
    }

    /// <summary>One call over the whole tensor: the row helpers run 8 lanes in float (see KernelHelpers.Math.cs).</summary>
    public override void EmitKernel(KernelContext ctx)
    {
        string row = ctx.Helper(Tanh(ctx) ? KernelHelpers.GeluTanhRowF32 : KernelHelpers.GeluRowF32);
        ctx.W.Line($"{row}({ctx.In(0)}, {ctx.Out(0)});");
    }
}
