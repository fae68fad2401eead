using System;
using System.Numerics;
using QuantGen.Compiler.Quantization;
using Xunit;

namespace QuantGen.Compiler.Tests.Quantization;

public class QuantMathTests
{
    [Theory]
    [InlineData(0.5f, 10)]
    [InlineData(1.5f, 12)]
    [InlineData(2.5f, 12)]
    [InlineData(3.5f, 14)]
    [InlineData(-0.5f, 10)]
    [InlineData(-1.5f, 8)]
    [InlineData(-2.5f, 8)]
    [InlineData(0.49999997f, 10)]
    [InlineData(0.50000006f, 11)]
    public void QuantizeU8_rounds_half_to_even(float x, int expected)
    {
        Assert.Equal(expected, QuantMath.QuantizeU8(x, 1f, 10));
    }

    [Fact]
    public void QuantizeU8_rounds_after_a_float_division()
    {
        // 0.3 / 0.1 is 2.9999998f in float: rounds to 3; a reciprocal multiply could differ elsewhere, the division is the definition.
        for (int i = -300; i <= 300; i++)
        {
            float x = i * 0.037f;
            float r = x / 0.0123f;
            int expected = Math.Clamp((int)Math.Round((double)r, MidpointRounding.ToEven) + 128, 0, 255);
            Assert.Equal(expected, QuantMath.QuantizeU8(x, 0.0123f, 128));
        }
    }

    [Theory]
    [InlineData(127.5f, 128, 255)]    // 128 + 128 = 256 saturates
    [InlineData(126.5f, 128, 254)]    // 126 (even) + 128
    [InlineData(-128.4f, 128, 0)]
    [InlineData(-129f, 128, 0)]
    [InlineData(1e10f, 0, 255)]
    [InlineData(-1e10f, 255, 0)]
    [InlineData(float.MaxValue, 3, 255)]
    [InlineData(float.MinValue, 3, 0)]
    [InlineData(float.PositiveInfinity, 0, 255)]
    [InlineData(float.NegativeInfinity, 255, 0)]
    [InlineData(511.9f, 0, 255)]
    [InlineData(-511.9f, 255, 0)]
    [InlineData(-255f, 255, 0)]
    [InlineData(-254.6f, 255, 0)]
    [InlineData(-254.4f, 255, 1)]
    public void QuantizeU8_saturates_at_both_ends(float x, int zeroPoint, int expected)
    {
        Assert.Equal(expected, QuantMath.QuantizeU8(x, 1f, zeroPoint));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(77)]
    [InlineData(255)]
    public void QuantizeU8_maps_NaN_to_the_zero_point(int zeroPoint)
    {
        Assert.Equal(zeroPoint, QuantMath.QuantizeU8(float.NaN, 0.5f, zeroPoint));
        Assert.Equal(zeroPoint, new QuantParams(0.5f, zeroPoint).Quantize(float.NaN));
    }

    [Fact]
    public void FixedPoint_round_trips_within_two_to_the_minus_30_relative()
    {
        var random = new Random(7);
        for (int i = 0; i < 20000; i++)
        {
            // Log-uniform over [2^-31, 2^29]: the range requantization meets (tiny output scales to huge ones).
            double m = Math.Pow(2, -31 + random.NextDouble() * 60);
            var (q, s) = QuantMath.FixedPoint(m);
            Assert.InRange(q, 1 << 30, int.MaxValue);
            Assert.InRange(s, 1, 62);
            double back = q * Math.Pow(2, -s);
            Assert.True(Math.Abs(back - m) / m < Math.Pow(2, -30), $"{m:R} -> {q} * 2^-{s} = {back:R}");
        }
    }

    [Theory]
    [InlineData(1.0, 1 << 30, 30)]
    [InlineData(0.5, 1 << 30, 31)]
    [InlineData(0.75, 3 << 29, 31)]
    [InlineData(0.9999999999999999, 1 << 30, 30)] // rounds up to 2^31: renormalized
    public void FixedPoint_exact_cases(double m, int multiplier, int shift)
    {
        Assert.Equal((multiplier, shift), QuantMath.FixedPoint(m));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(1e-30)]   // needs a shift past 62
    [InlineData(1e12)]    // needs a negative shift
    public void FixedPoint_rejects_what_it_cannot_represent(double m)
    {
        Assert.Throws<ArgumentException>(() => QuantMath.FixedPoint(m));
    }

    /// <summary>round(acc * m / 2^s) with ties toward +∞: floor((acc * m + 2^(s-1)) / 2^s), in exact integers.</summary>
    private static BigInteger Exact(int acc, int m, int s)
    {
        var num = (BigInteger)acc * m + (BigInteger.One << (s - 1));
        var den = BigInteger.One << s;
        var q = BigInteger.DivRem(num, den, out var rem);
        return rem.Sign < 0 ? q - 1 : q; // floor, not truncation
    }

