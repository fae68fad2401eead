using System;
using System.Linq;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// The scale and zero point of ONNX QuantizeLinear/DequantizeLinear: per tensor (scalar or one-element scale), or per
/// axis from opset 13 (a 1-D scale along <c>axis</c>, default 1). Scale and zero point must be known at build time.
/// </summary>
internal sealed class LinearQuantization
{
    public float[] Scales = null!;
    public int[] ZeroPoints = null!;

    /// <summary>The axis the parameters run along, or -1 per tensor.</summary>
    public int Axis = -1;

    /// <summary>The integer type (uint8, int8, or int32 for DequantizeLinear) and its range.</summary>
    public DataType Type;
    public int Min, Max;

    /// <summary>The tensor seen as [Outer, Channels, Inner] (Channels 1 per tensor).</summary>
    public int Outer, Channels, Inner;

    public bool PerTensor => Axis < 0;

    /// <param name="quantizedType">The integer side's type: QuantizeLinear's output, DequantizeLinear's input.</param>
    public static LinearQuantization Read(OpContext ctx, int[] shape, DataType quantizedType)
    {
        if (ctx.Int("block_size", 0) != 0)
            throw ctx.Unsupported("blocked quantization (block_size)");
        var scale = ctx.RequireConstant(1, "scale");
        if (scale.Type != DataType.Float)
            throw ctx.Unsupported($"a {scale.Type} scale (float32 is supported)");
        var zero = ctx.HasInput(2) ? ctx.RequireConstant(2, "zero point") : null;
        if (zero != null && zero.Type != quantizedType)
            throw ctx.Invalid($"the zero point is {zero.Type} but the quantized tensor is {quantizedType}");
        var q = new LinearQuantization { Type = quantizedType };
        (q.Min, q.Max) = quantizedType switch
        {
            DataType.UInt8 => (0, 255),
            DataType.Int8 => (-128, 127),
            DataType.Int32 => (int.MinValue, int.MaxValue),
            _ => throw ctx.Unsupported($"{quantizedType} quantized values (uint8, int8 and, for DequantizeLinear, int32 are supported)"),
        };
        bool perTensor = scale.Shape.Length == 0 || (scale.Shape.Length == 1 && scale.Length == 1);
        if (perTensor)
        {
            q.Outer = 1;
            q.Channels = 1;
            q.Inner = Shapes.ElementCount(shape);
        }
        else
        {
            if (ctx.Opset < 13)
                throw ctx.Invalid($"the scale must be a scalar before opset 13, got shape {Shapes.Format(scale.Shape)}");
            if (scale.Shape.Length != 1)
                throw ctx.Invalid($"the scale must be a scalar or 1-D, got shape {Shapes.Format(scale.Shape)}");
            if (shape.Length == 0)
                throw ctx.ShapeError("a per-axis scale needs an input of rank 1 or more");
            q.Axis = ctx.Axis(ctx.Int("axis", 1), shape.Length);
            if (scale.Length != shape[q.Axis])
                throw ctx.ShapeError($"the scale has {scale.Length} values but axis {q.Axis} of the input {Shapes.Format(shape)} has {shape[q.Axis]}");
            q.Outer = Shapes.ElementCount(shape.Take(q.Axis).ToArray());
            q.Channels = shape[q.Axis];
            q.Inner = Shapes.ElementCount(shape.Skip(q.Axis + 1).ToArray());
        }
        if (zero != null && zero.Length != scale.Length)
            throw ctx.ShapeError($"the zero point has {zero.Length} values, the scale {scale.Length}");
        q.Scales = scale.Floats!;
        q.ZeroPoints = zero == null ? new int[scale.Length] : zero.Longs!.Select(v => (int)v).ToArray();
        if (quantizedType == DataType.Int32 && q.ZeroPoints.Any(z => z != 0))
            throw ctx.Invalid("an int32 zero point must be 0");
        return q;
    }

    /// <summary>Scale and zero point of element <paramref name="i"/>.</summary>
    public int Channel(int i) => PerTensor ? 0 : i / Inner % Channels;

    /// <summary>
    /// ONNX QuantizeLinear of one value: saturate(round_half_even(x / scale) + zero point) into [min, max]. x / scale is a
    /// float division; NaN gives the zero point.
    /// </summary>
    public static int Quantize(float x, float scale, int zeroPoint, int min, int max)
    {
        float r = x / scale;
        if (float.IsNaN(r)) return zeroPoint;
        // Saturate before converting: r may be far outside the int range (the zero point is within ±255).
        if (r >= 1024f) return max;
        if (r <= -1024f) return min;
        int q = (int)Math.Round(r, MidpointRounding.ToEven) + zeroPoint;
        return q < min ? min : q > max ? max : q;
    }

