using System.Linq;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// Gather: picks entries of <c>data</c> along <c>axis</c> by <c>indices</c> (int32 or int64, negative counting from
/// the end). Output shape: data[:axis] + indices.shape + data[axis+1:].
/// </summary>
public sealed class Gather : Operator
{
    public override string OpType => "Gather";

    private readonly record struct Dims(int Axis, int Outer, int D, int Inner, int Count, int[] Shape);

    private static Dims Read(OpContext ctx)
    {
        var data = ctx.InputShapeOrFail(0);
        var indices = ctx.InputShapeOrFail(1);
        if (data.Length == 0)
            throw ctx.ShapeError("data must have rank 1 or more");
        int axis = ctx.Axis(ctx.Int("axis", 0), data.Length);
        var shape = data.Take(axis).Concat(indices).Concat(data.Skip(axis + 1)).ToArray();
        int outer = Shapes.ElementCount(data.Take(axis).ToArray());
        int inner = Shapes.ElementCount(data.Skip(axis + 1).ToArray());
        return new Dims(axis, outer, data[axis], inner, Shapes.ElementCount(indices), shape);
    }

    /// <summary>Build-time indices, normalized to [0, D); fails with QG0006 on one out of range.</summary>
    private static int[]? ConstantIndices(OpContext ctx, Dims d)
    {
        var t = ctx.InputConstant(1);
        if (t == null) return null;
        var result = new int[t.Length];
        var raw = t.AsLongs();
        for (int i = 0; i < raw.Length; i++)
        {
            long k = raw[i] < 0 ? raw[i] + d.D : raw[i];
            if (k < 0 || k >= d.D)
                throw ctx.Invalid($"index {raw[i]} is out of range for axis {d.Axis} of size {d.D}");
            result[i] = (int)k;
        }
        return result;
    }

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, TensorIndexing.AnyType);
        ctx.RequireType(1, DataType.Int64, DataType.Int32);
        var d = Read(ctx);
        ConstantIndices(ctx, d);
        ctx.SetOutput(0, ctx.InputType(0), d.Shape);
    }

    public override string Describe(OpContext ctx)
    {
        var d = Read(ctx);
        return $"axis {d.Axis}, {d.Count} {(d.Count == 1 ? "index" : "indices")}{(ctx.InputConstant(1) != null ? " (constant)" : "")}";
    }

    public override void Evaluate(EvalContext ctx)
    {
        var d = Read(ctx);
        var index = ConstantIndices(ctx, d)!;
        var data = ctx.Input(0);
        // Output element (o, j, r) reads data element (o, index[j], r).
        var map = new int[d.Outer * d.Count * d.Inner];
        int e = 0;
        for (int o = 0; o < d.Outer; o++)
            for (int j = 0; j < d.Count; j++)
                for (int r = 0; r < d.Inner; r++)
                    map[e++] = (o * d.D + index[j]) * d.Inner + r;
        ctx.SetOutput(0, TensorIndexing.TakeFlat(data, d.Shape, map));
    }

    /// <summary>Constant indices become the copies the kernel makes (build-time indices), not embedded data.</summary>
    public override bool EmbedsConstant(OpContext ctx, int index) => index != 1;

    public override void EmitKernel(KernelContext ctx)
    {
        var d = Read(ctx);
        var w = ctx.W;
        string x = ctx.In(0), y = ctx.Out(0);
        var constant = ConstantIndices(ctx, d);
        if (d.Outer * d.Count * d.Inner == 0)
        {
            w.Line("// Nothing to gather: the output is empty.");
            return;
        }
        // Data element (o, k, r) is at o * D * Inner + k * Inner + r; output element (o, j, r) at o * Count * Inner + j * Inner + r.
        string o = d.Outer > 1 ? "o" : "";
        string DataAt(string k) => Linear((o, d.D * d.Inner), (k, d.Inner));
        string OutputAt(string j) => Linear((o, d.Count * d.Inner), (j, d.Inner));
        if (constant != null)
        {
            // Indices known at build time: each becomes a literal offset (or an embedded table when there are many).
            w.Line($"// Copies {Slices(d)} at build-time indices along axis {d.Axis}.");
            if (d.Count <= 8)
            {
                using (d.Outer > 1 ? w.Block($"for (int o = 0; o < {d.Outer}; o++)") : null)
                    for (int j = 0; j < d.Count; j++)
                        Copy(w, x, y, DataAt(CSharp.Int(constant[j])), OutputAt(CSharp.Int(j)), d.Inner);
                return;
            }
            string table = ctx.Embed("Indices", Tensor.FromLongs(DataType.Int32, new[] { d.Count }, constant.Select(i => (long)i).ToArray()));
            using (d.Outer > 1 ? w.Block($"for (int o = 0; o < {d.Outer}; o++)") : null)
            using (w.Block($"for (int j = 0; j < {d.Count}; j++)"))
                Copy(w, x, y, DataAt($"{table}[j]"), OutputAt("j"), d.Inner);
            return;
        }

        string indices = ctx.In(1);
        w.Line($"// Copies {Slices(d)} at run-time indices along axis {d.Axis}; negative indices count from the end, others out of range throw.");
        using (d.Count > 1 ? w.Block($"for (int j = 0; j < {d.Count}; j++)") : w.Block(""))
        {
            string j = d.Count > 1 ? "j" : "0";
            EmitIndex(ctx, indices, j, d.D, d.Axis);
            using (d.Outer > 1 ? w.Block($"for (int o = 0; o < {d.Outer}; o++)") : null)
                Copy(w, x, y, DataAt("(int)k"), OutputAt(j), d.Inner);
        }
    }

    /// <summary>
    /// Declares <c>long k</c>, the run-time index at element <paramref name="j"/> of <paramref name="indices"/> (input 1)
    /// normalized to [0, <paramref name="d"/>). ONNX makes an index outside [-D, D-1] an error: it throws, naming the
    /// Predict parameter the ids came from (a token id past the vocabulary), the value and its position; it never reads
    /// past the table.
    /// </summary>
    internal static void EmitIndex(KernelContext ctx, string indices, string j, int d, int axis)
    {
        var w = ctx.W;
        string source = ctx.PredictParameter(1) ?? ctx.Node.Inputs[1];
        w.Line($"long k = {indices}[{j}];");
        w.Line($"if (k < 0) k += {d};");
        w.Line($"if ((ulong)k >= {d}UL)");
        static string Braces(string text) => text.Replace("{", "{{").Replace("}", "}}");
        string message = CSharp.StringLiteral($"Gather '{Braces(ctx.Node.Name)}': index {{0}} at element {{1}} of '{Braces(source)}' is outside [-{d}, {d - 1}] (axis {axis} of its data has {d} entries).");
        w.Line($"    throw new ArgumentOutOfRangeException({CSharp.StringLiteral(source)}, {indices}[{j}], string.Format(System.Globalization.CultureInfo.InvariantCulture, {message}, {indices}[{j}], {j}));");
    }

    private static string Slices(Dims d) =>
        d.Inner == 1 ? $"{d.Count} element(s)" : $"{d.Count} slice(s) of {d.Inner} elements";

    private static void Copy(SourceWriter w, string x, string y, string from, string to, int n) =>
        w.Line(n == 1 ? $"{y}[{to}] = {x}[{from}];" : $"{x}.Slice({from}, {n}).CopyTo({y}.Slice({to}, {n}));");

    /// <summary>Σ term · factor as C#, leaving out empty terms and zero or unit factors; literal terms are folded.</summary>
    private static string Linear(params (string Term, int Factor)[] terms)
    {
        var parts = new System.Collections.Generic.List<string>();
        long constant = 0;
        foreach (var (term, factor) in terms)
        {
            if (term.Length == 0 || factor == 0) continue;
            if (long.TryParse(term, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out long literal))
                constant += literal * factor;
            else
                parts.Add(factor == 1 ? term : $"{term} * {factor}");
        }
        if (constant != 0 || parts.Count == 0) parts.Add(CSharp.Int(constant));
        return string.Join(" + ", parts);
    }
}
