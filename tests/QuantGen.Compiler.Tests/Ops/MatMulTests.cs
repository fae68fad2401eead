using System.Linq;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Ops.OpCheck;

namespace QuantGen.Compiler.Tests.Ops;

public class MatMulTests
{
    [Fact]
    public void Runtime_operands_match_OnnxRuntime()
    {
        // One model, one node per case: 2-D, batched A (vector path, N >= 8), 1-D A, 1-D B, broadcast batches, vector · vector.
        var model = new OnnxModelBuilder(opset: 13)
            .Input("a", 3, 5).Input("b", 5, 4)
            .Input("a3", 2, 3, 5).Input("b12", 5, 12)
            .Input("v", 5)
            .Input("p", 2, 1, 3, 5).Input("q", 3, 5, 9)
            .Node("plain", "MatMul", new[] { "a", "b" }, new[] { "y_plain" })
            .Node("batched", "MatMul", new[] { "a3", "b12" }, new[] { "y_batched" })
            .Node("row", "MatMul", new[] { "v", "b" }, new[] { "y_row" })
            .Node("column", "MatMul", new[] { "a", "v" }, new[] { "y_column" })
            .Node("broadcast", "MatMul", new[] { "p", "q" }, new[] { "y_broadcast" })
            .Node("dot", "MatMul", new[] { "v", "v" }, new[] { "y_dot" })
            .Results("y_plain", "y_batched", "y_row", "y_column", "y_broadcast", "y_dot")
            .ToBytes();
        Matches(model, Floats(15, 1), Floats(20, 2), Floats(30, 3), Floats(60, 4), Floats(5, 5), Floats(30, 6), Floats(135, 7));
    }

