namespace QuantGen.Compiler.Ir;

public enum ActivationKind { Relu, Clip, LeakyRelu, HardSigmoid, HardSwish, Sigmoid, Tanh }

/// <summary>An elementwise activation applied to a kernel's result before it is stored.</summary>
public sealed record FusedActivation(ActivationKind Kind, float Alpha = 0, float Beta = 0, float Min = float.NegativeInfinity, float Max = float.PositiveInfinity)
{
    /// <summary>The node the activation came from, for the generated comment.</summary>
    public string SourceNode { get; init; } = "";

    public float Apply(float x) => Kind switch
    {
        ActivationKind.Relu => x < 0 ? 0 : x,
        ActivationKind.Clip => x < Min ? Min : x > Max ? Max : x,
        ActivationKind.LeakyRelu => x < 0 ? Alpha * x : x,
        ActivationKind.HardSigmoid => System.Math.Max(0, System.Math.Min(1, Alpha * x + Beta)),
        ActivationKind.HardSwish => x * System.Math.Max(0, System.Math.Min(1, x * (1f / 6f) + 0.5f)),
        ActivationKind.Sigmoid => (float)(1.0 / (1.0 + System.Math.Exp(-x))),
        ActivationKind.Tanh => (float)System.Math.Tanh(x),
        _ => x,
    };

    public string Describe() => Kind switch
    {
        ActivationKind.Clip => $"Clip[{Min.ToString(System.Globalization.CultureInfo.InvariantCulture)}, {Max.ToString(System.Globalization.CultureInfo.InvariantCulture)}]",
        ActivationKind.LeakyRelu => $"LeakyRelu({Alpha.ToString(System.Globalization.CultureInfo.InvariantCulture)})",
        _ => Kind.ToString(),
    };
}
