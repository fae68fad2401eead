using QuantGen.Compiler.Passes;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Testing.OnnxAttribute;

namespace QuantGen.Compiler.Tests.Passes;

public class FoldBatchNormalizationTests
{
    private static OnnxModelBuilder BatchNorm(OnnxModelBuilder builder, string input, string output, int channels) => builder
        .Initializer("scale", new long[] { channels }, OnnxModelBuilder.RandomFloats(channels, 11, 1f))
        .Initializer("shift", new long[] { channels }, OnnxModelBuilder.RandomFloats(channels, 12, 1f))
        .Initializer("mean", new long[] { channels }, OnnxModelBuilder.RandomFloats(channels, 13, 1f))
        .Initializer("var", new long[] { channels }, System.Array.ConvertAll(OnnxModelBuilder.RandomFloats(channels, 14, 1f), v => v * v + 0.5f))
        .Node("BatchNormalization", new[] { input, "scale", "shift", "mean", "var" }, new[] { output }, Float("epsilon", 1e-3f));

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void BatchNormalization_after_Conv_folds_into_its_weights(bool convHasBias)
    {
        var builder = new OnnxModelBuilder()
            .Input("x", 1, 2, 5, 5)
            .Initializer("w", new long[] { 3, 2, 3, 3 }, OnnxModelBuilder.RandomFloats(54, 7))
            .Initializer("b", new long[] { 3 }, new float[] { 0.1f, -0.2f, 0.3f })
            .Node("Conv", convHasBias ? new[] { "x", "w", "b" } : new[] { "x", "w" }, new[] { "c" });
        var graph = PassTestModels.Imported(BatchNorm(builder, "c", "y", 3).Output("y"));
        var before = PassTestModels.Evaluate(graph);
        FoldBatchNormalization.Run(graph);

        Assert.Equal(new[] { "Conv" }, PassTestModels.Ops(graph));
        Assert.Equal("y", graph.Nodes[0].Outputs[0]);
        PassTestModels.Close(before, PassTestModels.Evaluate(graph));
    }

    [Fact]
    public void BatchNormalization_after_Gemm_folds_into_its_columns()
    {
        var builder = new OnnxModelBuilder()
            .Input("x", 1, 6)
            .Initializer("w", new long[] { 4, 6 }, OnnxModelBuilder.RandomFloats(24, 5))
            .Initializer("c", new long[] { 4 }, OnnxModelBuilder.RandomFloats(4, 6))
            .Node("Gemm", new[] { "x", "w", "c" }, new[] { "g" }, Int("transB", 1));
        var graph = PassTestModels.Imported(BatchNorm(builder, "g", "y", 4).Output("y"));
        var before = PassTestModels.Evaluate(graph);
        FoldBatchNormalization.Run(graph);

        Assert.Equal(new[] { "Gemm" }, PassTestModels.Ops(graph));
        PassTestModels.Close(before, PassTestModels.Evaluate(graph));
    }

    [Fact]
    public void A_BatchNormalization_with_no_foldable_producer_stays()
    {
        var builder = new OnnxModelBuilder().Input("x", 1, 3, 4, 4);
        var graph = PassTestModels.Imported(BatchNorm(builder, "x", "y", 3).Output("y"));
        FoldBatchNormalization.Run(graph);
        Assert.Equal(new[] { "BatchNormalization" }, PassTestModels.Ops(graph));
    }

    [Fact]
    public void Shared_weights_are_not_changed_for_their_other_reader()
    {
        var builder = new OnnxModelBuilder()
            .Input("x", 1, 2, 4, 4)
            .Initializer("w", new long[] { 3, 2, 1, 1 }, OnnxModelBuilder.RandomFloats(6, 7))
            .Node("Conv", new[] { "x", "w" }, new[] { "c" })
            .Node("Conv", new[] { "x", "w" }, new[] { "d" });
        BatchNorm(builder, "c", "bn", 3).Node("Add", new[] { "bn", "d" }, new[] { "y" }).Output("y");
        var graph = PassTestModels.Imported(builder);
        var before = PassTestModels.Evaluate(graph);
        FoldBatchNormalization.Run(graph);

        Assert.Equal(new[] { "Conv", "Conv", "Add" }, PassTestModels.Ops(graph));
        Assert.Equal("w", graph.Nodes[1].Inputs[1]);
        PassTestModels.Close(before, PassTestModels.Evaluate(graph));
    }
}
