using System;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>Reference (build-time) elementwise evaluation with NumPy broadcasting.</summary>
internal static class Broadcasting
{
    public static int[] OutputShape(OpContext ctx, params int[][] shapes) =>
        Shapes.Broadcast(shapes) ?? throw ctx.ShapeError("the input shapes " + string.Join(" and ", Array.ConvertAll(shapes, Shapes.Format)) + " do not broadcast");

    /// <summary>Maps each output element index to the index it reads in an input of <paramref name="inputShape"/>.</summary>
    public static int[] IndexMap(int[] inputShape, int[] outputShape)
    {
        var strides = Shapes.BroadcastStrides(inputShape, outputShape);
        int n = Shapes.ElementCount(outputShape);
        var map = new int[n];
        var idx = new int[outputShape.Length];
        for (int i = 0; i < n; i++)
        {
            int off = 0;
            for (int d = 0; d < idx.Length; d++) off += idx[d] * strides[d];
            map[i] = off;
            for (int d = idx.Length - 1; d >= 0; d--)
            {
                if (++idx[d] < outputShape[d]) break;
                idx[d] = 0;
            }
        }
        return map;
    }

    public static float[] Floats(Tensor a, Tensor b, int[] shape, Func<float, float, float> f)
    {
        var ma = IndexMap(a.Shape, shape);
        var mb = IndexMap(b.Shape, shape);
        var fa = a.AsFloats();
        var fb = b.AsFloats();
        var r = new float[ma.Length];
        for (int i = 0; i < r.Length; i++) r[i] = f(fa[ma[i]], fb[mb[i]]);
        return r;
    }

    public static long[] Longs(Tensor a, Tensor b, int[] shape, Func<long, long, long> f)
    {
        var ma = IndexMap(a.Shape, shape);
        var mb = IndexMap(b.Shape, shape);
        var la = a.AsLongs();
        var lb = b.AsLongs();
        var r = new long[ma.Length];
        for (int i = 0; i < r.Length; i++) r[i] = f(la[ma[i]], lb[mb[i]]);
        return r;
    }
}
