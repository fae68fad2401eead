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

    [Theory]
    [InlineData("ReduceSum", 13)]
    [InlineData("ReduceMax", 18)]
    [InlineData("ReduceMean", 18)]
    public void Kept_inner_rows_take_the_row_path_at_every_width(string op, long opset)
    {
        // [B, S, H] pooled over S (the rows of H stay contiguous): H from 1 to 19 covers the scalar path and every
        // tail after the 8-lane blocks; then reduced and kept dimensions interleaved, and a reduced axis of extent 1.
        var builder = new OnnxModelBuilder(opset: opset).Longs("seq", 1).Longs("interleaved", 0, 2).Longs("unit", 1);
        var inputs = new System.Collections.Generic.List<System.Array>();
        for (int h = 1; h <= 19; h += 2)
        {
            builder.Input($"x{h}", 2, 5, h).Node($"pool{h}", op, new[] { $"x{h}", "seq" }, new[] { $"y{h}" }, KeepDims(0)).Result($"y{h}");
            inputs.Add(Floats(10 * h, h, 5f));
        }
        builder.Input("t", 3, 4, 2, 9).Node("interleaved", op, new[] { "t", "interleaved" }, new[] { "y_t" }).Result("y_t");
        inputs.Add(Floats(216, 77, 5f));
        builder.Input("u", 3, 1, 4).Node("unit_axis", op, new[] { "u", "unit" }, new[] { "y_u" }).Result("y_u");
        inputs.Add(Floats(12, 78, 5f));
        Matches(builder.ToBytes(), inputs.ToArray());
    }

    [Fact]
    public void ReduceMax_row_path_propagates_NaN()
    {
        var model = new OnnxModelBuilder(opset: 18)
            .Input("x", 3, 12).Longs("first", 0)
            .Node("max", "ReduceMax", new[] { "x", "first" }, new[] { "y" }).Result("y")
            .ToBytes();
        var x = Floats(36, 9, 3f);
        x[12 + 2] = float.NaN;  // column 2, in the 8-lane block
        x[24 + 10] = float.NaN; // column 10, in the tail
        var graph = ModelCompiler.Prepare(model, "model.onnx");
        using var loaded = LoadedModel.Load(GeneratorHarness.RunModel(model), graph);
        var y = (float[])loaded.Run(x)[0];
        for (int c = 0; c < 12; c++)
        {
            if (c is 2 or 10) Assert.True(float.IsNaN(y[c]), $"column {c}");
            else Assert.Equal(System.Math.Max(x[c], System.Math.Max(x[12 + c], x[24 + c])), y[c]);
        }
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
