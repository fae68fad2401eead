using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Ops.OpCheck;

namespace QuantGen.Compiler.Tests.Ops;

public class SliceTests
{
    private static OnnxAttribute Ints(string name, params long[] values) => OnnxAttribute.Ints(name, values);

    [Fact]
    public void Input_form_with_steps_negative_values_and_clamping_matches_OnnxRuntime()
    {
        const long Max = long.MaxValue, Min = long.MinValue;
        var model = new OnnxModelBuilder(opset: 13)
            .Input("x", 4, 6, 5).LongInput("ids", 7)
            .Longs("s1", 1).Longs("e1", 3).Longs("a0", 0)
            .Longs("s2", -4, -2).Longs("e2", -1, Max).Longs("a2", -1, 1)
            .Longs("s3", 0, Max).Longs("e3", Max, Min).Longs("a3", 1, 2).Longs("k3", 2, -1)
            .Longs("s4", -1).Longs("e4", -100).Longs("a4", 0).Longs("k4", -2)
            .Longs("s5", 1, 0, 0).Longs("e5", 3, 6, 5)
            .Longs("s6", 10).Longs("e6", 20)
            .Longs("s7", 5).Longs("e7", 1).Longs("k7", -3)
            .Node("basic", "Slice", new[] { "x", "s1", "e1", "a0" }, new[] { "y_basic" })
            .Node("negative", "Slice", new[] { "x", "s2", "e2", "a2" }, new[] { "y_negative" })
            .Node("strided", "Slice", new[] { "x", "s3", "e3", "a3", "k3" }, new[] { "y_strided" })
            .Node("backwards", "Slice", new[] { "x", "s4", "e4", "a4", "k4" }, new[] { "y_backwards" })
            .Node("no_axes", "Slice", new[] { "x", "s5", "e5" }, new[] { "y_no_axes" })
            .Node("past_end", "Slice", new[] { "x", "s6", "e6", "a0" }, new[] { "y_empty" })
            .Node("int64", "Slice", new[] { "ids", "s7", "e7", "a0", "k7" }, new[] { "y_ids" })
            .Results("y_basic", "y_negative", "y_strided", "y_backwards", "y_no_axes", "y_empty")
            .Result("y_ids", OnnxModelBuilder.ElementType.Int64)
            .ToBytes();
        Matches(model, Floats(120, 1), new long[] { 1, 2, 3, 4, 5, 6, 7 });
    }

    [Fact]
    public void Attribute_form_before_opset_10_matches_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 9)
            .Input("x", 3, 4, 5)
            .Node("with_axes", "Slice", new[] { "x" }, new[] { "y_axes" }, Ints("starts", 1, -3), Ints("ends", 1000, -1), Ints("axes", 2, 0))
            .Node("without_axes", "Slice", new[] { "x" }, new[] { "y_all" }, Ints("starts", 0, 1), Ints("ends", 2, 3))
            .Results("y_axes", "y_all")
            .ToBytes();
        Matches(model, Floats(60, 2));
    }

    [Fact]
    public void Invalid_or_runtime_parameters_are_diagnostics()
    {
        var runtimeStarts = new OnnxModelBuilder(opset: 13).Input("x", 4).LongInput("s", 1).Longs("e", 3)
            .Node("runtime_starts", "Slice", new[] { "x", "s", "e" }, new[] { "y" }).Result("y").ToBytes();
        Assert.Contains("at build time", Fails(runtimeStarts, "QG0005", "runtime_starts"));

        var zeroStep = new OnnxModelBuilder(opset: 13).Input("x", 4).Longs("s", 0).Longs("e", 3).Longs("a", 0).Longs("k", 0)
            .Node("zero_step", "Slice", new[] { "x", "s", "e", "a", "k" }, new[] { "y" }).Result("y").ToBytes();
        Assert.Contains("steps[0] is 0", Fails(zeroStep, "QG0006", "zero_step"));

        var lengths = new OnnxModelBuilder(opset: 13).Input("x", 4, 4).Longs("s", 0, 1).Longs("e", 3)
            .Node("lengths", "Slice", new[] { "x", "s", "e" }, new[] { "y" }).Result("y").ToBytes();
        Fails(lengths, "QG0006", "lengths");
    }
}
