using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Ops.OpCheck;

namespace QuantGen.Compiler.Tests.Ops;

public class PowTests
{
    [Fact]
    public void Broadcast_float_powers_and_C_edge_cases_match_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 15)
            .Input("base", 12).Input("exponent", 12).Input("m", 2, 3, 4).Input("row", 4)
            .Node("edges", "Pow", new[] { "base", "exponent" }, new[] { "y_edges" })
            .Node("broadcast", "Pow", new[] { "m", "row" }, new[] { "y_broadcast" })
            .Results("y_edges", "y_broadcast")
            .ToBytes();
        // pow(-8, 1/3) = NaN, pow(0, -1) = inf, pow(-0, -1) = -inf, pow(NaN, 0) = 1, pow(1, NaN) = 1, pow(-1, inf) = 1.
        var bases = new[] { -8f, 0f, -0f, float.NaN, 1f, -1f, 2f, 2f, float.PositiveInfinity, 0.5f, -2f, 10f };
        var exponents = new[] { 1f / 3, -1f, -1f, 0f, float.NaN, float.PositiveInfinity, -126f, 0.5f, -0.5f, 3f, 3f, 38f };
        var m = Floats(24, 1, 2f);
        for (int i = 0; i < m.Length; i++) m[i] = System.Math.Abs(m[i]) + 0.1f;
        Matches(model, bases, exponents, m, new[] { 0f, 1.5f, -2f, 3f });
    }

    [Fact]
    public void Constant_exponents_match_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 13)
            .Input("x", 2, 8)
            .Initializer("two", new long[0], new[] { 2f })
            .Initializer("one", new long[0], new[] { 1f })
            .Initializer("three", new long[0], new[] { 3f })
            .Node("square", "Pow", new[] { "x", "two" }, new[] { "y_square" })
            .Node("same", "Pow", new[] { "x", "one" }, new[] { "y_same" })
            .Node("cube", "Pow", new[] { "x", "three" }, new[] { "y_cube" })
            .Results("y_square", "y_same", "y_cube")
            .ToBytes();
        var x = Floats(16, 2, 3f);
        x[0] = float.NaN;
        x[1] = -0f;
        x[2] = float.NegativeInfinity;
        Matches(model, x);
        var kernels = Kernels(model);
        Assert.Contains("a0 * a0", kernels);
        Assert.Contains("MathF.Pow(a0, 3f)", kernels);
    }

    [Fact]
    public void Mixed_types_match_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 15)
            .Input("f", 6).LongInput("l", 6).IntInput("i", 6).Input("e", 6)
            .Node("float_int64", "Pow", new[] { "f", "l" }, new[] { "y_float_int64" })
            .Node("int64_int64", "Pow", new[] { "l", "l" }, new[] { "y_int64_int64" })
            .Node("int32_float", "Pow", new[] { "i", "e" }, new[] { "y_int32_float" })
            .Result("y_float_int64").Result("y_int64_int64", OnnxModelBuilder.ElementType.Int64).Result("y_int32_float", OnnxModelBuilder.ElementType.Int32)
            .ToBytes();
        Matches(model, new[] { 1.5f, -2f, 0.5f, 3f, -1f, 0f }, new long[] { 2, 3, 0, 4, 5, 1 }, new[] { 1, 2, 3, 4, -5, 9 }, new[] { 3f, 0.5f, 2f, 1.5f, 3f, 0f });
    }

    [Fact]
    public void Unsupported_types_are_diagnostics()
    {
        var boolBase = new OnnxModelBuilder(opset: 15).BoolInput("b", 3).Input("e", 3)
            .Node("bool_pow", "Pow", new[] { "b", "e" }, new[] { "y" }).Result("y", OnnxModelBuilder.ElementType.Bool).ToBytes();
        Fails(boolBase, "QG0005", "bool_pow");

        var shapes = new OnnxModelBuilder(opset: 15).Input("a", 3).Input("b", 4)
            .Node("mismatch", "Pow", new[] { "a", "b" }, new[] { "y" }).Result("y").ToBytes();
        Fails(shapes, "QG0007", "mismatch");
    }
}
