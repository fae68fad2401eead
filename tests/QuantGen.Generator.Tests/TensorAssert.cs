using System;
using System.Linq;
using Xunit;

namespace QuantGen.Generator.Tests;

internal static class TensorAssert
{
    /// <summary>Max abs error within <paramref name="relative"/> of the expected output's magnitude.</summary>
    public static void Close(float[] expected, float[] actual, float relative)
    {
        Assert.Equal(expected.Length, actual.Length);
        float scale = Math.Max(1e-6f, expected.Max(v => Math.Abs(v)));
        float worst = 0;
        int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            float e = Math.Abs(expected[i] - actual[i]);
            if (e > worst || float.IsNaN(e)) { worst = e; at = i; }
        }
        Assert.True(worst <= relative * scale, $"max abs error {worst} at {at} (expected {(at >= 0 ? expected[at] : 0)}, got {(at >= 0 ? actual[at] : 0)}) exceeds {relative} x {scale}");
    }
}
