using System.Linq;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Ops.OpCheck;

namespace QuantGen.Compiler.Tests.Ops;

public class ComparisonTests
{
    [Theory]
    [InlineData("Equal")]
    [InlineData("Less")]
    [InlineData("Greater")]
    [InlineData("LessOrEqual")]
    [InlineData("GreaterOrEqual")]
    public void Broadcast_comparisons_with_NaN_and_signed_zero_match_OnnxRuntime(string op)
    {
        var model = new OnnxModelBuilder(opset: 16)
            .Input("a", 2, 3, 4).Input("b", 3, 1).LongInput("i", 2, 5).LongInput("j", 5).Input("e", 8).Input("f", 8)
            .Initializer("half", new long[0], new[] { 0.5f })
            .Node("float_broadcast", op, new[] { "a", "b" }, new[] { "y_float" })
            .Node("int64_broadcast", op, new[] { "i", "j" }, new[] { "y_int64" })
            .Node("edges", op, new[] { "e", "f" }, new[] { "y_edges" })
            .Node("scalar", op, new[] { "a", "half" }, new[] { "y_scalar" })
            .Result("y_float", OnnxModelBuilder.ElementType.Bool).Result("y_int64", OnnxModelBuilder.ElementType.Bool)
            .Result("y_edges", OnnxModelBuilder.ElementType.Bool).Result("y_scalar", OnnxModelBuilder.ElementType.Bool)
            .ToBytes();
        var a = Floats(24, 1).Select(v => (float)System.Math.Round(v * 4) / 4).ToArray(); // ties with b and 0.5 happen
        var b = new[] { 0.25f, 0f, -0.25f };
        var e = new[] { float.NaN, 1f, 0f, float.PositiveInfinity, float.NegativeInfinity, 1f, float.NaN, 3f };
        var f = new[] { float.NaN, float.NaN, -0f, float.PositiveInfinity, 0f, 1f, 2f, float.NegativeInfinity };
        Matches(model, a, b, new long[] { 1, 2, 3, 4, 5, long.MinValue, 0, -1, long.MaxValue, 5 }, new long[] { 1, 3, 3, long.MaxValue, 4 }, e, f);
    }

    [Fact]
    public void Equal_on_bools_and_int32_matches_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 13)
            .BoolInput("p", 4).BoolInput("q", 2, 1).IntInput("i", 3).IntInput("j", 3)
            .Node("bools", "Equal", new[] { "p", "q" }, new[] { "y_bools" })
            .Node("ints", "Equal", new[] { "i", "j" }, new[] { "y_ints" })
            .Result("y_bools", OnnxModelBuilder.ElementType.Bool).Result("y_ints", OnnxModelBuilder.ElementType.Bool)
            .ToBytes();
        Matches(model, new[] { true, false, true, false }, new[] { true, false }, new[] { 1, -2, int.MinValue }, new[] { 1, 2, int.MinValue });
    }

    [Fact]
    public void Mixed_and_unsupported_types_are_diagnostics()
    {
        var mixed = new OnnxModelBuilder(opset: 13).Input("a", 3).LongInput("b", 3)
            .Node("mixed", "Less", new[] { "a", "b" }, new[] { "y" }).Result("y", OnnxModelBuilder.ElementType.Bool).ToBytes();
        Assert.Contains("different element types", Fails(mixed, "QG0006", "mixed"));

        var bools = new OnnxModelBuilder(opset: 13).BoolInput("a", 3).BoolInput("b", 3)
            .Node("ordered_bools", "Greater", new[] { "a", "b" }, new[] { "y" }).Result("y", OnnxModelBuilder.ElementType.Bool).ToBytes();
        Fails(bools, "QG0005", "ordered_bools");
    }
}
