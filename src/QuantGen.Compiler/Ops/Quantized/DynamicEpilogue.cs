using System;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops.Quantized;

/// <summary>
/// The float epilogue of dynamically quantized QConv/QGemm: y = (acc - z_x * Σw[c]) * (s_x * s_w[c]) + bias[c], then
/// the fused activation. Inputs 2..5 of those ops: bias (float), weight_scale (float), weight_sum (int32), x_params
/// (float [2]: this call's input scale and zero point). Reference and generated code evaluate the same float
/// expressions in the same order, so they agree bit for bit.
/// </summary>
internal sealed class DynamicEpilogue
{
    private readonly float[] _bias, _weightScale;
    private readonly long[] _weightSum;
    private readonly float _xScale;

    private DynamicEpilogue(float[] bias, float[] weightScale, long[] weightSum, float xScale, int xZero)
    {
        _bias = bias;
        _weightScale = weightScale;
        _weightSum = weightSum;
        _xScale = xScale;
        XZero = xZero;
    }

    public int XZero { get; }

    public static DynamicEpilogue Read(EvalContext ctx)
    {
        var xParams = ctx.Input(5).Floats!;
        return new DynamicEpilogue(ctx.Input(2).Floats!, ctx.Input(3).Floats!, ctx.Input(4).Longs!, xParams[0], (int)xParams[1]);
    }

    public float Apply(int acc, int channel, FusedActivation? activation)
    {
        float scale = _xScale * _weightScale[channel];
        float v = (acc - XZero * (int)_weightSum[channel]) * scale + _bias[channel];
        return activation?.Apply(v) ?? v;
    }

    /// <summary>Declares sx and zx (this call's input quantization) at the top of the kernel.</summary>
    public static void EmitPreamble(KernelContext ctx)
    {
        ctx.W.Line($"// Dynamic quantization: the input was quantized for this call with scale sx and zero point zx.");
        ctx.W.Line($"float sx = {ctx.In(5)}[0];");
        ctx.W.Line($"int zx = (int){ctx.In(5)}[1];");
    }

    public static void EmitStore(KernelContext ctx, string target, string acc, string channel)
    {
        ctx.W.Line($"float v = ({acc} - zx * {ctx.In(4)}[{channel}]) * (sx * {ctx.In(3)}[{channel}]) + {ctx.In(2)}[{channel}];");
        ctx.W.Line($"{target} = {ctx.Activate("v")};");
    }
}
