using System;
using System.Linq;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// ConstantOfShape: a tensor of the build-time shape filled with the one-element 'value' (float 0 by default). Shapes
/// are static, so the result is always known at build time and never becomes a kernel.
/// </summary>
public sealed class ConstantOfShape : Operator
{
    public override string OpType => "ConstantOfShape";

    public override bool IsRuntimeInput(int index) => false;

    public override void InferShapes(ShapeContext ctx) => ctx.SetOutputConstant(0, Compute(ctx));

    public override void Evaluate(EvalContext ctx) => ctx.SetOutput(0, Compute(ctx));

    public override void EmitKernel(KernelContext ctx) => throw new InvalidOperationException("ConstantOfShape is always folded");

    /// <summary>Larger results are refused: they become embedded data (and the build would hold them in memory).</summary>
    private const long MaxElements = 1 << 25;

    private static Tensor Compute(OpContext ctx)
    {
        var value = ctx.TensorAttribute("value") ?? Tensor.FromFloats(new[] { 1 }, new[] { 0f });
        if (value.Length != 1)
            throw ctx.Invalid($"'value' must hold one element, it has shape {Shapes.Format(value.Shape)}");
        var input = ctx.RequireConstant(0, "shape");
        if (input.Type != DataType.Int64)
            throw ctx.Invalid($"the shape must be int64, got {input.Type}");
        if (input.Shape.Length != 1)
            throw ctx.Invalid($"the shape must be a 1-D tensor, got shape {Shapes.Format(input.Shape)}");
        var dims = input.Longs!;
        if (dims.Any(d => d < 0 || d > int.MaxValue))
            throw ctx.Invalid($"the shape [{string.Join(", ", dims)}] has a negative or too large dimension");
        var shape = dims.Select(d => (int)d).ToArray();
        long count = dims.Aggregate(1L, (a, d) => a * d > MaxElements ? MaxElements + 1 : a * d);
        if (count > MaxElements)
            throw ctx.Unsupported($"a constant of shape {Shapes.Format(shape)} (at most {MaxElements} elements: it would be embedded in the assembly)");
        int n = (int)count;
        return value.Type == DataType.Float
            ? Tensor.FromFloats(shape, Enumerable.Repeat(value.Floats![0], n).ToArray())
            : Tensor.FromLongs(value.Type, shape, Enumerable.Repeat(value.Longs![0], n).ToArray());
    }
}
