using System;
using System.Linq;

namespace QuantGen.Compiler.Ir;

/// <summary>
/// A tensor whose contents are known at build time: an initializer, a Constant node or a folded result.
/// Float data lives in <see cref="Floats"/>; every integer type and bool lives widened in <see cref="Longs"/>.
/// </summary>
public sealed class Tensor
{
    public Tensor(DataType type, int[] shape, float[]? floats, long[]? longs)
    {
        Type = type;
        Shape = shape;
        Floats = floats;
        Longs = longs;
        int count = Shapes.ElementCount(shape);
        if (type == DataType.Float ? floats?.Length != count : longs?.Length != count)
            throw new ArgumentException($"tensor data has the wrong length for shape {Shapes.Format(shape)}");
    }

    public DataType Type { get; }
    public int[] Shape { get; }
    public float[]? Floats { get; }
    public long[]? Longs { get; }

    public int Length => Shapes.ElementCount(Shape);

    public static Tensor FromFloats(int[] shape, float[] data) => new(DataType.Float, shape, data, null);

    public static Tensor FromLongs(DataType type, int[] shape, long[] data) => new(type, shape, null, data);

    /// <summary>Element <paramref name="i"/> as a double, whatever the type.</summary>
    public double this[int i] => Floats != null ? Floats[i] : Longs![i];

    /// <summary>The values as 64-bit integers (floats truncated); for shape-like inputs.</summary>
    public long[] AsLongs() => Longs ?? Floats!.Select(f => (long)f).ToArray();

    /// <summary>The values as floats (integers converted); for numeric inputs of float kernels.</summary>
    public float[] AsFloats() => Floats ?? Longs!.Select(l => (float)l).ToArray();

    public Tensor Reshape(int[] shape) => new(Type, shape, Floats, Longs);

    public override string ToString() => $"{Type} {Shapes.Format(Shape)}";
}
