using System;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// Cast between float, int64, int32, int8, uint8 and bool. Integers narrow by wrapping (two's complement), anything
/// becomes bool as "!= 0" (NaN is true), bool becomes 0 or 1. Float to integer truncates toward zero; ONNX leaves
/// out-of-range values undefined, and QuantGen gives .NET's answer (saturation, NaN to 0) in both the reference and
/// the kernel. On build-time inputs (shape arithmetic, masks) it folds.
/// </summary>
public sealed class Cast : Operator
{
    public override string OpType => "Cast";

    private static DataType Target(OpContext ctx)
    {
        long to = ctx.Int("to");
        if (to is < int.MinValue or > int.MaxValue)
            throw ctx.Invalid($"'to' is {to}, which is not an ONNX element type");
        var type = DataTypes.FromOnnx((int)to) ?? throw ctx.Unsupported($"a cast to {DataTypes.OnnxName((int)to)} (supported: FLOAT, INT64, INT32, INT8, UINT8, BOOL)");
        if (ctx.HasAttribute("saturate") && ctx.Int("saturate", 1) is not (0 or 1))
            throw ctx.Invalid("'saturate' must be 0 or 1");
        return type;
    }

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, TensorIndexing.AnyType);
        ctx.SetOutput(0, Target(ctx), ctx.InputShapeOrFail(0));
    }

    public override string Describe(OpContext ctx) => $"{ctx.InputType(0)} to {Target(ctx)}";

    public override void Evaluate(EvalContext ctx) => ctx.SetOutput(0, ElementTypes.Convert(ctx.Input(0), Target(ctx)));

    public override void EmitKernel(KernelContext ctx)
    {
        var from = ctx.InputType(0);
        var to = ctx.OutputType(0);
        ElementwiseLoop.Emit(ctx, ctx.OutputShape(0), new[] { Operand.FromSpan(ctx.In(0), ctx.InputShape(0)) }, e => ElementTypes.ConvertExpression(e[0], from, to));
    }
}

/// <summary>
/// CastLike (opset 15): Cast to the element type of the second input, whose values are not read (the dynamo exporter
/// writes it to keep constants in the model's precision).
/// </summary>
public sealed class CastLike : Operator
{
    public override string OpType => "CastLike";

    // Both inputs count as run-time ones although the kernel never reads the second: a constant input cast like a
    // run-time tensor must not fold, because folding sees only constants and would not know the target type.
    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, TensorIndexing.AnyType);
        ctx.RequireType(1, TensorIndexing.AnyType);
        if (ctx.HasAttribute("saturate") && ctx.Int("saturate", 1) is not (0 or 1))
            throw ctx.Invalid("'saturate' must be 0 or 1");
        ctx.SetOutput(0, ctx.InputType(1), ctx.InputShapeOrFail(0));
    }

    public override string Describe(OpContext ctx) => $"{ctx.InputType(0)} to {ctx.InputType(1)}";

    public override void Evaluate(EvalContext ctx) => ctx.SetOutput(0, ElementTypes.Convert(ctx.Input(0), ctx.InputType(1)));

    public override void EmitKernel(KernelContext ctx)
    {
        var from = ctx.InputType(0);
        var to = ctx.OutputType(0);
        ElementwiseLoop.Emit(ctx, ctx.OutputShape(0), new[] { Operand.FromSpan(ctx.In(0), ctx.InputShape(0)) }, e => ElementTypes.ConvertExpression(e[0], from, to));
    }
}

/// <summary>Conversions between the element types a <see cref="Tensor"/> holds, shared by Cast and the ops that cast implicitly.</summary>
internal static class ElementTypes
{
    /// <summary>An integer result brought into <paramref name="type"/>'s range the way a C# unchecked cast does it.</summary>
    public static long Wrap(DataType type, long v) => type switch
    {
        DataType.Int32 => unchecked((int)v),
        DataType.Int8 => unchecked((sbyte)v),
        DataType.UInt8 => unchecked((byte)v),
        DataType.Bool => v != 0 ? 1 : 0,
        _ => v,
    };

    /// <summary>A float truncated toward zero into an integer type (.NET semantics: saturating, NaN to 0).</summary>
    public static long FromFloat(DataType type, float f) => type switch
    {
        DataType.Int64 => (long)f,
        DataType.Int32 => (int)f,
        DataType.Int8 => (sbyte)f,
        DataType.UInt8 => (byte)f,
        DataType.Bool => f != 0 ? 1 : 0,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static Tensor Convert(Tensor x, DataType to)
    {
        if (to == DataType.Float)
            return x.Type == DataType.Float ? x : Tensor.FromFloats(x.Shape, Array.ConvertAll(x.Longs!, v => (float)v));
        return Tensor.FromLongs(to, x.Shape, x.Type == DataType.Float
            ? Array.ConvertAll(x.Floats!, f => FromFloat(to, f))
            : Array.ConvertAll(x.Longs!, v => Wrap(to, v)));
    }

    /// <summary>The C# expression converting the variable <paramref name="v"/> of type <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static string ConvertExpression(string v, DataType from, DataType to)
    {
        if (from == to) return v;
        if (to == DataType.Bool) return from == DataType.Float ? $"{v} != 0f" : $"{v} != 0";
        if (from == DataType.Bool) return $"{v} ? {TensorIndexing.Literal(to, 1)} : {TensorIndexing.Literal(to, 0)}";
        return $"unchecked(({to.CSharpName()}){v})";
    }
}
