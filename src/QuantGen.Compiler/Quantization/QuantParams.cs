using System;

namespace QuantGen.Compiler.Quantization;

/// <summary>
/// Affine quantization of an activation tensor: real = (q - ZeroPoint) * Scale, q in [0, 255] (uint8).
/// </summary>
public readonly record struct QuantParams(float Scale, int ZeroPoint)
{
    /// <summary>
    /// Parameters covering [min, max] widened to include 0 (so 0 is exact: padding and ReLU rely on it).
    /// A range of width 0 gets scale 1, which keeps the all-zero tensor exact.
    /// </summary>
    public static QuantParams FromRange(float min, float max)
    {
        if (float.IsNaN(min) || float.IsNaN(max) || float.IsInfinity(min) || float.IsInfinity(max))
            throw new ArgumentException($"the range [{min}, {max}] is not finite");
        min = Math.Min(min, 0f);
        max = Math.Max(max, 0f);
        if (max == min)
            return new QuantParams(1f, 0);
        float scale = (max - min) / 255f;
        // The zero point is the q that represents 0.0, rounded half to even and kept inside [0, 255].
        int zeroPoint = (int)Math.Round(-min / scale, MidpointRounding.ToEven);
        return new QuantParams(scale, Math.Max(0, Math.Min(255, zeroPoint)));
    }

    /// <summary>q = clamp(round_half_even(x / s) + z, 0, 255); NaN maps to the zero point.</summary>
    public byte Quantize(float x) => QuantMath.QuantizeU8(x, Scale, ZeroPoint);

    public float Dequantize(int q) => (q - ZeroPoint) * Scale;

    /// <summary>The q of a real value, for clamp bounds (e.g. Relu's 0, ReLU6's 6).</summary>
    public int QuantizeBound(float x) => Quantize(x);

    public override string ToString() => $"scale {Scale.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}, zero point {ZeroPoint}";
}
