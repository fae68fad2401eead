using System;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>Constant: its value becomes a build-time tensor; never a kernel.</summary>
public sealed class Constant : Operator
{
    public override string OpType => "Constant";

    public override void InferShapes(ShapeContext ctx) => ctx.SetOutputConstant(0, Value(ctx));

    public override void Evaluate(EvalContext ctx) => ctx.SetOutput(0, Value(ctx));

    public override void EmitKernel(KernelContext ctx) => throw new InvalidOperationException("Constant is always folded");

    private static Tensor Value(OpContext ctx)
    {
        if (ctx.HasAttribute("sparse_value")) throw ctx.Unsupported("a sparse_value");
        if (ctx.TensorAttribute("value") is { } t) return t;
        if (ctx.HasAttribute("value_float")) return Tensor.FromFloats(Shapes.Scalar, new[] { ctx.Float("value_float", 0) });
        if (ctx.Floats("value_floats") is { } fs) return Tensor.FromFloats(new[] { fs.Length }, fs);
        if (ctx.HasAttribute("value_int")) return Tensor.FromLongs(DataType.Int64, Shapes.Scalar, new[] { ctx.Int("value_int", 0) });
        if (ctx.Ints("value_ints") is { } ls) return Tensor.FromLongs(DataType.Int64, new[] { ls.Length }, ls);
        if (ctx.HasAttribute("value_string") || ctx.HasAttribute("value_strings")) throw ctx.Unsupported("a string value");
        throw ctx.Invalid("it has no value attribute");
    }
}
