using QuantGen.Compiler.Passes;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Testing.OnnxAttribute;

namespace QuantGen.Compiler.Tests.Passes;

public class GraphCleanupTests
{
    [Fact]
    public void Identity_and_Dropout_are_removed_but_a_graph_output_keeps_its_name()
    {
        var builder = new OnnxModelBuilder()
            .Input("x", 1, 4)
            .Node("Identity", new[] { "x" }, new[] { "a" })
            .Node("Dropout", new[] { "a" }, new[] { "b" })
            .Node("Relu", new[] { "b" }, new[] { "c" })
            .Node("Identity", new[] { "c" }, new[] { "y" })
            .Output("y");
        var graph = PassTestModels.Imported(builder);
        RemoveIdentities.Run(graph);

        Assert.Equal(new[] { "Relu", "Identity" }, PassTestModels.Ops(graph));
        Assert.Equal("x", graph.Nodes[0].Inputs[0]);
        Assert.Equal("y", graph.Outputs[0]);
    }

    [Fact]
    public void Nodes_that_reach_no_output_are_removed()
    {
        var builder = new OnnxModelBuilder()
            .Input("x", 1, 4)
            .Node("Relu", new[] { "x" }, new[] { "y" })
            .Node("Sigmoid", new[] { "x" }, new[] { "unused" })
            .Node("Tanh", new[] { "unused" }, new[] { "unused2" })
            .Output("y");
        var graph = PassTestModels.Imported(builder);
        RemoveDeadNodes.Run(graph);
        Assert.Equal(new[] { "Relu" }, PassTestModels.Ops(graph));
        Assert.False(graph.Values.ContainsKey("unused2"));
    }

    [Fact]
    public void Relu_after_Conv_is_fused_into_the_Conv()
    {
        var graph = PassTestModels.Imported(ConvModel(extraReader: false));
        var before = PassTestModels.Evaluate(graph);
        FuseActivations.Run(graph);

        Assert.Equal(new[] { "Conv" }, PassTestModels.Ops(graph));
        Assert.Equal("y", graph.Nodes[0].Outputs[0]);
        Assert.Equal(Ir.ActivationKind.Relu, graph.Nodes[0].Activation!.Kind);
        PassTestModels.Close(before, PassTestModels.Evaluate(graph));
    }

    [Fact]
    public void Relu_is_not_fused_when_another_node_reads_the_value_before_it()
    {
        var graph = PassTestModels.Imported(ConvModel(extraReader: true));
        FuseActivations.Run(graph);
        Assert.Equal(new[] { "Conv", "Relu", "Add" }, PassTestModels.Ops(graph));
        Assert.Null(graph.Nodes[0].Activation);
    }

    [Fact]
    public void Clip_bounds_from_constant_inputs_are_fused()
    {
        var builder = new OnnxModelBuilder(opset: 13)
            .Input("x", 1, 2, 4, 4)
            .Initializer("w", new long[] { 2, 2, 1, 1 }, OnnxModelBuilder.RandomFloats(4, 3))
            .Initializer("lo", new long[0], new float[] { 0 })
            .Initializer("hi", new long[0], new float[] { 6 })
            .Node("Conv", new[] { "x", "w" }, new[] { "c" })
            .Node("Clip", new[] { "c", "lo", "hi" }, new[] { "y" })
            .Output("y");
        var graph = PassTestModels.Imported(builder);
        FuseActivations.Run(graph);
        var activation = Assert.Single(graph.Nodes).Activation!;
        Assert.Equal((0f, 6f), (activation.Min, activation.Max));
    }

    private static OnnxModelBuilder ConvModel(bool extraReader)
    {
        var builder = new OnnxModelBuilder()
            .Input("x", 1, 2, 5, 5)
            .Initializer("w", new long[] { 3, 2, 3, 3 }, OnnxModelBuilder.RandomFloats(54, 7))
            .Initializer("b", new long[] { 3 }, new float[] { 0.1f, -0.2f, 0.3f })
            .Node("Conv", new[] { "x", "w", "b" }, new[] { "c" }, Ints("pads", 1, 1, 1, 1))
            .Node("Relu", new[] { "c" }, new[] { extraReader ? "r" : "y" });
        if (extraReader)
            builder.Node("Add", new[] { "r", "c" }, new[] { "y" });
        return builder.Output("y");
    }
}
