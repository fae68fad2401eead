using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Ops.OpCheck;

namespace QuantGen.Compiler.Tests.Ops;

public class SplitTests
{
    private static OnnxAttribute Axis(long axis) => OnnxAttribute.Int("axis", axis);

    [Fact]
    public void Split_attribute_before_opset_13_matches_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 11)
            .Input("x", 2, 6, 3)
            .Node("equal", "Split", new[] { "x" }, new[] { "e0", "e1", "e2" }, Axis(1))
            .Node("uneven", "Split", new[] { "x" }, new[] { "u0", "u1" }, Axis(-2), OnnxAttribute.Ints("split", 4, 2))
            .Node("first_axis", "Split", new[] { "x" }, new[] { "f0", "f1" })
            .Node("last_axis", "Split", new[] { "x" }, new[] { "l0", "l1" }, Axis(2), OnnxAttribute.Ints("split", 1, 2))
            .Results("e0", "e1", "e2", "u0", "u1", "f0", "f1", "l0", "l1")
            .ToBytes();
        Matches(model, Floats(36, 1, 3f));
    }

    [Fact]
    public void Split_input_from_opset_13_matches_OnnxRuntime()
    {
        // The fused QKV projection of an attention block: [B, S, 3H] cut into Q, K and V, with a zero-length part.
        var model = new OnnxModelBuilder(opset: 13)
            .Input("qkv", 2, 5, 24)
            .Longs("thirds", 8, 8, 8)
            .Longs("with_empty", 3, 0, 2)
            .Input("v", 5)
            .Node("heads", "Split", new[] { "qkv", "thirds" }, new[] { "q", "k", "v_out" }, Axis(-1))
            .Node("empty_part", "Split", new[] { "v", "with_empty" }, new[] { "a", "b", "c" })
            .Node("no_split", "Split", new[] { "qkv" }, new[] { "h0", "h1" }, Axis(0))
            .Results("q", "k", "v_out", "a", "b", "c", "h0", "h1")
            .ToBytes();
        Matches(model, Floats(240, 2, 3f), Floats(5, 3));
    }

    [Fact]
    public void Num_outputs_from_opset_18_matches_OnnxRuntime()
    {
        // 7 into 3: parts of ceil(7 / 3) = 3, the last one shorter (3, 3, 1).
        var model = new OnnxModelBuilder(opset: 18)
            .Input("x", 3, 7).LongInput("ids", 2, 4)
            .Node("uneven", "Split", new[] { "x" }, new[] { "y0", "y1", "y2" }, Axis(1), OnnxAttribute.Int("num_outputs", 3))
            .Node("even", "Split", new[] { "ids" }, new[] { "i0", "i1" }, Axis(1), OnnxAttribute.Int("num_outputs", 2))
            .Results("y0", "y1", "y2")
            .Result("i0", OnnxModelBuilder.ElementType.Int64).Result("i1", OnnxModelBuilder.ElementType.Int64)
            .ToBytes();
        Matches(model, Floats(21, 4, 3f), new long[] { 1, 2, 3, 4, 5, 6, 7, 8 });
    }

    [Fact]
    public void Bad_splits_are_diagnostics()
    {
        var sum = new OnnxModelBuilder(opset: 13).Input("x", 2, 6).Longs("split", 2, 3)
            .Node("short_split", "Split", new[] { "x", "split" }, new[] { "a", "b" }, Axis(1)).Results("a", "b").ToBytes();
        Assert.Contains("adds up to 5", Fails(sum, "QG0007", "short_split"));

        var count = new OnnxModelBuilder(opset: 13).Input("x", 2, 6).Longs("split", 2, 2, 2)
            .Node("count", "Split", new[] { "x", "split" }, new[] { "a", "b" }, Axis(1)).Results("a", "b").ToBytes();
        Assert.Contains("3 entries for 2 outputs", Fails(count, "QG0006", "count"));

        var uneven = new OnnxModelBuilder(opset: 13).Input("x", 2, 5)
            .Node("uneven", "Split", new[] { "x" }, new[] { "a", "b" }, Axis(1)).Results("a", "b").ToBytes();
        Assert.Contains("equal parts", Fails(uneven, "QG0007", "uneven"));

        var both = new OnnxModelBuilder(opset: 18).Input("x", 2, 6).Longs("split", 3, 3)
            .Node("both", "Split", new[] { "x", "split" }, new[] { "a", "b" }, Axis(1), OnnxAttribute.Int("num_outputs", 2)).Results("a", "b").ToBytes();
        Assert.Contains("both", Fails(both, "QG0006", "both"));

        var mismatch = new OnnxModelBuilder(opset: 18).Input("x", 2, 6)
            .Node("mismatch", "Split", new[] { "x" }, new[] { "a", "b" }, Axis(1), OnnxAttribute.Int("num_outputs", 3)).Results("a", "b").ToBytes();
        Assert.Contains("num_outputs is 3", Fails(mismatch, "QG0006", "mismatch"));

        var runtime = new OnnxModelBuilder(opset: 13).Input("x", 2, 6).LongInput("split", 2)
            .Node("runtime_split", "Split", new[] { "x", "split" }, new[] { "a", "b" }, Axis(1)).Results("a", "b").ToBytes();
        Fails(runtime, "QG0005", "runtime_split");

        var axis = new OnnxModelBuilder(opset: 13).Input("x", 2, 6)
            .Node("bad_axis", "Split", new[] { "x" }, new[] { "a", "b" }, Axis(2)).Results("a", "b").ToBytes();
        Assert.Contains("out of range", Fails(axis, "QG0006", "bad_axis"));
    }
}