    /// <summary>
    /// Writes the loop nest over [Outer, Channels, Inner] with <c>s</c> and <c>z</c> (the element's scale and zero point:
    /// literals per tensor, read from tables per axis) and <c>i</c> (the flat index) in scope of <paramref name="body"/>.
    /// </summary>
    public void EmitLoops(KernelContext ctx, Action<string, string> body)
    {
        var w = ctx.W;
        if (PerTensor)
        {
            using (w.Block($"for (int i = 0; i < {Inner}; i++)"))
                body(CSharp.Float(Scales[0]), CSharp.Int(ZeroPoints[0]));
            return;
        }
        w.Line($"ReadOnlySpan<float> scales = new float[] {{ {string.Join(", ", Scales.Select(CSharp.Float))} }};");
        w.Line($"ReadOnlySpan<int> zeroPoints = new int[] {{ {string.Join(", ", ZeroPoints.Select(z => CSharp.Int(z)))} }};");
        w.Line($"// Per axis {Axis}: {Channels} scales and zero points.");
        using (w.Block($"for (int o = 0; o < {Outer}; o++)"))
        using (w.Block($"for (int c = 0; c < {Channels}; c++)"))
        {
            w.Line("float s = scales[c];");
            w.Line("int z = zeroPoints[c];");
            w.Line($"int at = (o * {Channels} + c) * {Inner};");
            using (w.Block($"for (int i = at; i < at + {Inner}; i++)"))
                body("s", "z");
        }
    }
}

/// <summary>
/// ONNX QuantizeLinear (opset 10+; per axis from 13): y = saturate(round_half_even(x / y_scale) + y_zero_point), uint8
/// (default) or int8 as the zero point's type (or output_dtype, opset 21). The float path computes exactly this; the
/// INT8 path folds activation Q/DQ pairs into quantization parameters instead (see Passes.FoldQdq).
/// </summary>
public sealed class QuantizeLinear : Operator
{
    public override string OpType => "QuantizeLinear";

    public override bool IsRuntimeInput(int index) => index == 0;

    private static DataType OutputType(OpContext ctx)
    {
        if (ctx.HasInput(2)) return ctx.InputType(2);
        long dtype = ctx.Int("output_dtype", 0);
        return dtype switch
        {
            0 or 2 => DataType.UInt8,
            3 => DataType.Int8,
            _ => throw ctx.Unsupported($"output_dtype {DataTypes.OnnxName((int)dtype)} (uint8 and int8 are supported)"),
        };
    }

    internal static LinearQuantization Read(OpContext ctx)
    {
        var type = OutputType(ctx);
        if (type is not (DataType.UInt8 or DataType.Int8))
            throw ctx.Unsupported($"{type} output (uint8 and int8 are supported)");
        return LinearQuantization.Read(ctx, ctx.InputShapeOrFail(0), type);
    }

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.Float);
        var q = Read(ctx);
        ctx.SetOutput(0, q.Type, ctx.InputShape(0));
    }

    public override string Describe(OpContext ctx)
    {
        var q = Read(ctx);
        return q.PerTensor
            ? $"to {q.Type}, scale {q.Scales[0].ToString("R", System.Globalization.CultureInfo.InvariantCulture)}, zero point {q.ZeroPoints[0]}"
            : $"to {q.Type}, per axis {q.Axis}";
    }

    public override void Evaluate(EvalContext ctx)
    {
        var q = Read(ctx);
        var x = ctx.Input(0);
        var xs = x.Floats!;
        var y = new long[xs.Length];
        for (int i = 0; i < y.Length; i++)
        {
            int c = q.Channel(i);
            y[i] = LinearQuantization.Quantize(xs[i], q.Scales[c], q.ZeroPoints[c], q.Min, q.Max);
        }
        ctx.SetOutput(0, Tensor.FromLongs(q.Type, x.Shape, y));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var q = Read(ctx);
        string x = ctx.In(0), y = ctx.Out(0), cast = q.Type.CSharpName();
        ctx.W.Line($"// round_half_even(x / scale) + zero point, saturated to [{q.Min}, {q.Max}]; NaN gives the zero point.");
        q.EmitLoops(ctx, (s, z) =>
        {
            ctx.W.Line($"float r = {x}[i] / {s};");
            ctx.W.Line($"int q = float.IsNaN(r) ? {z} : r >= 1024f ? {q.Max} : r <= -1024f ? {q.Min} : (int)MathF.Round(r) + {z};");
            ctx.W.Line($"{y}[i] = ({cast})(q < {q.Min} ? {q.Min} : q > {q.Max} ? {q.Max} : q);");
        });
    }
}
