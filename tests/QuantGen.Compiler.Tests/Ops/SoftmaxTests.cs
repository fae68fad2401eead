using System.Linq;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Ops.OpCheck;

namespace QuantGen.Compiler.Tests.Ops;

public class SoftmaxTests
{
    private static OnnxAttribute Axis(long axis) => OnnxAttribute.Int("axis", axis);

    [Fact]
    public void Opset_13_normalizes_along_one_axis()
    {
        // "big" holds values near 1000: without subtracting the max, exp overflows to infinity.
        var model = new OnnxModelBuilder(opset: 13)
            .Input("x", 2, 3, 4).Input("big", 3, 5).Input("v", 7)
            .Node("last", "Softmax", new[] { "x" }, new[] { "y_last" })
            .Node("middle", "Softmax", new[] { "x" }, new[] { "y_middle" }, Axis(1))
            .Node("first", "Softmax", new[] { "x" }, new[] { "y_first" }, Axis(-3))
            .Node("stable", "Softmax", new[] { "big" }, new[] { "y_stable" })
            .Node("vector", "Softmax", new[] { "v" }, new[] { "y_vector" }, Axis(0))
            .Results("y_last", "y_middle", "y_first", "y_stable", "y_vector")
            .ToBytes();
        var big = Floats(15, 2, 5f).Select(v => v + 1000f).ToArray();
        Matches(model, Floats(24, 1, 4f), big, Floats(7, 3, 3f));
    }

    [Fact]
    public void Contiguous_rows_of_every_tail_length_take_the_vector_path()
    {
        // Attention-like rows of 16..24 keys (every remainder after the 8-lane blocks), a row of large values, and
        // opset 11's flattened rows (axis 1 of [2, 3, 6] is rows of 18).
        var builder = new OnnxModelBuilder(opset: 13);
        var inputs = new System.Collections.Generic.List<System.Array>();
        for (int n = 16; n <= 24; n++)
        {
            builder.Input($"s{n}", 2, 3, n).Node($"attn{n}", "Softmax", new[] { $"s{n}" }, new[] { $"p{n}" }).Result($"p{n}");
            inputs.Add(Floats(6 * n, n, 6f));
        }
        builder.Input("big", 2, 40).Node("big_rows", "Softmax", new[] { "big" }, new[] { "p_big" }).Result("p_big");
        inputs.Add(Floats(80, 3, 20f).Select(v => v + 5000f).ToArray());
        Matches(builder.ToBytes(), inputs.ToArray());

        var flattened = new OnnxModelBuilder(opset: 11).Input("x", 2, 3, 6)
            .Node("rows", "Softmax", new[] { "x" }, new[] { "y" }).Result("y").ToBytes();
        Matches(flattened, Floats(36, 9, 4f));
    }

    [Fact]
    public void Opset_11_flattens_to_rows_at_axis()
    {
        var model = new OnnxModelBuilder(opset: 11)
            .Input("x", 2, 3, 4)
            .Node("default_axis", "Softmax", new[] { "x" }, new[] { "y_default" })
            .Node("axis0", "Softmax", new[] { "x" }, new[] { "y_all" }, Axis(0))
            .Node("axis2", "Softmax", new[] { "x" }, new[] { "y_inner" }, Axis(2))
            .Node("negative", "Softmax", new[] { "x" }, new[] { "y_negative" }, Axis(-2))
            .Results("y_default", "y_all", "y_inner", "y_negative")
            .ToBytes();
        Matches(model, Floats(24, 4, 4f));
    }

    [Fact]
    public void Opset_7_default_axis_matches_OnnxRuntime_and_feeds_a_graph()
    {
        // Softmax after a MatMul, as in a classifier head.
        var model = new OnnxModelBuilder(opset: 7)
            .Input("x", 2, 6)
            .Initializer("w", new long[] { 6, 10 }, Floats(60, 5))
            .Node("logits", "MatMul", new[] { "x", "w" }, new[] { "z" })
            .Node("probs", "Softmax", new[] { "z" }, new[] { "y" })
            .Result("y")
            .ToBytes();
        Matches(model, Floats(12, 6, 3f));
    }

    [Fact]
    public void Invalid_axis_is_a_diagnostic()
    {
        var model = new OnnxModelBuilder(opset: 13).Input("x", 2, 3)
            .Node("bad_axis", "Softmax", new[] { "x" }, new[] { "y" }, Axis(2)).Result("y").ToBytes();
        Assert.Contains("axis 2", Fails(model, "QG0006", "bad_axis"));

        var integer = new OnnxModelBuilder(opset: 13).LongInput("x", 2, 3)
            .Node("int_input", "Softmax", new[] { "x" }, new[] { "y" }).Result("y", OnnxModelBuilder.ElementType.Int64).ToBytes();
        Fails(integer, "QG0005", "int_input");
    }
}
