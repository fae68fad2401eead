using System.Linq;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Ops.OpCheck;

namespace QuantGen.Compiler.Tests.Ops;

public class LogicalTests
{
    private const int Bool = OnnxModelBuilder.ElementType.Bool;

    [Fact]
    public void Broadcast_logic_matches_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 13)
            .BoolInput("a", 2, 3, 4).BoolInput("b", 3, 1).BoolInput("c", 4)
            .Node("and", "And", new[] { "a", "b" }, new[] { "y_and" })
            .Node("or", "Or", new[] { "a", "c" }, new[] { "y_or" })
            .Node("xor", "Xor", new[] { "b", "c" }, new[] { "y_xor" })
            .Node("not", "Not", new[] { "a" }, new[] { "y_not" })
            .Result("y_and", Bool).Result("y_or", Bool).Result("y_xor", Bool).Result("y_not", Bool)
            .ToBytes();
        var a = Enumerable.Range(0, 24).Select(i => i * 7 % 5 < 2).ToArray();
        Matches(model, a, new[] { true, false, true }, new[] { false, true, true, false });
    }

    [Fact]
    public void Padding_and_causal_masks_combine_and_fill_like_OnnxRuntime()
    {
        // keep = (ids != pad) & tril(ones): the combined mask of a decoder with padding, then masked_fill(~keep, -inf).
        var model = new OnnxModelBuilder(opset: 17)
            .Input("scores", 1, 4, 4).LongInput("ids", 1, 1, 4)
            .Initializer("pad", new long[0], new long[] { 0 })
            .Initializer("ones", new long[] { 4, 4 }, Enumerable.Repeat(1L, 16).ToArray())
            .Initializer("minus_inf", new long[0], new[] { float.NegativeInfinity })
            .Node("is_pad", "Equal", new[] { "ids", "pad" }, new[] { "p" })
            .Node("not_pad", "Not", new[] { "p" }, new[] { "np" })
            .Node("tril", "Trilu", new[] { "ones" }, new[] { "t" }, OnnxAttribute.Int("upper", 0))
            .Node("causal", "Cast", new[] { "t" }, new[] { "c" }, OnnxAttribute.Int("to", Bool))
            .Node("keep", "And", new[] { "np", "c" }, new[] { "k" })
            .Node("drop", "Not", new[] { "k" }, new[] { "d" })
            .Node("fill", "Where", new[] { "d", "minus_inf", "scores" }, new[] { "y" })
            .Result("y")
            .ToBytes();
        Matches(model, Floats(16, 1), new long[] { 5, 9, 0, 0 });
    }

    [Fact]
    public void Non_bool_inputs_are_diagnostics()
    {
        var floats = new OnnxModelBuilder(opset: 13).Input("a", 2).Input("b", 2)
            .Node("float_and", "And", new[] { "a", "b" }, new[] { "y" }).Result("y", Bool).ToBytes();
        Fails(floats, "QG0005", "float_and");
    }
}
