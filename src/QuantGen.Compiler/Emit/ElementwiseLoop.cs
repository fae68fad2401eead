using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Emit;

/// <summary>An operand of an elementwise kernel: a span read with broadcasting, or a literal.</summary>
public sealed class Operand
{
    private Operand(string? span, int[] shape, string? literal)
    {
        Span = span;
        Shape = shape;
        Literal = literal;
    }

    public string? Span { get; }
    public int[] Shape { get; }
    public string? Literal { get; }

    public static Operand FromSpan(string span, int[] shape) => new(span, shape, null);

    /// <summary>A value known at build time, written into the code (e.g. "0.5f").</summary>
    public static Operand FromLiteral(string literal) => new(null, Shapes.Scalar, literal);
}

/// <summary>
/// Writes the loop nest of an elementwise kernel with NumPy broadcasting. Dimensions that every operand
/// walks contiguously are merged first, so same-shape operands get one flat loop and a per-channel bias
/// gets two.
/// </summary>
public static class ElementwiseLoop
{
    /// <param name="body">Builds the stored expression from the operands' element expressions (variables a0, a1, ...).</param>
    public static void Emit(KernelContext ctx, int[] outputShape, IReadOnlyList<Operand> operands, Func<string[], string> body, string output = "y0")
    {
        var w = ctx.W;
        var (dims, strides) = Collapse(outputShape, operands);
        string[] names = operands.Select((o, i) => o.Literal ?? "a" + i).ToArray();

        if (dims.Length == 0)
        {
            for (int k = 0; k < operands.Count; k++)
                if (operands[k].Literal == null)
                    w.Line($"var a{k} = {operands[k].Span}[0];");
            w.Line($"{output}[0] = {body(names)};");
            return;
        }

        if (dims.Length > 1)
            w.Line("int o = 0;");
        for (int d = 0; d < dims.Length; d++)
        {
            w.Line($"for (int i{d} = 0; i{d} < {dims[d]}; i{d}++)");
            w.Line("{");
            w.Indent();
        }
        for (int k = 0; k < operands.Count; k++)
        {
            if (operands[k].Literal != null) continue;
            var terms = new List<string>();
            for (int d = 0; d < dims.Length; d++)
            {
                int s = strides[k][d];
                if (s == 0) continue;
                terms.Add(s == 1 ? $"i{d}" : $"i{d} * {s}");
            }
            w.Line($"var a{k} = {operands[k].Span}[{(terms.Count == 0 ? "0" : string.Join(" + ", terms))}];");
        }
        w.Line($"{output}[{(dims.Length > 1 ? "o++" : "i0")}] = {body(names)};");
        for (int d = 0; d < dims.Length; d++)
        {
            w.Outdent();
            w.Line("}");
        }
    }

    /// <summary>Drops size-1 dimensions and merges neighbours every operand reads contiguously.</summary>
    internal static (int[] Dims, int[][] Strides) Collapse(int[] outputShape, IReadOnlyList<Operand> operands)
    {
        var dims = new List<int>();
        var strides = operands.Select(_ => new List<int>()).ToArray();
        var full = operands.Select(o => o.Literal != null ? new int[outputShape.Length] : Shapes.BroadcastStrides(o.Shape, outputShape)).ToArray();
        for (int d = 0; d < outputShape.Length; d++)
        {
            if (outputShape[d] == 1) continue;
            bool merge = dims.Count > 0;
            for (int k = 0; merge && k < operands.Count; k++)
            {
                int outer = strides[k][strides[k].Count - 1], inner = full[k][d];
                merge = outer == inner * outputShape[d];
            }
            if (merge)
            {
                dims[dims.Count - 1] *= outputShape[d];
                for (int k = 0; k < operands.Count; k++) strides[k][strides[k].Count - 1] = full[k][d];
            }
            else
            {
                dims.Add(outputShape[d]);
                for (int k = 0; k < operands.Count; k++) strides[k].Add(full[k][d]);
            }
        }
        return (dims.ToArray(), strides.Select(s => s.ToArray()).ToArray());
    }
}
