using QuantGen.Compiler.Diagnostics;
using QuantGen.Compiler.Ir;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Testing.OnnxAttribute;

namespace QuantGen.Compiler.Tests.Passes;

public class ShapeInferenceTests
{
    /// <summary>The chain PyTorch writes for x.view(x.size(0), -1): it must fold to one Reshape view.</summary>
    [Fact]
    public void PyTorch_shape_chain_folds_to_constants()
    {
        var builder = new OnnxModelBuilder(opset: 13)
            .Input("x", 1, 4, 3, 3)
            .Initializer("zero", new long[0], new long[] { 0 })
            .Initializer("minus_one", new long[] { 1 }, new long[] { -1 })
            .Initializer("axes0", new long[] { 1 }, new long[] { 0 })
            .Node("Shape", new[] { "x" }, new[] { "shape" })
            .Node("Gather", new[] { "shape", "zero" }, new[] { "batch" }, Int("axis", 0))
            .Node("Unsqueeze", new[] { "batch", "axes0" }, new[] { "batch1" })
            .Node("Concat", new[] { "batch1", "minus_one" }, new[] { "target" }, Int("axis", 0))
            .Node("Reshape", new[] { "x", "target" }, new[] { "y" })
            .Output("y");
        var graph = PassTestModels.Imported(builder);

        Assert.Equal(new[] { "Reshape" }, PassTestModels.Ops(graph));
        Assert.Equal(new[] { 1, 36 }, graph["y"].Shape);
        Assert.Equal(new long[] { 1, -1 }, graph["target"].Constant!.Longs);
        Assert.False(graph.Values.ContainsKey("shape")); // folded intermediates are dropped
    }

    [Fact]
    public void Nodes_whose_inputs_are_all_constant_are_evaluated_at_build_time()
    {
        var builder = new OnnxModelBuilder()
            .Input("x", 1, 3)
            .Initializer("a", new long[] { 3 }, new float[] { 1, 2, 3 })
            .Initializer("b", new long[] { 3 }, new float[] { 10, 20, 30 })
            .Node("Mul", new[] { "a", "b" }, new[] { "ab" })
            .Node("Relu", new[] { "ab" }, new[] { "r" })
            .Node("Add", new[] { "x", "r" }, new[] { "y" })
            .Output("y");
        var graph = PassTestModels.Imported(builder);

        Assert.Equal(new[] { "Add" }, PassTestModels.Ops(graph));
        Assert.Equal(new float[] { 10, 40, 90 }, graph["r"].Constant!.Floats);
    }

    [Fact]
    public void A_free_batch_dimension_becomes_one()
    {
        var builder = new OnnxModelBuilder()
            .TypedInput("x", OnnxModelBuilder.ElementType.Float, "batch", 3L)
            .Node("Relu", new[] { "x" }, new[] { "y" })
            .Output("y");
        var graph = PassTestModels.Imported(builder);
        Assert.Equal(new[] { 1, 3 }, graph["x"].Shape);
        Assert.Equal(new[] { 1, 3 }, graph["y"].Shape);
        Assert.Equal(DataType.Float, graph["y"].Type);
    }

    [Fact]
    public void Incompatible_shapes_are_a_QG0007_naming_the_node()
    {
        var builder = new OnnxModelBuilder()
            .Input("x", 1, 3)
            .Initializer("b", new long[] { 4 }, new float[] { 1, 2, 3, 4 })
            .Node("my_add", "Add", new[] { "x", "b" }, new[] { "y" })
            .Output("y");
        var e = Assert.Throws<ModelCompileException>(() => PassTestModels.Imported(builder));
        var d = Assert.Single(e.Diagnostics);
        Assert.Equal("QG0007", d.Id);
        Assert.Contains("my_add", d.Message);
        Assert.Contains("1x3 and 4", d.Message);
    }
}
