using System;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// Pow: X ^ Y elementwise with NumPy broadcasting; the result has X's type. X is float, int32 or int64, Y any of
/// those (opset 12+ allows them to differ). Floats follow C's pow (pow(x, ±0) = 1, pow(1, NaN) = 1, pow(-8, 1/3) = NaN);
/// an integer base is raised in double and truncated, as ONNX Runtime does. A build-time exponent of 2 (LayerNorm's
/// variance, as exporters write it) becomes x * x and 1 becomes x (both exact).
/// </summary>
public sealed class Pow : Operator
{
    public override string OpType => "Pow";

    private static readonly DataType[] Types = { DataType.Float, DataType.Int32, DataType.Int64 };

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, Types);
        ctx.RequireType(1, Types);
        if (ctx.Opset < 12 && ctx.InputType(0) != ctx.InputType(1))
            throw ctx.Invalid($"before opset 12 the base and exponent must have the same type ({ctx.InputType(0)} and {ctx.InputType(1)})");
        ctx.SetOutput(0, ctx.InputType(0), Broadcasting.OutputShape(ctx, ctx.InputShapeOrFail(0), ctx.InputShapeOrFail(1)));
    }

    public override void Evaluate(EvalContext ctx)
    {
        var x = ctx.Input(0);
        var y = ctx.Input(1);
        var shape = Broadcasting.OutputShape(ctx, x.Shape, y.Shape);
        var mx = Broadcasting.IndexMap(x.Shape, shape);
        var my = Broadcasting.IndexMap(y.Shape, shape);
        int n = mx.Length;
        if (x.Type == DataType.Float)
        {
            var r = new float[n];
            for (int i = 0; i < n; i++) r[i] = Float(x.Floats![mx[i]], (float)y[my[i]]);
            ctx.SetOutput(0, Tensor.FromFloats(shape, r));
        }
        else
        {
            var r = new long[n];
            for (int i = 0; i < n; i++) r[i] = Integer(x.Type, x.Longs![mx[i]], y[my[i]]);
            ctx.SetOutput(0, Tensor.FromLongs(x.Type, shape, r));
        }
    }

    private static float Float(float x, float y) => y == 2f ? x * x : (float)Math.Pow(x, y);

    private static long Integer(DataType type, long x, double y) => type == DataType.Int32 ? (int)Math.Pow(x, y) : (long)Math.Pow(x, y);

    /// <summary>A constant scalar exponent is a literal in the code, not embedded data.</summary>
    public override bool EmbedsConstant(OpContext ctx, int index) => index != 1 || ctx.InputConstant(1) is not { Length: 1 };

    public override void EmitKernel(KernelContext ctx)
    {
        var x = Operand.FromSpan(ctx.In(0), ctx.InputShape(0));
        var exponent = ctx.InputConstant(1);
        var outputType = ctx.OutputType(0);
        if (outputType == DataType.Float && exponent != null && exponent.Length == 1)
        {
            // Exact rewrites only: x * x is correctly rounded like pow(x, 2); pow(x, 0.5) differs from sqrt at -0 and -inf.
            float e = (float)exponent[0];
            string? special = e switch
            {
                2f => "{0} * {0}",
                1f => "{0}",
                _ => null,
            };
            if (special != null)
            {
                ctx.W.Line($"// Pow with the build-time exponent {CSharp.Float(e)}.");
                ElementwiseLoop.Emit(ctx, ctx.OutputShape(0), new[] { x }, v => string.Format(special, v[0]));
                return;
            }
        }
        var operands = new[] { x, ElementwiseOperands.For(ctx, 1) };
        string yType = ctx.InputType(1) == DataType.Float ? "" : "(float)";
        ElementwiseLoop.Emit(ctx, ctx.OutputShape(0), operands, outputType switch
        {
            DataType.Float => v => $"MathF.Pow({v[0]}, {yType}{v[1]})",
            DataType.Int32 => v => $"(int)Math.Pow({v[0]}, {v[1]})",
            _ => v => $"(long)Math.Pow({v[0]}, {v[1]})",
        });
    }
}
