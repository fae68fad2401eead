using System.Linq;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Ops.OpCheck;

namespace QuantGen.Compiler.Tests.Ops;

public class ConcatTests
{
    private static OnnxAttribute Axis(long axis) => OnnxAttribute.Int("axis", axis);

    [Fact]
    public void Axes_inputs_and_int64_match_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 13)
            .Input("a", 2, 3).Input("b", 2, 5).Input("c", 2, 1).Input("d", 4, 3)
            .Input("p", 2, 3, 4).Input("q", 2, 3, 2)
            .LongInput("i", 2).LongInput("j", 3)
            .Initializer("k", new long[] { 2, 2 }, Floats(4, 9))
            .Node("columns", "Concat", new[] { "a", "b", "c" }, new[] { "y_columns" }, Axis(1))
            .Node("rows", "Concat", new[] { "a", "d" }, new[] { "y_rows" }, Axis(0))
            .Node("last_negative", "Concat", new[] { "p", "q", "p" }, new[] { "y_last" }, Axis(-1))
            .Node("with_constant", "Concat", new[] { "k", "a", "k" }, new[] { "y_constant" }, Axis(1))
            .Node("single", "Concat", new[] { "a" }, new[] { "y_single" }, Axis(0))
            .Node("ints", "Concat", new[] { "i", "j", "i" }, new[] { "y_ints" }, Axis(0))
            .Results("y_columns", "y_rows", "y_last", "y_constant", "y_single")
            .Result("y_ints", OnnxModelBuilder.ElementType.Int64)
            .ToBytes();
        Matches(model, Floats(6, 1), Floats(10, 2), Floats(2, 3), Floats(12, 4), Floats(24, 5), Floats(12, 6),
            new long[] { 7, -8 }, new long[] { long.MaxValue, 0, long.MinValue });
    }

    [Fact]
    public void Opset_7_middle_axis_matches_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 7)
            .Input("a", 2, 3, 4).Input("b", 2, 1, 4)
            .Node("middle", "Concat", new[] { "a", "b" }, new[] { "y" }, Axis(1))
            .Result("y")
            .ToBytes();
        Matches(model, Floats(24, 7), Floats(8, 8));
    }

    [Fact]
    public void Shape_arithmetic_on_int64_folds_at_build_time()
    {
        // PyTorch's x.view(x.size(0), -1): Shape -> Gather -> Unsqueeze -> Concat -> Reshape. All of it folds.
        var model = new OnnxModelBuilder(opset: 13)
            .Input("x", 2, 3, 4)
            .Initializer("zero", new long[0], new long[] { 0 })
            .Longs("axes0", 0)
            .Longs("minus_one", -1)
            .Node("shape", "Shape", new[] { "x" }, new[] { "s" })
            .Node("batch", "Gather", new[] { "s", "zero" }, new[] { "n" }, Axis(0))
            .Node("unsq", "Unsqueeze", new[] { "n", "axes0" }, new[] { "n1" })
            .Node("target", "Concat", new[] { "n1", "minus_one" }, new[] { "t" }, Axis(0))
            .Node("flatten", "Reshape", new[] { "x", "t" }, new[] { "flat" })
            .Node("scale", "Softmax", new[] { "flat" }, new[] { "y" })
            .Result("y")
            .ToBytes();
        var graph = ModelCompiler.Prepare(model, "model.onnx");
        Assert.Equal(new[] { "Reshape", "Softmax" }, graph.Nodes.Select(n => n.OpType));
        Assert.Equal(new[] { 2, 12 }, graph["flat"].Shape);
        Matches(model, Floats(24, 9, 3f));
    }

    [Fact]
    public void Mismatched_inputs_are_a_diagnostic()
    {
        var shapes = new OnnxModelBuilder(opset: 13).Input("a", 2, 3).Input("b", 3, 3)
            .Node("bad_concat", "Concat", new[] { "a", "b" }, new[] { "y" }, Axis(1)).Result("y").ToBytes();
        Assert.Contains("outside axis 1", Fails(shapes, "QG0007", "bad_concat"));

        var noAxis = new OnnxModelBuilder(opset: 13).Input("a", 2, 3)
            .Node("no_axis", "Concat", new[] { "a", "a" }, new[] { "y" }).Result("y").ToBytes();
        Assert.Contains("'axis'", Fails(noAxis, "QG0006", "no_axis"));

        var types = new OnnxModelBuilder(opset: 13).Input("a", 2).LongInput("b", 2)
            .Node("mixed_types", "Concat", new[] { "a", "b" }, new[] { "y" }, Axis(0)).Result("y").ToBytes();
        Fails(types, "QG0006", "mixed_types");
    }
}
