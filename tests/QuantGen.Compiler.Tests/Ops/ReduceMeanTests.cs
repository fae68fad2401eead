using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Ops.OpCheck;

namespace QuantGen.Compiler.Tests.Ops;

public class ReduceMeanTests
{
    private static OnnxAttribute Axes(params long[] axes) => OnnxAttribute.Ints("axes", axes);
    private static OnnxAttribute KeepDims(long keep) => OnnxAttribute.Int("keepdims", keep);

    [Fact]
    public void Attribute_axes_before_opset_18_match_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 13)
            .Input("x", 2, 3, 4, 5)
            .Node("spatial", "ReduceMean", new[] { "x" }, new[] { "y_spatial" }, Axes(2, 3))
            .Node("channels_dropped", "ReduceMean", new[] { "x" }, new[] { "y_channels" }, Axes(1), KeepDims(0))
            .Node("everything", "ReduceMean", new[] { "x" }, new[] { "y_all" })
            .Node("last_negative", "ReduceMean", new[] { "x" }, new[] { "y_last" }, Axes(-1))
            .Node("apart", "ReduceMean", new[] { "x" }, new[] { "y_apart" }, Axes(0, 2), KeepDims(0))
            .Results("y_spatial", "y_channels", "y_all", "y_last", "y_apart")
            .ToBytes();
        Matches(model, Floats(120, 1, 3f));
    }

    [Fact]
    public void Axes_input_from_opset_18_matches_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 18)
            .Input("x", 2, 3, 4)
            .Longs("axes", 2, 0)
            .Initializer("no_axes", new long[] { 0 }, new long[0])
            .Node("input_axes", "ReduceMean", new[] { "x", "axes" }, new[] { "y_axes" }, KeepDims(0))
            .Node("default_all", "ReduceMean", new[] { "x" }, new[] { "y_all" })
            .Node("noop", "ReduceMean", new[] { "x" }, new[] { "y_noop" }, OnnxAttribute.Int("noop_with_empty_axes", 1))
            .Node("empty_axes", "ReduceMean", new[] { "x", "no_axes" }, new[] { "y_empty" }, KeepDims(0))
            .Results("y_axes", "y_all", "y_noop", "y_empty")
            .ToBytes();
        Matches(model, Floats(24, 2, 2f));
    }

    [Fact]
    public void Layer_norm_style_mean_over_the_last_axis_matches_OnnxRuntime()
    {
        // A decomposed LayerNorm: x - mean(x) over the hidden size, at opset 11.
        var model = new OnnxModelBuilder(opset: 11)
            .Input("x", 1, 6, 32)
            .Node("mean", "ReduceMean", new[] { "x" }, new[] { "m" }, Axes(-1))
            .Node("center", "Sub", new[] { "x", "m" }, new[] { "y" })
            .Result("y")
            .ToBytes();
        Matches(model, Floats(192, 3, 10f));
    }

    [Fact]
    public void Invalid_axes_are_diagnostics()
    {
        var range = new OnnxModelBuilder(opset: 13).Input("x", 2, 3)
            .Node("bad_axis", "ReduceMean", new[] { "x" }, new[] { "y" }, Axes(2)).Result("y").ToBytes();
        Assert.Contains("out of range", Fails(range, "QG0006", "bad_axis"));

        var repeated = new OnnxModelBuilder(opset: 18).Input("x", 2, 3).Longs("axes", 1, -1)
            .Node("twice", "ReduceMean", new[] { "x", "axes" }, new[] { "y" }).Result("y").ToBytes();
        Assert.Contains("twice", Fails(repeated, "QG0006", "twice"));

        var runtime = new OnnxModelBuilder(opset: 18).Input("x", 2, 3).LongInput("axes", 1)
            .Node("runtime_axes", "ReduceMean", new[] { "x", "axes" }, new[] { "y" }).Result("y").ToBytes();
        Fails(runtime, "QG0005", "runtime_axes");
    }
}
