using System;
using System.Linq;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Ops.OpCheck;

namespace QuantGen.Compiler.Tests.Ops;

public class GatherTests
{
    private static OnnxAttribute Axis(long axis) => OnnxAttribute.Int("axis", axis);

    [Fact]
    public void Runtime_indices_match_OnnxRuntime_and_out_of_range_ones_throw()
    {
        var model = new OnnxModelBuilder(opset: 13)
            .Input("data", 5, 4).Input("cube", 2, 3, 4)
            .LongInput("rows", 2, 3).IntInput("cols", 2).LongInput("one").LongInput("ids", 4)
            .Node("rows_axis0", "Gather", new[] { "data", "rows" }, new[] { "y_rows" })
            .Node("cols_axis1", "Gather", new[] { "data", "cols" }, new[] { "y_cols" }, Axis(1))
            .Node("scalar_index", "Gather", new[] { "cube", "one" }, new[] { "y_scalar" }, Axis(-2))
            .Node("int64_data", "Gather", new[] { "ids", "cols" }, new[] { "y_ids" })
            .Results("y_rows", "y_cols", "y_scalar")
            .Result("y_ids", OnnxModelBuilder.ElementType.Int64)
            .ToBytes();
        var ids = new long[] { 10, long.MinValue, -3, long.MaxValue };
        using var generated = MatchesOnnxRuntime(model,
            Floats(20, 1), Floats(24, 2), new long[] { 0, 4, -1, 2, -5, 3 }, new[] { -1, 2 }, new long[] { -3 }, ids);

        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            generated.Run(Floats(20, 1), Floats(24, 2), new long[] { 0, 5, 0, 0, 0, 0 }, new[] { 0, 0 }, new long[] { 0 }, ids));
        Assert.Contains("Gather 'rows_axis0': index 5 at element 1 of 'rows' is outside [-5, 4]", error.Message);
        Assert.Equal("rows", error.ParamName); // the Predict parameter the indices came from
        Assert.Equal(5L, error.ActualValue);

        // Indices computed inside the model are named by their tensor.
        error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            generated.Run(Floats(20, 1), Floats(24, 2), new long[] { 0, 0, 0, 0, 0, 0 }, new[] { 0, 0 }, new long[] { -4 }, ids));
        Assert.Contains("index -4 at element 0 of 'one' is outside [-3, 2]", error.Message);
    }

    [Fact]
    public void Indices_computed_inside_the_model_name_their_tensor_when_out_of_range()
    {
        var model = new OnnxModelBuilder(opset: 13)
            .Input("data", 4, 2).LongInput("ids", 3)
            .Initializer("shift", new long[] { 1 }, new long[] { 2 })
            .Node("shifted", "Add", new[] { "ids", "shift" }, new[] { "ids_plus_2" })
            .Node("lookup", "Gather", new[] { "data", "ids_plus_2" }, new[] { "y" })
            .Result("y")
            .ToBytes();
        using var generated = MatchesOnnxRuntime(model, Floats(8, 1), new long[] { -2, 0, 1 });

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => generated.Run(Floats(8, 1), new long[] { 0, 2, 1 }));
        Assert.Equal("ids_plus_2", error.ParamName);
        Assert.Contains("Gather 'lookup': index 4 at element 1 of 'ids_plus_2' is outside [-4, 3]", error.Message);
    }

    [Fact]
    public void Constant_indices_and_constant_data_match_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 13)
            .Input("x", 2, 3, 12).LongInput("tokens", 1, 7)
            .Initializer("table", new long[] { 10, 6 }, Floats(60, 3))
            .Longs("few", 2, -1, 0)
            .Longs("many", 11, 0, 3, 3, -2, 5, 6, 7, 8, 9, 1, -12)
            .Initializer("last", new long[0], new long[] { -1 })
            .Node("embedding", "Gather", new[] { "table", "tokens" }, new[] { "y_embedding" })
            .Node("few_literal", "Gather", new[] { "x", "few" }, new[] { "y_few" }, Axis(1))
            .Node("many_table", "Gather", new[] { "x", "many" }, new[] { "y_many" }, Axis(2))
            .Node("last_token", "Gather", new[] { "x", "last" }, new[] { "y_last" }, Axis(1))
            .Results("y_embedding", "y_few", "y_many", "y_last")
            .ToBytes();
        Matches(model, Floats(72, 4), new long[] { 0, 9, 3, 3, 1, -1, -10 });

        var kernels = Kernels(model);
        Assert.Contains("Weights.many_table_Indices[j]", kernels);
    }

    [Fact]
    public void Opset_7_gather_matches_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 7)
            .Input("x", 4, 3).LongInput("i", 3)
            .Node("old", "Gather", new[] { "x", "i" }, new[] { "y" }, Axis(0))
            .Result("y")
            .ToBytes();
        Matches(model, Floats(12, 5), new long[] { 3, 0, 3 });
    }

    [Fact]
    public void Invalid_indices_and_axes_are_diagnostics()
    {
        var outOfRange = new OnnxModelBuilder(opset: 13).Input("x", 4, 3).Longs("i", 0, 4)
            .Node("bad_index", "Gather", new[] { "x", "i" }, new[] { "y" }).Result("y").ToBytes();
        Assert.Contains("index 4 is out of range", Fails(outOfRange, "QG0006", "bad_index"));

        var axis = new OnnxModelBuilder(opset: 13).Input("x", 4, 3).LongInput("i", 2)
            .Node("bad_axis", "Gather", new[] { "x", "i" }, new[] { "y" }, Axis(2)).Result("y").ToBytes();
        Fails(axis, "QG0006", "bad_axis");

        var floatIndices = new OnnxModelBuilder(opset: 13).Input("x", 4, 3).Input("i", 2)
            .Node("float_indices", "Gather", new[] { "x", "i" }, new[] { "y" }).Result("y").ToBytes();
        Fails(floatIndices, "QG0005", "float_indices");
    }
}
