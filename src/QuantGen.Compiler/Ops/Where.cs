using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// Where: condition ? X : Y elementwise, the three broadcast together (NumPy rules). X and Y share any supported
/// element type. Attention masks (Where(mask, -inf, scores)) get their scalar as a literal; constant masks fold.
/// </summary>
public sealed class Where : Operator
{
    public override string OpType => "Where";

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.Bool);
        ctx.RequireType(1, TensorIndexing.AnyType);
        if (ctx.InputType(1) != ctx.InputType(2))
            throw ctx.Invalid($"X and Y have different element types ({ctx.InputType(1)} and {ctx.InputType(2)})");
        ctx.SetOutput(0, ctx.InputType(1), Broadcasting.OutputShape(ctx, ctx.InputShapeOrFail(0), ctx.InputShapeOrFail(1), ctx.InputShapeOrFail(2)));
    }

    public override void Evaluate(EvalContext ctx)
    {
        var c = ctx.Input(0);
        var x = ctx.Input(1);
        var y = ctx.Input(2);
        var shape = Broadcasting.OutputShape(ctx, c.Shape, x.Shape, y.Shape);
        var mc = Broadcasting.IndexMap(c.Shape, shape);
        var mx = Broadcasting.IndexMap(x.Shape, shape);
        var my = Broadcasting.IndexMap(y.Shape, shape);
        int n = mc.Length;
        if (x.Type == DataType.Float)
        {
            var r = new float[n];
            for (int i = 0; i < n; i++) r[i] = c.Longs![mc[i]] != 0 ? x.Floats![mx[i]] : y.Floats![my[i]];
            ctx.SetOutput(0, Tensor.FromFloats(shape, r));
        }
        else
        {
            var r = new long[n];
            for (int i = 0; i < n; i++) r[i] = c.Longs![mc[i]] != 0 ? x.Longs![mx[i]] : y.Longs![my[i]];
            ctx.SetOutput(0, Tensor.FromLongs(x.Type, shape, r));
        }
    }

    /// <summary>A constant scalar operand is a literal in the code (ElementwiseOperands.For), not embedded data.</summary>
    public override bool EmbedsConstant(OpContext ctx, int index) => ctx.InputConstant(index) is not { Length: 1 };

    public override void EmitKernel(KernelContext ctx)
    {
        var operands = new[] { ElementwiseOperands.For(ctx, 0), ElementwiseOperands.For(ctx, 1), ElementwiseOperands.For(ctx, 2) };
        ElementwiseLoop.Emit(ctx, ctx.OutputShape(0), operands, e => $"{e[0]} ? {e[1]} : {e[2]}");
    }
}
