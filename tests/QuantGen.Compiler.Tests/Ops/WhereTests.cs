using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Ops.OpCheck;

namespace QuantGen.Compiler.Tests.Ops;

public class WhereTests
{
    [Fact]
    public void Three_way_broadcast_matches_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 16)
            .BoolInput("c", 3, 1).Input("x", 1, 4).Input("y", 2, 1, 1).LongInput("i", 4).LongInput("j", 3, 4)
            .Node("floats", "Where", new[] { "c", "x", "y" }, new[] { "y_floats" })
            .Node("longs", "Where", new[] { "c", "i", "j" }, new[] { "y_longs" })
            .Result("y_floats").Result("y_longs", OnnxModelBuilder.ElementType.Int64)
            .ToBytes();
        Matches(model, new[] { true, false, true }, new[] { 1f, float.NaN, -0f, float.PositiveInfinity }, new[] { -1f, 2f },
            new long[] { 1, 2, 3, long.MinValue }, Enumerable.Range(0, 12).Select(v => (long)v * 1000).ToArray());
    }

    [Fact]
    public void Attention_mask_fill_with_minus_infinity_matches_OnnxRuntime()
    {
        // scores.masked_fill(mask == 0, -inf), as PyTorch exports it: Equal on the mask, Where with a scalar -inf.
        var model = new OnnxModelBuilder(opset: 17)
            .Input("scores", 2, 4, 4).LongInput("mask", 2, 1, 4)
            .Initializer("zero", new long[0], new long[] { 0 })
            .Initializer("minus_inf", new long[0], new[] { float.NegativeInfinity })
            .Node("is_pad", "Equal", new[] { "mask", "zero" }, new[] { "pad" })
            .Node("masked_fill", "Where", new[] { "pad", "minus_inf", "scores" }, new[] { "y" })
            .Result("y")
            .ToBytes();
        Matches(model, Floats(32, 1), new long[] { 1, 1, 1, 0, 1, 0, 0, 1 });
        Assert.Contains("float.NegativeInfinity", Kernels(model));
    }

    [Fact]
    public void Causal_mask_from_shapes_folds_to_a_constant()
    {
        // The mask of a causal attention over the input's sequence length: Shape -> Gather -> ConstantOfShape(1) ->
        // Trilu(lower) -> Equal(0) -> Where(-inf, 0) -> Add to the scores. Everything up to the Add folds at build time.
        var one = System.BitConverter.GetBytes(1L);
        var model = new OnnxModelBuilder(opset: 17)
            .Input("scores", 1, 2, 5, 5)
            .Initializer("last_two", new long[] { 2 }, new long[] { 2, 3 })
            .Initializer("zero", new long[0], new long[] { 0 })
            .Initializer("minus_inf", new long[0], new[] { float.NegativeInfinity })
            .Initializer("zero_f", new long[0], new[] { 0f })
            .Node("shape", "Shape", new[] { "scores" }, new[] { "s" })
            .Node("square", "Gather", new[] { "s", "last_two" }, new[] { "n" })
            .Node("ones", "ConstantOfShape", new[] { "n" }, new[] { "o" }, OnnxAttribute.TensorValue("value", OnnxModelBuilder.ElementType.Int64, new long[] { 1 }, one))
            .Node("tril", "Trilu", new[] { "o" }, new[] { "t" }, OnnxAttribute.Int("upper", 0))
            .Node("future", "Equal", new[] { "t", "zero" }, new[] { "f" })
            .Node("mask", "Where", new[] { "f", "minus_inf", "zero_f" }, new[] { "m" })
            .Node("apply", "Add", new[] { "scores", "m" }, new[] { "y" })
            .Result("y")
            .ToBytes();
        Matches(model, Floats(50, 2));
        var graph = ModelCompiler.Prepare(model, "causal.onnx");
        Assert.Equal(new[] { "Add" }, graph.Nodes.Select(n => n.OpType).ToArray());
        var mask = graph["m"].Constant!;
        Assert.Equal(new[] { 5, 5 }, mask.Shape);
        Assert.True(float.IsNegativeInfinity(mask.Floats![1]) && mask.Floats[5] == 0f);
    }

    [Fact]
    public void Causal_mask_from_Range_comparison_folds_to_a_constant()
    {
        // arange(S)[None, :] <= arange(S)[:, None] with S from the input's shape, as PyTorch traces it; then masked_fill.
        var model = new OnnxModelBuilder(opset: 17)
            .Input("scores", 2, 6, 6)
            .Longs("seq_axis", 1).Longs("axis0", 0).Longs("axis1", 1)
            .Initializer("start", new long[0], new long[] { 0 }).Initializer("step", new long[0], new long[] { 1 })
            .Initializer("minus_inf", new long[0], new[] { float.NegativeInfinity })
            .Node("shape", "Shape", new[] { "scores" }, new[] { "s" })
            .Node("seq", "Gather", new[] { "s", "seq_axis" }, new[] { "n1" })
            .Node("seq_scalar", "Squeeze", new[] { "n1", "axis0" }, new[] { "n" })
            .Node("positions", "Range", new[] { "start", "n", "step" }, new[] { "p" })
            .Node("row", "Unsqueeze", new[] { "p", "axis0" }, new[] { "key" })
            .Node("column", "Unsqueeze", new[] { "p", "axis1" }, new[] { "query" })
            .Node("visible", "LessOrEqual", new[] { "key", "query" }, new[] { "v" })
            .Node("fill", "Where", new[] { "v", "scores", "minus_inf" }, new[] { "y" })
            .Result("y")
            .ToBytes();
        Matches(model, Floats(72, 4));
        var graph = ModelCompiler.Prepare(model, "range_mask.onnx");
        Assert.Equal(new[] { "Where" }, graph.Nodes.Select(n => n.OpType).ToArray());
        Assert.Equal(new[] { 6, 6 }, graph["v"].Constant!.Shape);
    }

    [Fact]
    public void A_constant_bool_mask_is_embedded_and_matches_OnnxRuntime()
    {
        // Trilu of ones cast to bool: a build-time 5x5 bool tensor the kernel reads from the embedded weights.
        var model = new OnnxModelBuilder(opset: 17)
            .Input("scores", 2, 5, 5)
            .Initializer("ones", new long[] { 5, 5 }, Enumerable.Repeat(1L, 25).ToArray())
            .Initializer("minus_inf", new long[0], new[] { float.NegativeInfinity })
            .Node("tril", "Trilu", new[] { "ones" }, new[] { "t" }, OnnxAttribute.Int("upper", 0))
            .Node("as_bool", "Cast", new[] { "t" }, new[] { "keep" }, OnnxAttribute.Int("to", OnnxModelBuilder.ElementType.Bool))
            .Node("causal", "Where", new[] { "keep", "scores", "minus_inf" }, new[] { "y" })
            .Result("y")
            .ToBytes();
        Matches(model, Floats(50, 3));
        var graph = ModelCompiler.Prepare(model, "mask.onnx");
        Assert.Equal(DataType.Bool, graph["keep"].Constant!.Type);
    }

    [Fact]
    public void Bad_inputs_are_diagnostics()
    {
        var floatCondition = new OnnxModelBuilder(opset: 16).Input("c", 3).Input("x", 3).Input("y", 3)
            .Node("float_condition", "Where", new[] { "c", "x", "y" }, new[] { "z" }).Result("z").ToBytes();
        Fails(floatCondition, "QG0005", "float_condition");

        var mixed = new OnnxModelBuilder(opset: 16).BoolInput("c", 3).Input("x", 3).LongInput("y", 3)
            .Node("mixed_values", "Where", new[] { "c", "x", "y" }, new[] { "z" }).Result("z").ToBytes();
        Assert.Contains("different element types", Fails(mixed, "QG0006", "mixed_values"));

        var shapes = new OnnxModelBuilder(opset: 16).BoolInput("c", 2).Input("x", 3).Input("y", 3)
            .Node("no_broadcast", "Where", new[] { "c", "x", "y" }, new[] { "z" }).Result("z").ToBytes();
        Fails(shapes, "QG0007", "no_broadcast");
    }
}
