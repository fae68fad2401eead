using System.Linq;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>Transpose: output dimension d is input dimension perm[d] (perm defaults to reversing the dimensions).</summary>
public sealed class Transpose : Operator
{
    public override string OpType => "Transpose";

    private static int[] Perm(OpContext ctx, int rank)
    {
        var attr = ctx.Ints("perm");
        if (attr == null)
            return Enumerable.Range(0, rank).Reverse().ToArray();
        if (attr.Length != rank)
            throw ctx.Invalid($"perm [{string.Join(", ", attr)}] has {attr.Length} entries for an input of rank {rank}");
        var perm = new int[rank];
        var seen = new bool[rank];
        for (int i = 0; i < rank; i++)
        {
            // The spec has no negative entries; reading them like a negative axis is harmless.
            int p = ctx.Axis(attr[i], rank, "perm entry");
            if (seen[p]) throw ctx.Invalid($"perm [{string.Join(", ", attr)}] is not a permutation");
            seen[p] = true;
            perm[i] = p;
        }
        return perm;
    }

    private static int[] OutputShape(int[] shape, int[] perm) => perm.Select(p => shape[p]).ToArray();

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, TensorIndexing.AnyType);
        var x = ctx.InputShapeOrFail(0);
        ctx.SetOutput(0, ctx.InputType(0), OutputShape(x, Perm(ctx, x.Length)));
    }

    public override string Describe(OpContext ctx) =>
        "perm [" + string.Join(", ", Perm(ctx, ctx.InputShape(0).Length)) + "]";

    public override void Evaluate(EvalContext ctx)
    {
        var x = ctx.Input(0);
        var perm = Perm(ctx, x.Shape.Length);
        var strides = Shapes.Strides(x.Shape);
        var permuted = perm.Select(p => strides[p]).ToArray();
        ctx.SetOutput(0, TensorIndexing.Take(x, OutputShape(x.Shape, perm), idx => TensorIndexing.Offset(idx, permuted)));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var x = ctx.InputShape(0);
        var perm = Perm(ctx, x.Length);
        var strides = Shapes.Strides(x);
        var y = OutputShape(x, perm);
        ctx.W.Line("// Walks the output in order and reads the input at the permuted strides.");
        StridedCopy.Emit(ctx.W, ctx.In(0), ctx.Out(0), y, perm.Select(p => strides[p]).ToArray(), 0, Shapes.Strides(y), 0);
    }
}