    [Fact]
    public void Constant_B_is_embedded_transposed_and_matches_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 13)
            .Input("x", 2, 3, 16).Input("x2", 4, 6)
            .Initializer("w", new long[] { 16, 10 }, Floats(160, 10))
            .Initializer("w3", new long[] { 2, 6, 5 }, Floats(60, 11))
            .Initializer("wv", new long[] { 16 }, Floats(16, 12))
            .Node("dense", "MatMul", new[] { "x", "w" }, new[] { "y_dense" })
            .Node("batched_weights", "MatMul", new[] { "x2", "w3" }, new[] { "y_batched" })
            .Node("vector_weights", "MatMul", new[] { "x", "wv" }, new[] { "y_vector" })
            .Results("y_dense", "y_batched", "y_vector")
            .ToBytes();
        Matches(model, Floats(96, 13), Floats(24, 14));
        var kernels = Kernels(model);
        Assert.Contains("Dot(row, Weights.dense_Bt.Slice(n * 16, 16))", kernels);
    }

    [Fact]
    public void Token_rows_by_constant_weights_use_the_tiled_gemm_and_match_OnnxRuntime()
    {
        // [1, T, C] x [C, 4C] as a transformer's Linear layers: 17 rows (4 tiles and one row left), N a multiple of 16;
        // with a fused Relu; and 3 rows, too few for a tile, which keep the dot products.
        var model = new OnnxModelBuilder(opset: 13)
            .Input("x", 1, 17, 24).Input("x3", 3, 24)
            .Initializer("w", new long[] { 24, 48 }, Floats(24 * 48, 40))
            .Node("fc", "MatMul", new[] { "x", "w" }, new[] { "y_fc" })
            .Node("fc_relu", "MatMul", new[] { "x", "w" }, new[] { "h" })
            .Node("relu", "Relu", new[] { "h" }, new[] { "y_relu" })
            .Node("few_rows", "MatMul", new[] { "x3", "w" }, new[] { "y_few" })
            .Results("y_fc", "y_relu", "y_few")
            .ToBytes();
        Matches(model, Floats(17 * 24, 41, 2f), Floats(3 * 24, 42));
        var kernels = Kernels(model);
        Assert.Contains("GemmF32(Weights.fc_B, x0, ReadOnlySpan<float>.Empty, y0, 17, 24, 48);", kernels);
        Assert.Contains("Dot(row, Weights.few_rows_Bt", kernels);
    }

    [Fact]
    public void Attention_of_activation_by_activation_matches_OnnxRuntime()
    {
        // Scaled dot-product attention as exporters write it, [B, H, S, D]: Q x K^T -> [B, H, S, S], scale,
        // softmax over the keys, x V -> [B, H, S, D]; K^T is a Transpose, so every MatMul operand is computed at run time.
        // The second case broadcasts one K over the heads ([B, 1, D, S]), as multi-query attention does.
        var model = new OnnxModelBuilder(opset: 13)
            .Input("q", 2, 3, 5, 8).Input("k", 2, 3, 5, 8).Input("v", 2, 3, 5, 8).Input("k1", 2, 1, 8, 5)
            .Initializer("scale", new long[0], new[] { 0.35355339f })
            .Node("k_t", "Transpose", new[] { "k" }, new[] { "kt" }, OnnxAttribute.Ints("perm", 0, 1, 3, 2))
            .Node("scores", "MatMul", new[] { "q", "kt" }, new[] { "s" })
            .Node("scaled", "Mul", new[] { "s", "scale" }, new[] { "s_scaled" })
            .Node("probs", "Softmax", new[] { "s_scaled" }, new[] { "p" }, OnnxAttribute.Int("axis", -1))
            .Node("context", "MatMul", new[] { "p", "v" }, new[] { "y" })
            .Node("shared_key", "MatMul", new[] { "q", "k1" }, new[] { "y_shared" })
            .Results("y", "y_shared")
            .ToBytes();
        Matches(model, Floats(240, 31, 2f), Floats(240, 32, 2f), Floats(240, 33), Floats(80, 34, 2f));
    }

    [Fact]
    public void Fused_activation_at_opset_9_matches_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 9)
            .Input("x", 4, 8).Input("b", 8, 9)
            .Initializer("w", new long[] { 8, 3 }, Floats(24, 20))
            .Node("mm_const", "MatMul", new[] { "x", "w" }, new[] { "h1" })
            .Node("relu", "Relu", new[] { "h1" }, new[] { "y1" })
            .Node("mm_runtime", "MatMul", new[] { "x", "b" }, new[] { "h2" })
            .Node("leaky", "LeakyRelu", new[] { "h2" }, new[] { "y2" }, OnnxAttribute.Float("alpha", 0.1f))
            .Results("y1", "y2")
            .ToBytes();
        var graph = ModelCompiler.Prepare(model, "model.onnx");
        Assert.Equal(new[] { "MatMul", "MatMul" }, graph.Nodes.Select(n => n.OpType));
        Assert.All(graph.Nodes, n => Assert.NotNull(n.Activation));
        Matches(model, Floats(32, 21, 2f), Floats(72, 22));
    }

    [Fact]
    public void Mismatched_shapes_are_a_diagnostic()
    {
        var inner = new OnnxModelBuilder(opset: 13).Input("a", 3, 5).Input("b", 4, 2)
            .Node("bad_inner", "MatMul", new[] { "a", "b" }, new[] { "y" }).Result("y").ToBytes();
        Assert.Contains("5 columns", Fails(inner, "QG0007", "bad_inner"));

        var batch = new OnnxModelBuilder(opset: 13).Input("a", 2, 3, 4).Input("b", 3, 4, 5)
            .Node("bad_batch", "MatMul", new[] { "a", "b" }, new[] { "y" }).Result("y").ToBytes();
        Fails(batch, "QG0007", "bad_batch");

        var scalar = new OnnxModelBuilder(opset: 13).Input("a").Input("b", 3)
            .Node("bad_rank", "MatMul", new[] { "a", "b" }, new[] { "y" }).Result("y").ToBytes();
        Fails(scalar, "QG0007", "bad_rank");
    }
}
