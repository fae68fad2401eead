using System;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// Elementwise activations: Relu, LeakyRelu, Clip, Sigmoid, Tanh, HardSigmoid, HardSwish. Each is described by a
/// <see cref="FusedActivation"/>, the same object <c>FuseActivations</c> attaches to the producing kernel, so the
/// standalone and fused forms share one definition.
/// </summary>
public abstract class ActivationOperator : Operator
{
    /// <summary>The activation this node computes, from its attributes (and constant inputs, for Clip).</summary>
    public abstract FusedActivation Describe(OpContext ctx, bool validate = true);

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.Float);
        Describe(ctx);
        ctx.SetOutput(0, DataType.Float, ctx.InputShape(0));
    }

    public override void Evaluate(EvalContext ctx)
    {
        var a = Describe(ctx);
        var x = ctx.Input(0);
        ctx.SetOutput(0, Tensor.FromFloats(x.Shape, Array.ConvertAll(x.AsFloats(), a.Apply)));
    }

    public override bool IsRuntimeInput(int index) => index == 0;

    public override void EmitKernel(KernelContext ctx)
    {
        var a = Describe(ctx);
        int n = Shapes.ElementCount(ctx.OutputShape(0));
        string x = ctx.In(0), y = ctx.Out(0);
        using (ctx.W.Block($"for (int i = 0; i < {n}; i++)"))
        {
            ctx.W.Line($"float v = {x}[i];");
            ctx.W.Line($"{y}[i] = {ActivationExpression(a, "v")};");
        }
    }

    /// <summary>The C# expression of <paramref name="a"/> applied to the variable <paramref name="v"/>.</summary>
    internal static string ActivationExpression(FusedActivation a, string v) => a.Kind switch
    {
        ActivationKind.Relu => $"{v} < 0f ? 0f : {v}",
        ActivationKind.Clip => $"MathF.Min(MathF.Max({v}, {CSharp.Float(a.Min)}), {CSharp.Float(a.Max)})",
        ActivationKind.LeakyRelu => $"{v} < 0f ? {v} * {CSharp.Float(a.Alpha)} : {v}",
        ActivationKind.HardSigmoid => $"MathF.Max(0f, MathF.Min(1f, {CSharp.Float(a.Alpha)} * {v} + {CSharp.Float(a.Beta)}))",
        ActivationKind.HardSwish => $"{v} * MathF.Max(0f, MathF.Min(1f, {v} * {CSharp.Float(1f / 6f)} + 0.5f))",
        ActivationKind.Sigmoid => $"1f / (1f + MathF.Exp(-{v}))",
        ActivationKind.Tanh => $"MathF.Tanh({v})",
        _ => throw new ArgumentOutOfRangeException(nameof(a)),
    };
}

public sealed class Relu : ActivationOperator
{
    public override string OpType => "Relu";
    public override FusedActivation Describe(OpContext ctx, bool validate = true) => new(ActivationKind.Relu) { SourceNode = ctx.Node.Name };
}

public sealed class LeakyRelu : ActivationOperator
{
    public override string OpType => "LeakyRelu";
    public override FusedActivation Describe(OpContext ctx, bool validate = true) =>
        new(ActivationKind.LeakyRelu, Alpha: ctx.Float("alpha", 0.01f)) { SourceNode = ctx.Node.Name };
}

public sealed class Sigmoid : ActivationOperator
{
    public override string OpType => "Sigmoid";
    public override FusedActivation Describe(OpContext ctx, bool validate = true) => new(ActivationKind.Sigmoid) { SourceNode = ctx.Node.Name };
}

public sealed class Tanh : ActivationOperator
{
    public override string OpType => "Tanh";
    public override FusedActivation Describe(OpContext ctx, bool validate = true) => new(ActivationKind.Tanh) { SourceNode = ctx.Node.Name };
}

public sealed class HardSigmoid : ActivationOperator
{
    public override string OpType => "HardSigmoid";
    public override FusedActivation Describe(OpContext ctx, bool validate = true) =>
        new(ActivationKind.HardSigmoid, Alpha: ctx.Float("alpha", 0.2f), Beta: ctx.Float("beta", 0.5f)) { SourceNode = ctx.Node.Name };
}

public sealed class HardSwish : ActivationOperator
{
    public override string OpType => "HardSwish";
    public override FusedActivation Describe(OpContext ctx, bool validate = true) => new(ActivationKind.HardSwish) { SourceNode = ctx.Node.Name };
}

/// <summary>Clip: bounds from attributes (opset &lt; 11) or from optional constant inputs (opset 11+).</summary>
public sealed class Clip : ActivationOperator
{
    public override string OpType => "Clip";

    public override FusedActivation Describe(OpContext ctx, bool validate = true)
    {
        float min = float.NegativeInfinity, max = float.PositiveInfinity;
        if (ctx.Opset < 11)
        {
            min = ctx.Float("min", min);
            max = ctx.Float("max", max);
        }
        else
        {
            if (ctx.HasInput(1)) min = Scalar(ctx, 1, "min");
            if (ctx.HasInput(2)) max = Scalar(ctx, 2, "max");
        }
        return new FusedActivation(ActivationKind.Clip, Min: min, Max: max) { SourceNode = ctx.Node.Name };
    }

    private static float Scalar(OpContext ctx, int index, string what)
    {
        var t = ctx.RequireConstant(index, what);
        if (t.Length != 1) throw ctx.Invalid($"'{what}' must be a scalar, got shape {Shapes.Format(t.Shape)}");
        return (float)t[0];
    }
}
