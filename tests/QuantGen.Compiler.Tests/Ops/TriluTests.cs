using System.Linq;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Ops.OpCheck;

namespace QuantGen.Compiler.Tests.Ops;

public class TriluTests
{
    [Theory]
    [InlineData(1, 0)]
    [InlineData(1, 2)]
    [InlineData(1, -1)]
    [InlineData(0, 0)]
    [InlineData(0, -2)]
    [InlineData(0, 1)]
    [InlineData(1, 100)]
    [InlineData(0, -100)]
    [InlineData(1, long.MinValue)]
    public void Triangles_of_batched_matrices_match_OnnxRuntime(int upper, long k)
    {
        var model = new OnnxModelBuilder(opset: 14)
            .Input("x", 2, 3, 4, 5).Input("wide", 3, 7).LongInput("ids", 4, 4)
            .Initializer("k", new long[0], new[] { k })
            .Node("batched", "Trilu", new[] { "x", "k" }, new[] { "y_batched" }, OnnxAttribute.Int("upper", upper))
            .Node("wide", "Trilu", new[] { "wide", "k" }, new[] { "y_wide" }, OnnxAttribute.Int("upper", upper))
            .Node("int64", "Trilu", new[] { "ids", "k" }, new[] { "y_int64" }, OnnxAttribute.Int("upper", upper))
            .Results("y_batched", "y_wide").Result("y_int64", OnnxModelBuilder.ElementType.Int64)
            .ToBytes();
        var wide = Floats(21, 2);
        wide[0] = float.NaN; // NaN outside the triangle still becomes 0
        wide[20] = float.NaN;
        Matches(model, Floats(120, 1), wide, Enumerable.Range(1, 16).Select(v => (long)v).ToArray());
    }

    [Fact]
    public void Default_k_and_default_upper_match_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 14)
            .Input("x", 6, 4)
            .Node("triu", "Trilu", new[] { "x" }, new[] { "y" })
            .Result("y")
            .ToBytes();
        Matches(model, Floats(24, 3));
    }

    [Fact]
    public void Bad_inputs_are_diagnostics()
    {
        var vector = new OnnxModelBuilder(opset: 14).Input("x", 4)
            .Node("rank_one", "Trilu", new[] { "x" }, new[] { "y" }).Result("y").ToBytes();
        Fails(vector, "QG0007", "rank_one");

        var upper = new OnnxModelBuilder(opset: 14).Input("x", 2, 2)
            .Node("upper_two", "Trilu", new[] { "x" }, new[] { "y" }, OnnxAttribute.Int("upper", 2)).Result("y").ToBytes();
        Fails(upper, "QG0006", "upper_two");

        var runtimeK = new OnnxModelBuilder(opset: 14).Input("x", 2, 2).LongInput("k")
            .Node("runtime_k", "Trilu", new[] { "x", "k" }, new[] { "y" }).Result("y").ToBytes();
        Fails(runtimeK, "QG0005", "runtime_k");
    }
}
