using System;
using System.Collections.Generic;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// The data-movement ops (Transpose, Slice, Concat, Pad) all copy a box of elements from one strided layout to
/// another: y[outBase + Σ i_d·outStride_d] = x[inBase + Σ i_d·inStride_d]. This writes that loop nest once, merging
/// dimensions both sides walk contiguously and turning a contiguous innermost run into <c>Span.CopyTo</c>.
/// </summary>
internal static class StridedCopy
{
    /// <summary>Writes the copy loops; nothing when the box is empty.</summary>
    public static void Emit(SourceWriter w, string x, string y, int[] dims, int[] inStrides, int inBase, int[] outStrides, int outBase)
    {
        var (extents, ins, outs) = Collapse(dims, inStrides, outStrides);
        if (extents == null)
        {
            w.Line("// Nothing to copy: the box is empty.");
            return;
        }
        int rank = extents.Length;
        bool block = rank > 0 && ins[rank - 1] == 1 && outs[rank - 1] == 1;
        int loops = block ? rank - 1 : rank;
        var closers = new List<IDisposable>();
        string xo = CSharp.Int(inBase), yo = CSharp.Int(outBase);
        for (int d = 0; d < loops; d++)
        {
            closers.Add(w.Block($"for (int i{d} = 0; i{d} < {extents[d]}; i{d}++)"));
            string xn = Offset(xo, $"i{d}", ins[d]), yn = Offset(yo, $"i{d}", outs[d]);
            if (d < loops - 1 || block)
            {
                // Hoist the partial offsets so inner loops add, not multiply.
                w.Line($"int xo{d} = {xn}, yo{d} = {yn};");
                xo = $"xo{d}";
                yo = $"yo{d}";
            }
            else
            {
                xo = xn;
                yo = yn;
            }
        }
        if (block)
        {
            int n = extents[rank - 1];
            w.Line($"{x}.Slice({xo}, {n}).CopyTo({y}.Slice({yo}, {n}));");
        }
        else
        {
            w.Line($"{y}[{yo}] = {x}[{xo}];");
        }
        for (int i = closers.Count - 1; i >= 0; i--)
            closers[i].Dispose();
    }

    /// <summary>"base + i * stride", simplified.</summary>
    internal static string Offset(string baseExpr, string index, int stride)
    {
        if (stride == 0) return baseExpr;
        int magnitude = Math.Abs(stride);
        string term = magnitude == 1 ? index : $"{index} * {CSharp.Int(magnitude)}";
        if (stride > 0) return baseExpr == "0" ? term : $"{baseExpr} + {term}";
        return baseExpr == "0" ? "-" + term : $"{baseExpr} - {term}";
    }

    /// <summary>Drops size-1 dimensions and merges neighbours both sides read contiguously; null extents when empty.</summary>
    internal static (int[]? Extents, int[] In, int[] Out) Collapse(int[] dims, int[] inStrides, int[] outStrides)
    {
        var e = new List<int>();
        var si = new List<int>();
        var so = new List<int>();
        for (int d = 0; d < dims.Length; d++)
        {
            if (dims[d] == 0) return (null, Array.Empty<int>(), Array.Empty<int>());
            if (dims[d] == 1) continue;
            int k = e.Count - 1;
            if (k >= 0 && si[k] == inStrides[d] * dims[d] && so[k] == outStrides[d] * dims[d])
            {
                e[k] *= dims[d];
                si[k] = inStrides[d];
                so[k] = outStrides[d];
            }
            else
            {
                e.Add(dims[d]);
                si.Add(inStrides[d]);
                so.Add(outStrides[d]);
            }
        }
        return (e.ToArray(), si.ToArray(), so.ToArray());
    }
}

/// <summary>Build-time (reference) counterparts of the data-movement kernels, for float and integer tensors alike.</summary>
internal static class TensorIndexing
{
    /// <summary>
    /// A tensor of <paramref name="shape"/> whose element at each multi-index is <paramref name="source"/>'s element at
    /// <paramref name="sourceIndex"/>(index), or <paramref name="fill"/> where that returns -1.
    /// </summary>
    public static Tensor Take(Tensor source, int[] shape, Func<int[], int> sourceIndex, double fill = 0)
    {
        int n = Shapes.ElementCount(shape);
        var idx = new int[shape.Length];
        float[]? floats = source.Type == DataType.Float ? new float[n] : null;
        long[]? longs = floats == null ? new long[n] : null;
        for (int i = 0; i < n; i++)
        {
            int s = sourceIndex(idx);
            if (floats != null) floats[i] = s < 0 ? (float)fill : source.Floats![s];
            else longs![i] = s < 0 ? (long)fill : source.Longs![s];
            for (int d = idx.Length - 1; d >= 0; d--)
            {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        return new Tensor(source.Type, shape, floats, longs);
    }

    /// <summary>A tensor of <paramref name="shape"/> whose flat element i is <paramref name="source"/>'s element map[i].</summary>
    public static Tensor TakeFlat(Tensor source, int[] shape, int[] map)
    {
        if (source.Type == DataType.Float)
            return Tensor.FromFloats(shape, Array.ConvertAll(map, i => source.Floats![i]));
        return Tensor.FromLongs(source.Type, shape, Array.ConvertAll(map, i => source.Longs![i]));
    }

    /// <summary>Σ index_d · stride_d.</summary>
    public static int Offset(int[] index, int[] strides)
    {
        int o = 0;
        for (int d = 0; d < index.Length; d++) o += index[d] * strides[d];
        return o;
    }

    /// <summary>The element types the data-movement ops accept (float data and integer shape data).</summary>
    public static readonly DataType[] AnyType = { DataType.Float, DataType.Int64, DataType.Int32, DataType.Int8, DataType.UInt8, DataType.Bool };

    /// <summary>A literal of <paramref name="type"/> for generated code.</summary>
    public static string Literal(DataType type, double value) => type switch
    {
        DataType.Float => CSharp.Float((float)value),
        DataType.Int64 => CSharp.Long((long)value),
        DataType.Int32 => CSharp.Int((int)value),
        DataType.Bool => value != 0 ? "true" : "false",
        _ => $"({type.CSharpName()}){CSharp.Int((long)value)}",
    };
}
