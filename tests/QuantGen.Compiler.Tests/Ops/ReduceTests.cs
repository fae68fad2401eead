using System.Linq;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Ops.OpCheck;

namespace QuantGen.Compiler.Tests.Ops;

/// <summary>ReduceSum and ReduceMax (ReduceMean, the same family, has its own tests).</summary>
public class ReduceTests
{
    private static OnnxAttribute Axes(params long[] axes) => OnnxAttribute.Ints("axes", axes);
    private static OnnxAttribute KeepDims(long keep) => OnnxAttribute.Int("keepdims", keep);

    [Theory]
    [InlineData("ReduceSum")]
    [InlineData("ReduceMax")]
    public void Attribute_axes_match_OnnxRuntime(string op)
    {
        // ReduceSum takes axes as an attribute up to opset 11, ReduceMax up to 17.
        var model = new OnnxModelBuilder(opset: op == "ReduceSum" ? 11 : 17)
            .Input("x", 2, 3, 4, 5)
            .Node("spatial", op, new[] { "x" }, new[] { "y_spatial" }, Axes(2, 3))
            .Node("channels_dropped", op, new[] { "x" }, new[] { "y_channels" }, Axes(1), KeepDims(0))
            .Node("everything", op, new[] { "x" }, new[] { "y_all" })
            .Node("last_negative", op, new[] { "x" }, new[] { "y_last" }, Axes(-1))
            .Node("apart", op, new[] { "x" }, new[] { "y_apart" }, Axes(0, 2), KeepDims(0))
            .Results("y_spatial", "y_channels", "y_all", "y_last", "y_apart")
            .ToBytes();
        Matches(model, Floats(120, 1, 3f));
    }

    [Theory]
    [InlineData("ReduceSum", 13)]
    [InlineData("ReduceMax", 18)]
    public void Axes_input_matches_OnnxRuntime(string op, long opset)
    {
        var model = new OnnxModelBuilder(opset: opset)
            .Input("x", 2, 3, 4)
            .Longs("axes", 2, 0)
            .Initializer("no_axes", new long[] { 0 }, new long[0])
            .Node("input_axes", op, new[] { "x", "axes" }, new[] { "y_axes" }, KeepDims(0))
            .Node("default_all", op, new[] { "x" }, new[] { "y_all" })
            .Node("noop", op, new[] { "x" }, new[] { "y_noop" }, OnnxAttribute.Int("noop_with_empty_axes", 1))
            .Node("empty_axes", op, new[] { "x", "no_axes" }, new[] { "y_empty" }, KeepDims(0))
            .Results("y_axes", "y_all", "y_noop", "y_empty")
            .ToBytes();
        Matches(model, Floats(24, 2, 2f));
    }

    [Theory]
    [InlineData("ReduceSum", 13)]
    [InlineData("ReduceMax", 18)]
    [InlineData("ReduceMean", 18)]
    public void Contiguous_rows_take_the_vector_path_at_every_tail_length(string op, long opset)
    {
        // Rows of 16..24 (the vector loop starts at 16): every remainder 0..7 after the 8-lane blocks,
        // and a reduction over two trailing axes (4 x 7 = 28, merged into one contiguous run).
        var builder = new OnnxModelBuilder(opset: opset).Longs("last", -1).Longs("two", -2, -1);
        var inputs = new System.Collections.Generic.List<System.Array>();
        for (int n = 16; n <= 24; n++)
        {
            builder.Input($"x{n}", 3, n).Node($"row{n}", op, new[] { $"x{n}", "last" }, new[] { $"y{n}" }).Result($"y{n}");
            inputs.Add(Floats(3 * n, n, 5f));
        }
        builder.Input("z", 2, 4, 7).Node("two_axes", op, new[] { "z", "two" }, new[] { "y_two" }).Result("y_two");
        inputs.Add(Floats(56, 99, 5f));
        Matches(builder.ToBytes(), inputs.ToArray());
    }

    [Fact]
    public void ReduceMax_propagates_NaN_on_both_paths()
    {
        // ONNX's reference (numpy's max) propagates NaN; this ONNX Runtime skips it, so the expectation is written out.
        var model = new OnnxModelBuilder(opset: 18)
            .Input("x", 3, 20).Longs("last", -1)
            .Node("max", "ReduceMax", new[] { "x", "last" }, new[] { "y" }).Result("y")
            .ToBytes();
        var x = Floats(60, 7, 3f);
        x[11] = float.NaN;      // row 0, inside the 8-lane blocks
        x[20 + 19] = float.NaN; // row 1, in the scalar tail
        float row2 = x.Skip(40).Max();
        var graph = ModelCompiler.Prepare(model, "model.onnx");
        using var loaded = LoadedModel.Load(GeneratorHarness.RunModel(model), graph);
        var generated = (float[])loaded.Run(x)[0];
        var reference = (float[])Reference(QuantGen.Compiler.Onnx.Proto.ModelProto.Parser.ParseFrom(model), new System.Array[] { x })[0];
        foreach (var y in new[] { generated, reference })
        {
            Assert.True(float.IsNaN(y[0]));
            Assert.True(float.IsNaN(y[1]));
            Assert.Equal(row2, y[2]);
        }
    }

    [Fact]
    public void Invalid_axes_are_diagnostics()
    {
        var range = new OnnxModelBuilder(opset: 11).Input("x", 2, 3)
            .Node("bad_axis", "ReduceSum", new[] { "x" }, new[] { "y" }, Axes(2)).Result("y").ToBytes();
        Assert.Contains("out of range", Fails(range, "QG0006", "bad_axis"));

        var attribute = new OnnxModelBuilder(opset: 13).Input("x", 2, 3)
            .Node("old_style", "ReduceSum", new[] { "x" }, new[] { "y" }, Axes(1)).Result("y").ToBytes();
        Assert.Contains("input", Fails(attribute, "QG0006", "old_style"));

        var repeated = new OnnxModelBuilder(opset: 18).Input("x", 2, 3).Longs("axes", 1, -1)
            .Node("twice", "ReduceMax", new[] { "x", "axes" }, new[] { "y" }).Result("y").ToBytes();
        Assert.Contains("twice", Fails(repeated, "QG0006", "twice"));

        var runtime = new OnnxModelBuilder(opset: 13).Input("x", 2, 3).LongInput("axes", 1)
            .Node("runtime_axes", "ReduceSum", new[] { "x", "axes" }, new[] { "y" }).Result("y").ToBytes();
        Fails(runtime, "QG0005", "runtime_axes");

        var integer = new OnnxModelBuilder(opset: 18).LongInput("x", 2, 3)
            .Node("int_input", "ReduceMax", new[] { "x" }, new[] { "y" }).Result("y", OnnxModelBuilder.ElementType.Int64).ToBytes();
        Fails(integer, "QG0005", "int_input");
    }
}
