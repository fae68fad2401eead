using System.Linq;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Ops.OpCheck;

namespace QuantGen.Compiler.Tests.Ops;

public class TransposeTests
{
    private static OnnxAttribute Perm(params long[] perm) => OnnxAttribute.Ints("perm", perm);

    [Fact]
    public void Permutations_of_float_and_int64_tensors_match_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 13)
            .Input("x", 2, 3, 4, 5).LongInput("ids", 3, 4)
            .Node("reverse", "Transpose", new[] { "x" }, new[] { "y_reverse" })
            .Node("nhwc", "Transpose", new[] { "x" }, new[] { "y_nhwc" }, Perm(0, 2, 3, 1))
            .Node("outer_swap", "Transpose", new[] { "x" }, new[] { "y_outer" }, Perm(1, 0, 2, 3))
            .Node("inner_swap", "Transpose", new[] { "x" }, new[] { "y_inner" }, Perm(0, 1, 3, 2))
            .Node("identity", "Transpose", new[] { "x" }, new[] { "y_identity" }, Perm(0, 1, 2, 3))
            .Node("ids_t", "Transpose", new[] { "ids" }, new[] { "y_ids" })
            .Results("y_reverse", "y_nhwc", "y_outer", "y_inner", "y_identity")
            .Result("y_ids", OnnxModelBuilder.ElementType.Int64)
            .ToBytes();
        var ids = Enumerable.Range(0, 12).Select(i => (long)i * 1000003L - 5).ToArray();
        Matches(model, Floats(120, 1), ids);

        var kernels = Kernels(model);
        Assert.Contains("x0.Slice(0, 120).CopyTo(y0.Slice(0, 120));", kernels); // the identity is one block copy
    }

    [Fact]
    public void Constant_weights_are_transposed_at_build_time()
    {
        // Exporters often write W^T as Transpose(W) feeding MatMul: the Transpose folds into the embedded weights.
        var model = new OnnxModelBuilder(opset: 13)
            .Input("x", 2, 4)
            .Initializer("w", new long[] { 3, 4 }, Floats(12, 2))
            .Node("wt", "Transpose", new[] { "w" }, new[] { "w_t" })
            .Node("mm", "MatMul", new[] { "x", "w_t" }, new[] { "y" })
            .Result("y")
            .ToBytes();
        var graph = ModelCompiler.Prepare(model, "model.onnx");
        Assert.Equal("MatMul", Assert.Single(graph.Nodes).OpType);
        Matches(model, Floats(8, 3));
    }

    [Fact]
    public void A_perm_that_is_not_a_permutation_is_a_diagnostic()
    {
        var repeated = new OnnxModelBuilder(opset: 13).Input("x", 2, 3, 4)
            .Node("bad_perm", "Transpose", new[] { "x" }, new[] { "y" }, Perm(0, 0, 1)).Result("y").ToBytes();
        Assert.Contains("not a permutation", Fails(repeated, "QG0006", "bad_perm"));

        var wrongLength = new OnnxModelBuilder(opset: 13).Input("x", 2, 3, 4)
            .Node("short_perm", "Transpose", new[] { "x" }, new[] { "y" }, Perm(1, 0)).Result("y").ToBytes();
        Fails(wrongLength, "QG0006", "short_perm");
    }
}
