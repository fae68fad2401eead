using System.Collections.Generic;
using System.Linq;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Ops.OpCheck;

namespace QuantGen.Compiler.Tests.Ops;

public class LayerNormalizationTests
{
    private static OnnxAttribute Axis(long axis) => OnnxAttribute.Int("axis", axis);

    [Fact]
    public void Transformer_hidden_states_match_OnnxRuntime()
    {
        // [batch, sequence, hidden] normalized over hidden, with learned scale and bias, and statistics outputs.
        var model = new OnnxModelBuilder(opset: 17)
            .Input("x", 2, 5, 48)
            .Initializer("gamma", new long[] { 48 }, Floats(48, 10, 2f))
            .Initializer("beta", new long[] { 48 }, Floats(48, 11, 1f))
            .Node("ln", "LayerNormalization", new[] { "x", "gamma", "beta" }, new[] { "y", "mean", "inv_std_dev" })
            .Node("ln_eps", "LayerNormalization", new[] { "x", "gamma" }, new[] { "y_eps" }, OnnxAttribute.Float("epsilon", 0.5f))
            .Results("y", "mean", "inv_std_dev", "y_eps")
            .ToBytes();
        Matches(model, Floats(480, 1, 4f));
    }

    [Fact]
    public void Every_row_length_and_axis_matches_OnnxRuntime()
    {
        // Row lengths 1..20 cover the scalar path and every tail after the 8-lane blocks; then earlier axes of a 4-D input.
        var builder = new OnnxModelBuilder(opset: 17);
        var inputs = new List<System.Array>();
        for (int n = 1; n <= 20; n++)
        {
            builder.Input($"x{n}", 3, n).Initializer($"s{n}", new long[] { n }, Floats(n, 100 + n, 2f))
                .Node($"row{n}", "LayerNormalization", new[] { $"x{n}", $"s{n}" }, new[] { $"y{n}" }).Result($"y{n}");
            inputs.Add(Floats(3 * n, n, 3f));
        }
        builder.Input("t", 2, 3, 4, 5);
        for (int axis = -4; axis <= 3; axis++)
        {
            var normalized = new long[] { 2, 3, 4, 5 }.Skip(axis < 0 ? axis + 4 : axis).ToArray();
            int count = (int)normalized.Aggregate(1L, (a, b) => a * b);
            string tag = axis < 0 ? "m" + -axis : axis.ToString();
            builder.Initializer($"scale_{tag}", normalized, Floats(count, 200 + axis, 2f))
                .Initializer($"bias_{tag}", normalized, Floats(count, 300 + axis, 1f))
                .Node($"axis_{tag}", "LayerNormalization", new[] { "t", $"scale_{tag}", $"bias_{tag}" }, new[] { $"ya_{tag}", $"ma_{tag}", $"ia_{tag}" }, Axis(axis))
                .Results($"ya_{tag}", $"ma_{tag}", $"ia_{tag}");
        }
        inputs.Add(Floats(120, 7, 3f));
        Matches(builder.ToBytes(), inputs.ToArray());
    }

    [Fact]
    public void A_large_mean_does_not_cancel_the_variance()
    {
        // Activations around 10000 with a spread of ~1: E[x²] - mean² in float would lose every digit of the variance.
        var model = new OnnxModelBuilder(opset: 17)
            .Input("x", 4, 64)
            .Initializer("ones", new long[] { 64 }, Enumerable.Repeat(1f, 64).ToArray())
            .Node("ln", "LayerNormalization", new[] { "x", "ones" }, new[] { "y" }).Result("y")
            .ToBytes();
        Matches(model, Floats(256, 5, 1f).Select(v => v + 10000f).ToArray());
    }

    [Fact]
    public void Runtime_scale_and_bias_match_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 17)
            .Input("x", 3, 2, 12).Input("scale", 2, 12).Input("bias", 2, 12)
            .Node("ln", "LayerNormalization", new[] { "x", "scale", "bias" }, new[] { "y" }, Axis(1)).Result("y")
            .ToBytes();
        Matches(model, Floats(72, 1, 3f), Floats(24, 2, 2f), Floats(24, 3, 1f));
    }

    [Fact]
    public void Bad_attributes_and_shapes_are_diagnostics()
    {
        OnnxModelBuilder Base() => new OnnxModelBuilder(opset: 17).Input("x", 2, 8)
            .Initializer("s", new long[] { 8 }, Floats(8, 1));

        var axis = Base().Node("bad_axis", "LayerNormalization", new[] { "x", "s" }, new[] { "y" }, Axis(2)).Result("y").ToBytes();
        Assert.Contains("out of range", Fails(axis, "QG0006", "bad_axis"));

        var eps = Base().Node("bad_eps", "LayerNormalization", new[] { "x", "s" }, new[] { "y" }, OnnxAttribute.Float("epsilon", -1f)).Result("y").ToBytes();
        Assert.Contains("epsilon", Fails(eps, "QG0006", "bad_eps"));

        var stash = Base().Node("double_stash", "LayerNormalization", new[] { "x", "s" }, new[] { "y" }, OnnxAttribute.Int("stash_type", 11)).Result("y").ToBytes();
        Assert.Contains("stash_type", Fails(stash, "QG0005", "double_stash"));

        var scale = new OnnxModelBuilder(opset: 17).Input("x", 2, 8).Initializer("s", new long[] { 5 }, Floats(5, 1))
            .Node("bad_scale", "LayerNormalization", new[] { "x", "s" }, new[] { "y" }).Result("y").ToBytes();
        Assert.Contains("does not broadcast", Fails(scale, "QG0007", "bad_scale"));

        var missing = new OnnxModelBuilder(opset: 17).Input("x", 2, 8)
            .Node("no_scale", "LayerNormalization", new[] { "x" }, new[] { "y" }).Result("y").ToBytes();
        Assert.Contains("Scale", Fails(missing, "QG0006", "no_scale"));

        var runtime = new OnnxModelBuilder(opset: 17).Input("x", 2, 8).Input("s", 1)
            .Node("runtime_broadcast", "LayerNormalization", new[] { "x", "s" }, new[] { "y" }).Result("y").ToBytes();
        Fails(runtime, "QG0005", "runtime_broadcast");
    }
}
