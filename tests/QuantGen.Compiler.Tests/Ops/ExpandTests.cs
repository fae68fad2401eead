using System.Linq;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Ops.OpCheck;

namespace QuantGen.Compiler.Tests.Ops;

public class ExpandTests
{
    [Fact]
    public void Runtime_inputs_broadcast_both_ways_like_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 13)
            .Input("column", 3, 1).Input("row", 4).LongInput("ids", 1, 3).Input("scalar")
            .Longs("to_3x4", 3, 4)
            .Longs("to_2x1x1", 2, 1, 1)      // the input's larger dimensions win over the target's 1s
            .Longs("to_2x3", 2, 3)
            .Longs("to_2x2", 2, 2)
            .Node("column_to_matrix", "Expand", new[] { "column", "to_3x4" }, new[] { "y_column" })
            .Node("row_up_rank", "Expand", new[] { "row", "to_2x1x1" }, new[] { "y_row" })
            .Node("int64_ids", "Expand", new[] { "ids", "to_2x3" }, new[] { "y_ids" })
            .Node("scalar_fill", "Expand", new[] { "scalar", "to_2x2" }, new[] { "y_scalar" })
            .Results("y_column", "y_row").Result("y_ids", OnnxModelBuilder.ElementType.Int64).Result("y_scalar")
            .ToBytes();
        Matches(model, new[] { 1f, float.NaN, -0f }, new[] { 1f, 2f, 3f, 4f }, new long[] { 7, long.MinValue, -1 }, new[] { float.NegativeInfinity });
    }

    [Fact]
    public void Repeated_rows_are_copied_as_slices()
    {
        // (1, 1, 3, 16) to (2, 4, 3, 16): every 48-element block is copied 8 times; (3, 1, 16) to (3, 5, 16): rows repeat.
        var model = new OnnxModelBuilder(opset: 13)
            .Input("mask", 1, 1, 3, 16).Input("rows", 3, 1, 16).Input("same", 2, 8)
            .Longs("heads", 2, 4, 3, 16).Longs("repeat", 3, 5, 16).Longs("copy", 2, 8)
            .Node("per_head", "Expand", new[] { "mask", "heads" }, new[] { "y_heads" })
            .Node("repeat_rows", "Expand", new[] { "rows", "repeat" }, new[] { "y_rows" })
            .Node("plain_copy", "Expand", new[] { "same", "copy" }, new[] { "y_same" })
            .Results("y_heads", "y_rows", "y_same")
            .ToBytes();
        Matches(model, Floats(48, 1), Floats(48, 2), Floats(16, 3));
        var kernels = Kernels(model);
        Assert.Contains("x0.Slice(0, 48).CopyTo(y0.Slice(o, 48));", kernels);
        Assert.Contains("x0.Slice(i0 * 16, 16).CopyTo(y0.Slice(o, 16));", kernels);
        Assert.Contains("x0.Slice(0, 16).CopyTo(y0);", kernels);
    }

    [Fact]
    public void Class_token_expand_of_a_constant_folds()
    {
        // ViT: cls_token (1, 1, D) expanded to the batch (B, 1, D) with B read from the input's shape, then concatenated.
        var model = new OnnxModelBuilder(opset: 13)
            .Input("patches", 2, 3, 4)
            .Initializer("cls", new long[] { 1, 1, 4 }, new[] { 0.1f, 0.2f, 0.3f, 0.4f })
            .Longs("first", 0).Longs("rest", 1, 4)
            .Node("shape", "Shape", new[] { "patches" }, new[] { "s" })
            .Node("batch", "Gather", new[] { "s", "first" }, new[] { "b" })
            .Node("target", "Concat", new[] { "b", "rest" }, new[] { "t" }, OnnxAttribute.Int("axis", 0))
            .Node("expand", "Expand", new[] { "cls", "t" }, new[] { "c" })
            .Node("concat", "Concat", new[] { "c", "patches" }, new[] { "y" }, OnnxAttribute.Int("axis", 1))
            .Result("y")
            .ToBytes();
        Matches(model, Floats(24, 1));
        var graph = ModelCompiler.Prepare(model, "cls.onnx");
        Assert.Equal(new[] { "Concat" }, graph.Nodes.Select(n => n.OpType).ToArray());
    }

    [Fact]
    public void Bad_shapes_are_diagnostics()
    {
        var incompatible = new OnnxModelBuilder(opset: 13).Input("x", 3).Longs("to", 2, 4)
            .Node("no_broadcast", "Expand", new[] { "x", "to" }, new[] { "y" }).Result("y").ToBytes();
        Fails(incompatible, "QG0007", "no_broadcast");

        var negative = new OnnxModelBuilder(opset: 13).Input("x", 3).Longs("to", -1, 3)
            .Node("negative_dim", "Expand", new[] { "x", "to" }, new[] { "y" }).Result("y").ToBytes();
        Fails(negative, "QG0006", "negative_dim");

        var runtimeShape = new OnnxModelBuilder(opset: 13).Input("x", 3).LongInput("to", 2)
            .Node("runtime_shape", "Expand", new[] { "x", "to" }, new[] { "y" }).Result("y").ToBytes();
        Fails(runtimeShape, "QG0005", "runtime_shape");
    }
}
