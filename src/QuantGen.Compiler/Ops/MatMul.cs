using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// MatMul with NumPy semantics: the last two dimensions are matrices, leading (batch) dimensions broadcast, a 1-D
/// A is a row vector and a 1-D B a column vector whose dimension is dropped from the result.
/// </summary>
public sealed class MatMul : Operator
{
    public override string OpType => "MatMul";
    public override bool CanFuseActivation => true;

    /// <summary>Matrix sizes, the batch shapes of A, B and Y, and the output shape.</summary>
    /// <summary>ONNX MatMul's shapes: M x K by K x N, leading (batch) dimensions broadcast; also QMatMul's rule.</summary>
    internal sealed record Dims(int M, int K, int N, int[] BatchA, int[] BatchB, int[] Batch, int[] Output);

    internal static Dims Read(OpContext ctx)
    {
        var a = ctx.InputShapeOrFail(0);
        var b = ctx.InputShapeOrFail(1);
        if (a.Length == 0 || b.Length == 0)
            throw ctx.ShapeError($"MatMul needs inputs of rank 1 or more, got {Shapes.Format(a)} and {Shapes.Format(b)}");
        int m = a.Length == 1 ? 1 : a[a.Length - 2], k = a[a.Length - 1];
        int kb = b.Length == 1 ? b[0] : b[b.Length - 2], n = b.Length == 1 ? 1 : b[b.Length - 1];
        if (k != kb)
            throw ctx.ShapeError($"A {Shapes.Format(a)} has {k} columns but B {Shapes.Format(b)} has {kb} rows");
        var batchA = a.Take(Math.Max(0, a.Length - 2)).ToArray();
        var batchB = b.Take(Math.Max(0, b.Length - 2)).ToArray();
        var batch = Shapes.Broadcast(batchA, batchB)
            ?? throw ctx.ShapeError($"the batch dimensions of A {Shapes.Format(a)} and B {Shapes.Format(b)} do not broadcast");
        var output = batch.Concat(a.Length > 1 ? new[] { m } : new int[0]).Concat(b.Length > 1 ? new[] { n } : new int[0]).ToArray();
        return new Dims(m, k, n, batchA, batchB, batch, output);
    }

    public override void InferShapes(ShapeContext ctx)
    {
        ctx.RequireType(0, DataType.Float);
        ctx.RequireType(1, DataType.Float);
        ctx.SetOutput(0, DataType.Float, Read(ctx).Output);
    }

    public override string Describe(OpContext ctx)
    {
        var d = Read(ctx);
        int batches = Shapes.ElementCount(d.Batch);
        return $"M={d.M} K={d.K} N={d.N}" + (batches > 1 ? $", {batches} batches" : "");
    }

    public override void Evaluate(EvalContext ctx)
    {
        var d = Read(ctx);
        var a = ctx.Input(0).AsFloats();
        var b = ctx.Input(1).AsFloats();
        var mapA = Broadcasting.IndexMap(d.BatchA, d.Batch);
        var mapB = Broadcasting.IndexMap(d.BatchB, d.Batch);
        int mk = d.M * d.K, kn = d.K * d.N, mn = d.M * d.N;
        var y = new float[mapA.Length * mn];
        for (int batch = 0; batch < mapA.Length; batch++)
            for (int m = 0; m < d.M; m++)
                for (int n = 0; n < d.N; n++)
                {
                    double sum = 0;
                    for (int k = 0; k < d.K; k++)
                        sum += (double)a[mapA[batch] * mk + m * d.K + k] * b[mapB[batch] * kn + k * d.N + n];
                    y[batch * mn + m * d.N + n] = (float)sum;
                }
        ctx.SetOutput(0, Tensor.FromFloats(d.Output, y));
    }

