using System;
using System.Linq;

namespace QuantGen.Compiler.Ir;

/// <summary>Shape arithmetic on plain <c>int[]</c> dimensions (row-major, static).</summary>
public static class Shapes
{
    public static readonly int[] Scalar = Array.Empty<int>();

    public static int ElementCount(int[] shape)
    {
        long n = 1;
        foreach (var d in shape)
        {
            n *= d;
            if (n > int.MaxValue)
                throw new OverflowException("tensor has more than 2^31 elements");
        }
        return (int)n;
    }

    /// <summary>Row-major strides in elements.</summary>
    public static int[] Strides(int[] shape)
    {
        var strides = new int[shape.Length];
        int s = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= shape[i];
        }
        return strides;
    }

    /// <summary>"1x8x26x26", or "scalar".</summary>
    public static string Format(int[] shape) => shape.Length == 0 ? "scalar" : string.Join("x", shape);

    public static bool SameAs(this int[] a, int[] b) => a.Length == b.Length && a.SequenceEqual(b);

    /// <summary>Normalizes a possibly negative axis against a rank; null when out of range.</summary>
    public static int? NormalizeAxis(long axis, int rank)
    {
        long a = axis < 0 ? axis + rank : axis;
        return a < 0 || a >= rank ? null : (int)a;
    }

    /// <summary>Multidirectional (NumPy) broadcast of several shapes; null when they do not broadcast.</summary>
    public static int[]? Broadcast(params int[][] shapes)
    {
        int rank = shapes.Max(s => s.Length);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int dim = 1;
            foreach (var s in shapes)
            {
                int k = i - (rank - s.Length);
                if (k < 0) continue;
                int d = s[k];
                if (d == 1) continue;
                if (dim != 1 && dim != d) return null;
                dim = d;
            }
            // A zero-sized dim wins over 1.
            foreach (var s in shapes)
            {
                int k = i - (rank - s.Length);
                if (k >= 0 && s[k] == 0) dim = 0;
            }
            result[i] = dim;
        }
        return result;
    }

    /// <summary>
    /// Strides to read an input of shape <paramref name="inputShape"/> broadcast to <paramref name="outputShape"/>:
    /// 0 on broadcast dimensions, aligned to the output rank.
    /// </summary>
    public static int[] BroadcastStrides(int[] inputShape, int[] outputShape)
    {
        var own = Strides(inputShape);
        var result = new int[outputShape.Length];
        int offset = outputShape.Length - inputShape.Length;
        for (int i = 0; i < inputShape.Length; i++)
            result[i + offset] = inputShape[i] == 1 && outputShape[i + offset] != 1 ? 0 : own[i];
        return result;
    }
}
