using System;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Quantization;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// ONNX DequantizeLinear (opset 10+; per axis from 13): y = (float)(x - x_zero_point) * x_scale for uint8, int8 and
/// int32 x. When it folds symmetric weights (int8 with zero points 0, or uint8 with zero points 128: a QDQ model's
/// weights), the reference records the int8 values and scales as the result's <see cref="WeightHint"/>, so INT8
/// compilation reuses the model's own weights.
/// </summary>
public sealed class DequantizeLinear : Operator
{
    public override string OpType => "DequantizeLinear";

    public override bool IsRuntimeInput(int index) => index == 0;

    internal static LinearQuantization Read(OpContext ctx)
    {
        ctx.InputShapeOrFail(0);
        return LinearQuantization.Read(ctx, ctx.InputShape(0), ctx.InputType(0));
    }

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.UInt8, DataType.Int8, DataType.Int32);
        Read(ctx);
        ctx.SetOutput(0, DataType.Float, ctx.InputShape(0));
    }

    public override string Describe(OpContext ctx)
    {
        var q = Read(ctx);
        return q.PerTensor
            ? $"from {q.Type}, scale {q.Scales[0].ToString("R", System.Globalization.CultureInfo.InvariantCulture)}, zero point {q.ZeroPoints[0]}"
            : $"from {q.Type}, per axis {q.Axis}";
    }

    public override void Evaluate(EvalContext ctx)
    {
        var q = Read(ctx);
        var x = ctx.Input(0);
        var xs = x.Longs!;
        var y = new float[xs.Length];
        for (int i = 0; i < y.Length; i++)
        {
            int c = q.Channel(i);
            y[i] = (float)((int)xs[i] - q.ZeroPoints[c]) * q.Scales[c];
        }
        var result = Tensor.FromFloats(x.Shape, y);
        // Symmetric weights: int8 with zero point 0, or uint8 with zero point 128 (the same grid shifted by 128).
        int offset = q.Type == DataType.Int8 ? 0 : 128;
        if (q.Type is DataType.Int8 or DataType.UInt8 && Array.TrueForAll(q.ZeroPoints, z => z == offset))
            WeightHint.Record(result, new WeightHint(x.Shape, Array.ConvertAll(xs, v => (sbyte)(v - offset)), (float[])q.Scales.Clone(), q.Axis));
        ctx.SetOutput(0, result);
    }

    public override void EmitKernel(Emit.KernelContext ctx)
    {
        var q = Read(ctx);
        string x = ctx.In(0), y = ctx.Out(0);
        ctx.W.Line("// (x - zero point) * scale, in float.");
        q.EmitLoops(ctx, (s, z) => ctx.W.Line(z == "0" ? $"{y}[i] = {x}[i] * {s};" : $"{y}[i] = ({x}[i] - {z}) * {s};"));
    }
}
