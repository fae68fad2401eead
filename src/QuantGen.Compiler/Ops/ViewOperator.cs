using System;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// An op whose output is its input's data under a new shape (Reshape, Flatten, Squeeze, Unsqueeze, Identity,
/// Dropout at inference). No kernel is emitted: the memory planner lets the output share the input's buffer.
/// </summary>
public abstract class ViewOperator : Operator
{
    public override bool IsView => true;
    public override bool IsRuntimeInput(int index) => index == 0;

    /// <summary>The output shape; the element count must not change.</summary>
    protected abstract int[] OutputShape(OpContext ctx, int[] inputShape);

    public override void InferShapes(ShapeContext ctx)
    {
        var input = ctx.InputShapeOrFail(0);
        var shape = OutputShape(ctx, input);
        if (Shapes.ElementCount(shape) != Shapes.ElementCount(input))
            throw ctx.ShapeError($"cannot view {Shapes.Format(input)} ({Shapes.ElementCount(input)} elements) as {Shapes.Format(shape)}");
        ctx.SetOutput(0, ctx.InputType(0), shape);
    }

    public override void Evaluate(EvalContext ctx)
    {
        var x = ctx.Input(0);
        ctx.SetOutput(0, x.Reshape(OutputShape(ctx, x.Shape)));
    }

    public override void EmitKernel(KernelContext ctx) =>
        throw new InvalidOperationException("views have no kernel; the planner aliases their buffers");
}

public sealed class Identity : ViewOperator
{
    public override string OpType => "Identity";
    protected override int[] OutputShape(OpContext ctx, int[] inputShape) => inputShape;
}

/// <summary>Dropout is the identity at inference.</summary>
public sealed class Dropout : ViewOperator
{
    public override string OpType => "Dropout";

    protected override int[] OutputShape(OpContext ctx, int[] inputShape)
    {
        if (ctx.OutputCount > 1 && ctx.Node.Outputs[1].Length > 0)
            throw ctx.Unsupported("the optional 'mask' output");
        if (ctx.Opset >= 12 && ctx.HasInput(2))
        {
            var training = ctx.InputConstant(2);
            if (training == null || training[0] != 0)
                throw ctx.Unsupported("training_mode set (QuantGen compiles for inference)");
        }
        return inputShape;
    }
}

/// <summary>Reshape with the shape from a constant input (opset 5+): 0 copies a dimension (unless allowzero), -1 is inferred.</summary>
public sealed class Reshape : ViewOperator
{
    public override string OpType => "Reshape";

    protected override int[] OutputShape(OpContext ctx, int[] inputShape)
    {
        var target = ctx.RequireConstant(1, "shape").AsLongs();
        bool allowZero = ctx.Int("allowzero", 0) != 0;
        var shape = new int[target.Length];
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < target.Length; i++)
        {
            long d = target[i];
            if (d == -1)
            {
                if (inferred >= 0) throw ctx.Invalid("the shape has more than one -1");
                inferred = i;
                continue;
            }
            if (d == 0 && !allowZero)
            {
                if (i >= inputShape.Length) throw ctx.ShapeError($"shape[{i}] = 0 copies a dimension the input {Shapes.Format(inputShape)} does not have");
                d = inputShape[i];
            }
            if (d < 0) throw ctx.Invalid($"shape[{i}] = {d} is negative");
            shape[i] = (int)d;
            known *= d;
        }
        if (inferred >= 0)
        {
            long total = Shapes.ElementCount(inputShape);
            if (known == 0 || total % known != 0)
                throw ctx.ShapeError($"cannot infer the -1 in shape [{string.Join(", ", target)}] for {total} elements");
            shape[inferred] = (int)(total / known);
        }
        return shape;
    }
}

/// <summary>Flatten to 2-D around <c>axis</c>.</summary>
public sealed class Flatten : ViewOperator
{
    public override string OpType => "Flatten";

    protected override int[] OutputShape(OpContext ctx, int[] inputShape)
    {
        long axis = ctx.Int("axis", 1);
        if (axis < 0) axis += inputShape.Length;
        if (axis < 0 || axis > inputShape.Length) throw ctx.Invalid($"axis {ctx.Int("axis", 1)} is out of range for rank {inputShape.Length}");
        int outer = 1, inner = 1;
        for (int i = 0; i < inputShape.Length; i++)
        {
            if (i < axis) outer *= inputShape[i];
            else inner *= inputShape[i];
        }
        return new[] { outer, inner };
    }
}

/// <summary>Squeeze: axes from the attribute (opset &lt; 13) or a constant input (13+); all size-1 dims when absent.</summary>
public sealed class Squeeze : ViewOperator
{
    public override string OpType => "Squeeze";

    protected override int[] OutputShape(OpContext ctx, int[] inputShape)
    {
        long[]? axes = ctx.Opset < 13 ? ctx.Ints("axes") : ctx.HasInput(1) ? ctx.RequireConstant(1, "axes").AsLongs() : null;
        var drop = new bool[inputShape.Length];
        if (axes == null)
        {
            for (int i = 0; i < inputShape.Length; i++) drop[i] = inputShape[i] == 1;
        }
        else
        {
            foreach (var a in axes)
            {
                int axis = ctx.Axis(a, inputShape.Length);
                if (inputShape[axis] != 1) throw ctx.ShapeError($"cannot squeeze axis {a} of size {inputShape[axis]}");
                drop[axis] = true;
            }
        }
        var shape = new System.Collections.Generic.List<int>();
        for (int i = 0; i < inputShape.Length; i++) if (!drop[i]) shape.Add(inputShape[i]);
        return shape.ToArray();
    }
}

/// <summary>Unsqueeze: axes from the attribute (opset &lt; 13) or a constant input (13+), relative to the output rank.</summary>
public sealed class Unsqueeze : ViewOperator
{
    public override string OpType => "Unsqueeze";

    protected override int[] OutputShape(OpContext ctx, int[] inputShape)
    {
        long[] axes = (ctx.Opset < 13 ? ctx.Ints("axes") : ctx.RequireConstant(1, "axes").AsLongs())
            ?? throw ctx.Invalid("the 'axes' attribute is required");
        int rank = inputShape.Length + axes.Length;
        var insert = new bool[rank];
        foreach (var a in axes)
        {
            int axis = ctx.Axis(a, rank);
            if (insert[axis]) throw ctx.Invalid($"axis {a} is repeated");
            insert[axis] = true;
        }
        var shape = new int[rank];
        for (int i = 0, j = 0; i < rank; i++) shape[i] = insert[i] ? 1 : inputShape[j++];
        return shape;
    }
}
