using System;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>Shape: shapes are static, so the result is always known at build time (start/end from opset 15).</summary>
public sealed class Shape : Operator
{
    public override string OpType => "Shape";

    public override bool IsRuntimeInput(int index) => false;

    public override void InferShapes(ShapeContext ctx) => ctx.SetOutputConstant(0, Compute(ctx, ctx.InputShapeOrFail(0)));

    public override void Evaluate(EvalContext ctx) => ctx.SetOutput(0, Compute(ctx, ctx.Input(0).Shape));

    public override void EmitKernel(KernelContext ctx) => throw new InvalidOperationException("Shape is always folded");

    private static Tensor Compute(OpContext ctx, int[] shape)
    {
        int rank = shape.Length;
        long start = ctx.Int("start", 0), end = ctx.Int("end", rank);
        if (start < 0) start += rank;
        if (end < 0) end += rank;
        start = Math.Max(0, Math.Min(rank, start));
        end = Math.Max(start, Math.Min(rank, end));
        var dims = new long[end - start];
        for (long i = start; i < end; i++) dims[i - start] = shape[i];
        return Tensor.FromLongs(DataType.Int64, new[] { dims.Length }, dims);
    }
}