    [Fact]
    public void Requantize_matches_exact_integer_arithmetic_including_negative_accumulators()
    {
        var random = new Random(11);
        for (int i = 0; i < 100000; i++)
        {
            int acc = i % 4 == 0 ? random.Next(-1000, 1000) : (int)(random.NextInt64(int.MinValue, (long)int.MaxValue + 1));
            int m = random.Next(1 << 30, int.MaxValue);
            int s = random.Next(31, 63);
            Assert.Equal(Exact(acc, m, s), (BigInteger)QuantMath.Requantize(acc, m, s));
        }
        // Small shifts (multipliers above 1) where the result still fits an int32.
        for (int i = 0; i < 20000; i++)
        {
            int s = random.Next(1, 31);
            int m = random.Next(1 << 30, int.MaxValue);
            int acc = random.Next(-(1 << 20), 1 << 20);
            var exact = Exact(acc, m, s);
            if (exact < int.MinValue || exact > int.MaxValue) continue;
            Assert.Equal(exact, (BigInteger)QuantMath.Requantize(acc, m, s));
        }
    }

    [Theory]
    [InlineData(1, 1)]    // 0.5 -> 1
    [InlineData(3, 2)]    // 1.5 -> 2
    [InlineData(5, 3)]    // 2.5 -> 3 (up, not to even)
    [InlineData(-1, 0)]   // -0.5 -> 0 (toward +inf)
    [InlineData(-3, -1)]  // -1.5 -> -1
    [InlineData(-5, -2)]  // -2.5 -> -2
    [InlineData(-4, -2)]
    [InlineData(int.MaxValue, 1073741824)]
    [InlineData(int.MinValue, -1073741824)]
    public void Requantize_rounds_ties_up(int acc, int expected)
    {
        // multiplier 2^30, shift 31: exactly one half.
        Assert.Equal(expected, QuantMath.Requantize(acc, 1 << 30, 31));
        Assert.Equal(Exact(acc, 1 << 30, 31), (BigInteger)expected);
    }

    [Fact]
    public void Requantize_ties_with_a_general_multiplier()
    {
        // m = 3 * 2^29, s = 31 is 0.75: acc = 2 gives 1.5 -> 2, acc = -2 gives -1.5 -> -1, acc = 6 gives 4.5 -> 5.
        Assert.Equal(2, QuantMath.Requantize(2, 3 << 29, 31));
        Assert.Equal(-1, QuantMath.Requantize(-2, 3 << 29, 31));
        Assert.Equal(5, QuantMath.Requantize(6, 3 << 29, 31));
        Assert.Equal(-4, QuantMath.Requantize(-6, 3 << 29, 31));
    }

    [Fact]
    public void RequantizeToU8_adds_the_zero_point_then_clamps()
    {
        Assert.Equal(128, QuantMath.RequantizeToU8(0, 1 << 30, 31, 128, 0, 255));
        Assert.Equal(255, QuantMath.RequantizeToU8(1000, 1 << 30, 31, 128, 0, 255));
        Assert.Equal(0, QuantMath.RequantizeToU8(-1000, 1 << 30, 31, 128, 0, 255));
        Assert.Equal(128, QuantMath.RequantizeToU8(-10, 1 << 30, 31, 128, 128, 255)); // a fused Relu: clamp at the zero point
        Assert.Equal(200, QuantMath.RequantizeToU8(1000, 1 << 30, 31, 128, 128, 200)); // Clip's upper bound
    }

    [Fact]
    public void FromRange_widens_a_range_that_excludes_zero()
    {
        var p = QuantParams.FromRange(2f, 5f);
        Assert.Equal(0, p.ZeroPoint);
        Assert.Equal(5f / 255f, p.Scale);
        Assert.Equal(0, p.Quantize(0f));
        Assert.Equal(255, p.Quantize(5f));

        var n = QuantParams.FromRange(-5f, -2f);
        Assert.Equal(255, n.ZeroPoint);
        Assert.Equal(5f / 255f, n.Scale);
        Assert.Equal(255, n.Quantize(0f));
        Assert.Equal(0, n.Quantize(-5f));
    }

    [Fact]
    public void FromRange_of_a_constant_tensor()
    {
        // All zeros: scale 1 keeps 0 exact.
        var zero = QuantParams.FromRange(0f, 0f);
        Assert.Equal(new QuantParams(1f, 0), zero);
        Assert.Equal(0f, zero.Dequantize(zero.Quantize(0f)));
        // A constant 3 widens to [0, 3]: 3 is the top of the grid, exact to within float rounding.
        var three = QuantParams.FromRange(3f, 3f);
        Assert.Equal(0, three.ZeroPoint);
        Assert.Equal(255, three.Quantize(3f));
        Assert.Equal(3f, three.Dequantize(255), 5);
        var minus = QuantParams.FromRange(-3f, -3f);
        Assert.Equal(255, minus.ZeroPoint);
        Assert.Equal(0, minus.Quantize(-3f));
    }

    [Fact]
    public void FromRange_keeps_zero_exact()
    {
        var random = new Random(3);
        for (int i = 0; i < 1000; i++)
        {
            float min = (float)(-random.NextDouble() * 10), max = (float)(random.NextDouble() * 10);
            var p = QuantParams.FromRange(min, max);
            Assert.Equal(0f, p.Dequantize(p.Quantize(0f)));
            Assert.InRange(p.ZeroPoint, 0, 255);
        }
    }

    [Theory]
    [InlineData(float.NaN, 1f)]
    [InlineData(0f, float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity, 0f)]
    public void FromRange_rejects_non_finite_ranges(float min, float max)
    {
        Assert.Throws<ArgumentException>(() => QuantParams.FromRange(min, max));
    }
}
