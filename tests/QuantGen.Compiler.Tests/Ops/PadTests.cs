using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Ops.OpCheck;

namespace QuantGen.Compiler.Tests.Ops;

public class PadTests
{
    private static OnnxAttribute Mode(string mode) => OnnxAttribute.String("mode", mode);

    [Fact]
    public void Opset_11_modes_values_and_negative_pads_match_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 11)
            .Input("x", 1, 2, 4, 5).LongInput("ids", 2, 3)
            .Longs("spatial", 0, 0, 1, 2, 0, 0, 2, 1)
            .Longs("cropping", 0, 1, -1, 2, 0, 0, 1, -2)
            .Longs("all_axes", 1, 0, 2, 1, 0, 1, 1, 2)
            .Longs("ids_pads", 1, 0, 0, 2)
            .Initializer("value", new long[0], new[] { 1.5f })
            .Initializer("ids_value", new long[0], new long[] { -7 })
            .Node("zeros", "Pad", new[] { "x", "spatial" }, new[] { "y_zeros" })
            .Node("value_and_crop", "Pad", new[] { "x", "cropping", "value" }, new[] { "y_value" })
            .Node("reflect", "Pad", new[] { "x", "spatial" }, new[] { "y_reflect" }, Mode("reflect"))
            .Node("edge", "Pad", new[] { "x", "all_axes" }, new[] { "y_edge" }, Mode("edge"))
            .Node("edge_crop", "Pad", new[] { "x", "cropping" }, new[] { "y_edge_crop" }, Mode("edge"))
            .Node("int64", "Pad", new[] { "ids", "ids_pads", "ids_value" }, new[] { "y_ids" })
            .Results("y_zeros", "y_value", "y_reflect", "y_edge", "y_edge_crop")
            .Result("y_ids", OnnxModelBuilder.ElementType.Int64)
            .ToBytes();
        Matches(model, Floats(40, 1), new long[] { 1, 2, 3, 4, 5, 6 });
    }

    [Fact]
    public void Attribute_form_before_opset_11_matches_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 10)
            .Input("x", 2, 3, 4)
            .Node("constant", "Pad", new[] { "x" }, new[] { "y_constant" }, OnnxAttribute.Ints("pads", 0, 1, 2, 1, 0, 3), OnnxAttribute.Float("value", -2f))
            .Node("reflect", "Pad", new[] { "x" }, new[] { "y_reflect" }, OnnxAttribute.Ints("pads", 1, 2, 3, 0, 0, 1), Mode("reflect"))
            .Results("y_constant", "y_reflect")
            .ToBytes();
        Matches(model, Floats(24, 2));
    }

    [Fact]
    public void Opset_19_axes_input_wrap_mode_and_cropping_match_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 19)
            .Input("x", 2, 3, 4)
            .Longs("pads", 1, 3, 2, 4).Longs("axes", -1, 1)
            .Longs("pads_reflect", 1, 2, 2, 1)
            .Longs("pads_last", 2, 1).Longs("axis_last", 2)
            .Node("axes_constant", "Pad", new[] { "x", "pads", "", "axes" }, new[] { "y_axes" })
            .Node("wrap", "Pad", new[] { "x", "pads_last", "", "axis_last" }, new[] { "y_wrap" }, Mode("wrap"))
            .Node("reflect_axes", "Pad", new[] { "x", "pads_reflect", "", "axes" }, new[] { "y_reflect" }, Mode("reflect"))
            .Longs("crop_then_pad", 0, -1, 2, 0, 1, -1).Longs("many_wraps", 0, 0, 5, 0, 2, 9)
            .Node("reflect_cropped", "Pad", new[] { "x", "crop_then_pad" }, new[] { "y_reflect_cropped" }, Mode("reflect"))
            .Node("wrap_cropped", "Pad", new[] { "x", "crop_then_pad" }, new[] { "y_wrap_cropped" }, Mode("wrap"))
            .Node("wrap_many", "Pad", new[] { "x", "many_wraps" }, new[] { "y_wrap_many" }, Mode("wrap"))
            .Results("y_axes", "y_wrap", "y_reflect", "y_reflect_cropped", "y_wrap_cropped", "y_wrap_many")
            .ToBytes();
        Matches(model, Floats(24, 3));
    }

    [Fact]
    public void Invalid_pads_are_diagnostics()
    {
        var length = new OnnxModelBuilder(opset: 13).Input("x", 2, 3).Longs("pads", 1, 1)
            .Node("short_pads", "Pad", new[] { "x", "pads" }, new[] { "y" }).Result("y").ToBytes();
        Assert.Contains("expected 4", Fails(length, "QG0006", "short_pads"));

        var reflect = new OnnxModelBuilder(opset: 13).Input("x", 2, 3).Longs("pads", 0, 3, 0, 0)
            .Node("deep_reflect", "Pad", new[] { "x", "pads" }, new[] { "y" }, Mode("reflect")).Result("y").ToBytes();
        Fails(reflect, "QG0005", "deep_reflect");

        var mode = new OnnxModelBuilder(opset: 13).Input("x", 2, 3).Longs("pads", 0, 1, 0, 0)
            .Node("wrap_too_early", "Pad", new[] { "x", "pads" }, new[] { "y" }, Mode("wrap")).Result("y").ToBytes();
        Assert.Contains("mode 'wrap'", Fails(mode, "QG0006", "wrap_too_early"));

        var crop = new OnnxModelBuilder(opset: 13).Input("x", 2, 3).Longs("pads", 0, -2, 0, -2)
            .Node("over_crop", "Pad", new[] { "x", "pads" }, new[] { "y" }).Result("y").ToBytes();
        Fails(crop, "QG0007", "over_crop");
    }
}
