using System;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// Range: start, start + delta, ... up to (not including) limit; max(ceil((limit - start) / delta), 0) elements. The
/// output's length depends on the inputs' values, so they must be known at build time, and the result is always a
/// constant (position ids, causal masks). Values accumulate as the spec's loop does (prev + delta, in the element type).
/// </summary>
public sealed class Range : Operator
{
    public override string OpType => "Range";

    public override bool IsRuntimeInput(int index) => false;

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.Float, DataType.Int64, DataType.Int32);
        ctx.SetOutputConstant(0, Compute(ctx));
    }

    public override void Evaluate(EvalContext ctx) => ctx.SetOutput(0, Compute(ctx));

    public override void EmitKernel(KernelContext ctx) => throw new InvalidOperationException("Range is always folded");

    /// <summary>Ranges longer than this are refused: they would be embedded as constants.</summary>
    private const int MaxLength = 1 << 24;

    private static Tensor Compute(OpContext ctx)
    {
        var start = Scalar(ctx, 0, "start");
        var limit = Scalar(ctx, 1, "limit");
        var delta = Scalar(ctx, 2, "delta");
        var type = start.Type;
        if (limit.Type != type || delta.Type != type)
            throw ctx.Invalid($"start, limit and delta must have one type (got {start.Type}, {limit.Type}, {delta.Type})");
        if (delta[0] == 0)
            throw ctx.Invalid("delta is 0");
        double count = Math.Ceiling((limit[0] - start[0]) / delta[0]);
        if (double.IsNaN(count))
            throw ctx.Invalid($"the range from {start[0]} to {limit[0]} by {delta[0]} has no defined length");
        if (count > MaxLength)
            throw ctx.Unsupported($"a range of {count} elements (at most {MaxLength})");
        int n = Math.Max(0, (int)count);
        if (type == DataType.Float)
        {
            var r = new float[n];
            float v = start.Floats![0], d = delta.Floats![0];
            for (int i = 0; i < n; i++, v += d) r[i] = v;
            return Tensor.FromFloats(new[] { n }, r);
        }
        var l = new long[n];
        long lv = start.Longs![0], ld = delta.Longs![0];
        for (int i = 0; i < n; i++, lv = ElementTypes.Wrap(type, lv + ld)) l[i] = lv;
        return Tensor.FromLongs(type, new[] { n }, l);
    }

    private static Tensor Scalar(OpContext ctx, int index, string what)
    {
        var t = ctx.RequireConstant(index, what);
        if (t.Length != 1 || t.Shape.Length > 1)
            throw ctx.Invalid($"'{what}' must be a scalar, got shape {Shapes.Format(t.Shape)}");
        return t;
    }
}
