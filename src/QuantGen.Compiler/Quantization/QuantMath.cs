using System;

namespace QuantGen.Compiler.Quantization;

/// <summary>
/// The integer arithmetic of QuantGen's INT8 kernels, in one place. Generated code and the reference kernels
/// both follow these definitions exactly, so they agree bit for bit.
/// </summary>
public static class QuantMath
{
    /// <summary>
    /// uint8 quantization: clamp(round_half_even(x / scale) + zeroPoint, 0, 255). NaN becomes the zero point.
    /// x / scale is a float division, so every implementation must divide (not multiply by a reciprocal).
    /// </summary>
    public static byte QuantizeU8(float x, float scale, int zeroPoint)
    {
        float r = x / scale;
        if (float.IsNaN(r)) return (byte)zeroPoint;
        // Clamp before converting: r may be far outside int range.
        if (r >= 512f) return 255;
        if (r <= -512f) return 0;
        int q = (int)Math.Round(r, MidpointRounding.ToEven) + zeroPoint;
        return (byte)(q < 0 ? 0 : q > 255 ? 255 : q);
    }

    /// <summary>
    /// A real multiplier as a 32-bit fixed-point value and a right shift: m ≈ multiplier * 2^-shift,
    /// multiplier in [2^30, 2^31). Requantization then needs only integer arithmetic (see <see cref="Requantize"/>).
    /// </summary>
    public static (int Multiplier, int Shift) FixedPoint(double m)
    {
        if (!(m > 0) || double.IsInfinity(m))
            throw new ArgumentException($"the multiplier {m} must be positive and finite");
        int shift = 31;
        // Normalize into [0.5, 1) by powers of two, counting the shift.
        while (m < 0.5) { m *= 2; shift++; }
        while (m >= 1.0) { m /= 2; shift--; }
        long q = (long)Math.Round(m * (1L << 31), MidpointRounding.ToEven);
        if (q == 1L << 31) { q >>= 1; shift--; }
        if (shift < 1 || shift > 62)
            throw new ArgumentException($"the multiplier {m} is outside what 32-bit requantization can represent");
        return ((int)q, shift);
    }

    /// <summary>
    /// round(acc * multiplier * 2^-shift) with ties rounded up (toward +∞), computed exactly in 64 bits:
    /// (acc * multiplier + 2^(shift-1)) >> shift, an arithmetic shift.
    /// </summary>
    public static int Requantize(int acc, int multiplier, int shift) =>
        (int)(((long)acc * multiplier + (1L << (shift - 1))) >> shift);

    /// <summary>Requantize, add the output zero point and clamp to [lo, hi] (the fused Relu/Clip bounds).</summary>
    public static byte RequantizeToU8(int acc, int multiplier, int shift, int zeroPoint, int lo, int hi)
    {
        int q = Requantize(acc, multiplier, shift) + zeroPoint;
        return (byte)(q < lo ? lo : q > hi ? hi : q);
    }
}