    public override void EmitKernel(KernelContext ctx)
    {
        var d = Read(ctx);
        var w = ctx.W;
        string a = ctx.In(0), y = ctx.Out(0);
        if (Shapes.ElementCount(d.Output) == 0)
        {
            w.Line("// Nothing to compute: the output is empty.");
            return;
        }

        // One B for every batch, and A's batches laid out like Y's: the batches are just more rows of A.
        var bConst = ctx.InputConstant(1);
        int m = d.M;
        int[] batch = d.Batch, batchA = d.BatchA, batchB = d.BatchB;
        if (Shapes.ElementCount(batchB) == 1 && Shapes.ElementCount(batchA) == Shapes.ElementCount(batch))
        {
            m *= Shapes.ElementCount(batch);
            batch = batchA = batchB = Shapes.Scalar;
        }

        // A token matrix times constant weights (a transformer's Linear layers): a tiled GEMM, 4 rows x 16 columns per
        // tile, so each vector of B is loaded once for 4 rows instead of a dot product per output reading all of B.
        if (bConst != null && Shapes.ElementCount(batch) == 1 && m >= 4 && d.N % 16 == 0)
        {
            w.Line($"// Y = A x B: {m} rows of A by the constant {d.K} x {d.N} B, tiles of 4 rows x 16 columns (B read once per 4 rows).");
            w.Line($"{ctx.Helper(KernelHelpers.GemmF32)}({ctx.Embed("B", bConst)}, {a}, ReadOnlySpan<float>.Empty, {y}, {m}, {d.K}, {d.N});");
            if (ctx.Activation != null)
                w.Line($"for (int i = 0; i < {m * d.N}; i++) {{ float v = {y}[i]; {y}[i] = {ctx.Activate("v")}; }}");
            return;
        }

        // A constant B is stored transposed (N x K per batch) so each output is a contiguous dot product;
        // a runtime B with N = 1 is a column, already contiguous.
        bool dots = bConst != null || d.N == 1;
        string b = bConst != null ? ctx.Embed("Bt", TransposeMatrices(bConst, d.K, d.N)) : ctx.In(1);
        int mk = m * d.K, kn = d.K * d.N, mn = m * d.N;

        // Batch loops: the batch dimensions broadcast like an elementwise op, in units of whole matrices.
        var (dims, strides) = ElementwiseLoop.Collapse(batch, new[]
        {
            Operand.FromSpan(a, batchA), Operand.FromSpan(b, batchB), Operand.FromSpan(y, batch),
        });
        w.Line(dots
            ? $"// Y = A x B: each output is a dot product of a row of A and a {(bConst != null ? "row of the build-time transposed B" : "B column")} ({d.K} long)."
            : "// Y = A x B: each row of Y accumulates rows of B scaled by the row of A (i-k-j order, contiguous in B and Y).");
        var closers = new List<IDisposable>();
        for (int i = 0; i < dims.Length; i++)
            closers.Add(w.Block($"for (int i{i} = 0; i{i} < {dims[i]}; i{i}++)"));
        var offsets = new[] { "ao", "bo", "yo" };
        var sizes = new[] { mk, kn, mn };
        var declared = new List<string>();
        for (int k = 0; k < 3; k++)
        {
            var terms = Enumerable.Range(0, dims.Length).Where(i => strides[k][i] != 0)
                .Select(i => $"i{i} * {strides[k][i] * sizes[k]}").ToList();
            if (terms.Count == 0) offsets[k] = "0";
            else declared.Add($"{offsets[k]} = {string.Join(" + ", terms)}");
        }
        if (declared.Count > 0)
            w.Line($"int {string.Join(", ", declared)};");
        string ao = offsets[0], bo = offsets[1], yo = offsets[2];

        using (Loop(w, "m", m))
        {
            w.Line($"var row = {a}.Slice({Index(ao, "m", d.K, m)}, {d.K});");
            if (dots)
            {
                if (d.N == 1)
                {
                    w.Line($"float v = {ctx.Helper(KernelHelpers.Dot)}(row, {b}.Slice({bo}, {d.K}));");
                    w.Line($"{y}[{Index(yo, "m", 1, m)}] = {ctx.Activate("v")};");
                }
                else
                {
                    w.Line($"var yr = {y}.Slice({Index(yo, "m", d.N, m)}, {d.N});");
                    using (w.Block($"for (int n = 0; n < {d.N}; n++)"))
                    {
                        w.Line($"float v = {ctx.Helper(KernelHelpers.Dot)}(row, {b}.Slice({StridedCopy.Offset(bo, "n", d.K)}, {d.K}));");
                        w.Line($"yr[n] = {ctx.Activate("v")};");
                    }
                }
            }
            else
            {
                w.Line($"var yr = {y}.Slice({Index(yo, "m", d.N, m)}, {d.N});");
                w.Line("yr.Clear();");
                using (w.Block($"for (int k = 0; k < {d.K}; k++)"))
                {
                    w.Line("float s = row[k];");
                    w.Line($"var br = {b}.Slice({StridedCopy.Offset(bo, "k", d.N)}, {d.N});");
                    w.Line("int n = 0;");
                    if (d.N >= 8)
                    {
                        using (w.Block("if (Vector256.IsHardwareAccelerated)"))
                        {
                            w.Line("var vs = Vector256.Create(s);");
                            w.Line("ref float rb = ref MemoryMarshal.GetReference(br);");
                            w.Line("ref float ry = ref MemoryMarshal.GetReference(yr);");
                            w.Line($"for (; n <= {d.N - 8}; n += 8)");
                            w.Line("    (Vector256.LoadUnsafe(ref ry, (nuint)n) + vs * Vector256.LoadUnsafe(ref rb, (nuint)n)).StoreUnsafe(ref ry, (nuint)n);");
                        }
                    }
                    w.Line($"for (; n < {d.N}; n++) yr[n] += s * br[n];");
                }
                if (ctx.Activation != null)
                    w.Line($"for (int n = 0; n < {d.N}; n++) {{ float v = yr[n]; yr[n] = {ctx.Activate("v")}; }}");
            }
        }
        for (int i = closers.Count - 1; i >= 0; i--)
            closers[i].Dispose();
    }

    /// <summary>A for loop over <paramref name="extent"/>, or a plain block when there is a single iteration.</summary>
    private static IDisposable Loop(SourceWriter w, string v, int extent) =>
        w.Block(extent == 1 ? "" : $"for (int {v} = 0; {v} < {extent}; {v}++)");

    /// <summary>base + v * stride, or just base when the loop over v has a single iteration.</summary>
    private static string Index(string baseExpr, string v, int stride, int extent) =>
        extent == 1 ? baseExpr : StridedCopy.Offset(baseExpr, v, stride);

    /// <summary>Each K x N matrix of a constant B, transposed to N x K (a 1-D B is already its own transpose).</summary>
    private static Tensor TransposeMatrices(Tensor b, int k, int n)
    {
        var src = b.AsFloats();
        var dst = new float[src.Length];
        for (int o = 0; o + k * n <= src.Length && k * n > 0; o += k * n)
            for (int r = 0; r < k; r++)
                for (int c = 0; c < n; c++)
                    dst[o + c * k + r] = src[o + r * n + c];
        var shape = b.Shape.Length == 1 ? new[] { 1, k } : b.Shape.Take(b.Shape.Length - 2).Concat(new[] { n, k }).ToArray();
        return Tensor.FromFloats(shape, dst);
    }
}
