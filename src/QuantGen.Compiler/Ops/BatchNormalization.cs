using System;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// BatchNormalization at inference: y = (x - mean) / sqrt(var + epsilon) * scale + B per channel.
/// <c>FoldBatchNormalization</c> folds it into a preceding Conv or Gemm; what remains runs as y = x * a[c] + b[c].
/// </summary>
public sealed class BatchNormalization : Operator
{
    public override string OpType => "BatchNormalization";
    public override bool CanFuseActivation => true;
    public override bool IsRuntimeInput(int index) => index == 0;

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.Float);
        var x = ctx.InputShapeOrFail(0);
        if (x.Length < 2) throw ctx.ShapeError($"the input must be N x C x ..., got {Shapes.Format(x)}");
        if (ctx.Int("training_mode", 0) != 0) throw ctx.Unsupported("training_mode = 1");
        if (ctx.Opset < 9 && ctx.Int("spatial", 1) == 0) throw ctx.Unsupported("spatial = 0");
        for (int i = 1; i < ctx.OutputCount; i++)
            if (ctx.Node.Outputs[i].Length > 0) throw ctx.Unsupported("the training outputs (running mean and variance)");
        for (int i = 1; i <= 4; i++)
        {
            var s = ctx.InputShapeOrFail(i);
            if (Shapes.ElementCount(s) != x[1]) throw ctx.ShapeError($"input {i} has {Shapes.ElementCount(s)} values for {x[1]} channels");
        }
        ctx.SetOutput(0, DataType.Float, x);
    }

    /// <summary>Per-channel (a, b) with y = a * x + b, computed from the four constant inputs.</summary>
    public static (float[] A, float[] B) Coefficients(OpContext ctx)
    {
        var scale = ctx.RequireConstant(1, "scale").AsFloats();
        var bias = ctx.RequireConstant(2, "B").AsFloats();
        var mean = ctx.RequireConstant(3, "mean").AsFloats();
        var variance = ctx.RequireConstant(4, "var").AsFloats();
        float epsilon = ctx.Float("epsilon", 1e-5f);
        var a = new float[scale.Length];
        var b = new float[scale.Length];
        for (int c = 0; c < a.Length; c++)
        {
            a[c] = (float)(scale[c] / Math.Sqrt(variance[c] + epsilon));
            b[c] = bias[c] - mean[c] * a[c];
        }
        return (a, b);
    }

    public override void Evaluate(EvalContext ctx)
    {
        var x = ctx.Input(0);
        var (a, b) = Coefficients(ctx);
        int channels = x.Shape[1], plane = x.Length / Math.Max(1, x.Shape[0] * channels);
        var xf = x.AsFloats();
        var y = new float[xf.Length];
        for (int i = 0; i < y.Length; i++)
        {
            int c = i / plane % channels;
            y[i] = xf[i] * a[c] + b[c];
        }
        ctx.SetOutput(0, Tensor.FromFloats(x.Shape, y));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var x = ctx.InputShape(0);
        var (a, b) = Coefficients(ctx);
        int channels = x[1], plane = Shapes.ElementCount(x) / Math.Max(1, x[0] * channels);
        string ae = ctx.Embed("Scale", Tensor.FromFloats(new[] { channels }, a));
        string be = ctx.Embed("Shift", Tensor.FromFloats(new[] { channels }, b));
        var w = ctx.W;
        w.Line("// y = x * scale[c] + shift[c], with scale and shift folded from the four BatchNormalization inputs at build time.");
        using (w.Block($"for (int nc = 0; nc < {x[0] * channels}; nc++)"))
        {
            w.Line($"int c = nc % {channels};");
            w.Line($"float s = {ae}[c], t = {be}[c];");
            using (w.Block($"for (int i = nc * {plane}; i < (nc + 1) * {plane}; i++)"))
            {
                w.Line($"float v = {ctx.In(0)}[i] * s + t;");
                w.Line($"{ctx.Out(0)}[i] = {ctx.Activate("v")};");
            }
        }
    }
}
