using System.Linq;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// Expand: broadcasts the input to a shape read at build time (NumPy rules in both directions: a 1 in the target keeps
/// the input's dimension). A constant input folds, so PyTorch's class-token and mask expands become constants.
/// </summary>
public sealed class Expand : Operator
{
    public override string OpType => "Expand";

    public override bool IsRuntimeInput(int index) => index == 0;

    private static int[] OutputShape(OpContext ctx)
    {
        var target = ctx.RequireConstant(1, "shape");
        if (target.Type != DataType.Int64)
            throw ctx.Invalid($"the shape must be int64, got {target.Type}");
        if (target.Shape.Length != 1)
            throw ctx.Invalid($"the shape must be a 1-D tensor, got shape {Shapes.Format(target.Shape)}");
        var dims = target.Longs!;
        foreach (long d in dims)
            if (d < 0 || d > int.MaxValue)
                throw ctx.Invalid($"the shape [{string.Join(", ", dims)}] has the dimension {d}");
        return Broadcasting.OutputShape(ctx, ctx.InputShapeOrFail(0), dims.Select(d => (int)d).ToArray());
    }

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, TensorIndexing.AnyType);
        ctx.SetOutput(0, ctx.InputType(0), OutputShape(ctx));
    }

    public override string Describe(OpContext ctx) => $"{Shapes.Format(ctx.InputShape(0))} to {Shapes.Format(OutputShape(ctx))}";

    public override void Evaluate(EvalContext ctx)
    {
        var shape = OutputShape(ctx);
        var x = ctx.Input(0);
        ctx.SetOutput(0, TensorIndexing.TakeFlat(x, shape, Broadcasting.IndexMap(x.Shape, shape)));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        string x = ctx.In(0), y = ctx.Out(0);
        var input = Operand.FromSpan(x, ctx.InputShape(0));
        var (dims, strides) = ElementwiseLoop.Collapse(ctx.OutputShape(0), new[] { input });
        int last = dims.Length - 1;
        if (last < 0 || strides[0][last] != 1 || dims[last] < 8)
        {
            ElementwiseLoop.Emit(ctx, ctx.OutputShape(0), new[] { input }, e => e[0]);
            return;
        }
        // The innermost run is contiguous in the input: copy it whole, once per repetition.
        var w = ctx.W;
        int run = dims[last];
        w.Line($"// Copies runs of {run} contiguous elements; the outer dimensions repeat or walk them.");
        if (last > 0) w.Line("int o = 0;");
        for (int d = 0; d < last; d++)
        {
            w.Line($"for (int i{d} = 0; i{d} < {dims[d]}; i{d}++)");
            w.Line("{");
            w.Indent();
        }
        var terms = Enumerable.Range(0, last).Where(d => strides[0][d] != 0).Select(d => $"i{d} * {strides[0][d]}").ToList();
        string from = terms.Count == 0 ? "0" : string.Join(" + ", terms);
        if (last == 0)
        {
            w.Line($"{x}.Slice(0, {run}).CopyTo({y});");
            return;
        }
        w.Line($"{x}.Slice({from}, {run}).CopyTo({y}.Slice(o, {run}));");
        w.Line($"o += {run};");
        for (int d = 0; d < last; d++)
        {
            w.Outdent();
            w.Line("}");
        }
    }
}
