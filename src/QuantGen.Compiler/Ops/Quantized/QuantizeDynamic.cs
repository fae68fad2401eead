using System;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Quantization;

namespace QuantGen.Compiler.Ops.Quantized;

/// <summary>
/// Per-call quantization of a float tensor to uint8 (used when there is no calibration): the range is the tensor's
/// own finite min and max widened to include 0, as <see cref="QuantParams.FromRange"/> computes it. Outputs the uint8
/// tensor and its [scale, zero point] as a float[2].
/// </summary>
public sealed class QuantizeDynamic : Operator
{
    public override string OpType => "QuantizeDynamic";

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.Float);
        ctx.SetOutput(0, DataType.UInt8, ctx.InputShape(0));
        ctx.SetOutput(1, DataType.Float, new[] { 2 });
    }

    public override void Evaluate(EvalContext ctx)
    {
        var x = ctx.Input(0).Floats!;
        float min = 0f, max = 0f;
        foreach (var v in x)
        {
            if (float.IsNaN(v) || float.IsInfinity(v)) continue;
            if (v < min) min = v;
            if (v > max) max = v;
        }
        var p = QuantParams.FromRange(min, max);
        ctx.SetOutput(0, Tensor.FromLongs(DataType.UInt8, ctx.Input(0).Shape, Array.ConvertAll(x, v => (long)p.Quantize(v))));
        ctx.SetOutput(1, Tensor.FromFloats(new[] { 2 }, new[] { p.Scale, p.ZeroPoint }));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        int n = Shapes.ElementCount(ctx.InputShape(0));
        var w = ctx.W;
        string x = ctx.In(0);
        w.Line("// The range of this call's values (finite ones), widened to include 0.");
        w.Line("float min = 0f, max = 0f;");
        using (w.Block($"for (int i = 0; i < {n}; i++)"))
        {
            w.Line($"float v = {x}[i];");
            w.Line("if (!float.IsFinite(v)) continue;");
            w.Line("if (v < min) min = v;");
            w.Line("if (v > max) max = v;");
        }
        w.Line("float scale = 1f;");
        w.Line("int zeroPoint = 0;");
        using (w.Block("if (max != min)"))
        {
            w.Line("scale = (max - min) / 255f;");
            w.Line("zeroPoint = Math.Clamp((int)MathF.Round(-min / scale), 0, 255);");
        }
        w.Line($"{ctx.Helper(KernelHelpers.QuantizeRowU8)}({x}.Slice(0, {n}), {ctx.Out(0)}.Slice(0, {n}), scale, zeroPoint);");
        w.Line($"{ctx.Out(1)}[0] = scale;");
        w.Line($"{ctx.Out(1)}[1] = zeroPoint;");
    }
}
