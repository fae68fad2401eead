using System.Linq;
using QuantGen.Compiler.Ops;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Ops.OpCheck;

namespace QuantGen.Compiler.Tests.Ops;

public class UnaryMathTests
{
    /// <summary>IEEE edge values, tiny and large magnitudes (0 is at index 3, -0 at index 4).</summary>
    private static readonly float[] Edges =
    {
        float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 1e-30f, -1e-30f, 1e-6f, -1e-6f,
        0.49999f, 0.5f, -0.5f, 1f, -1f, 3.9f, -3.9f, 10f, -10f, 88f, -88f, 100f, -100f, float.MaxValue, float.Epsilon,
    };

    /// <summary>A smooth sweep over [-6, 6), checked on its own so the edges' huge values do not set its tolerance.</summary>
    private static readonly float[] Sweep = Enumerable.Range(0, 120).Select(i => -6f + i * 0.1f).ToArray();

    [Theory]
    [InlineData("Neg")]
    [InlineData("Exp")]
    [InlineData("Log")]
    [InlineData("Sqrt")]
    [InlineData("Erf")]
    public void Float_edge_values_match_OnnxRuntime(string op)
    {
        var model = new OnnxModelBuilder(opset: 13)
            .Input("edges", Edges.Length).Input("sweep", Sweep.Length).Input("m", 2, 3, 4)
            .Node("edges_op", op, new[] { "edges" }, new[] { "y_edges" })
            .Node("sweep_op", op, new[] { "sweep" }, new[] { "y_sweep" })
            .Node("cube_op", op, new[] { "m" }, new[] { "y_cube" })
            .Results("y_edges", "y_sweep", "y_cube")
            .ToBytes();
        using var generated = MatchesOnnxRuntime(model, Edges, Sweep, Floats(24, 1, 2f));

        // Signed zeros: -(+0) = -0, -(-0) = +0; sqrt, erf and log keep or map them as IEEE says.
        var y = (float[])generated.Run(Edges, Sweep, Floats(24, 1, 2f))[0];
        bool Negative(float v) => float.IsNegative(v);
        switch (op)
        {
            case "Neg": Assert.True(Negative(y[3]) && y[3] == 0 && !Negative(y[4]) && y[4] == 0); break;
            case "Sqrt": case "Erf": Assert.True(!Negative(y[3]) && y[3] == 0 && Negative(y[4]) && y[4] == 0); break;
            case "Log": Assert.True(float.IsNegativeInfinity(y[3]) && float.IsNegativeInfinity(y[4])); break;
            case "Exp": Assert.True(y[3] == 1f && y[4] == 1f); break;
        }
    }

    [Fact]
    public void Erf_is_accurate_to_float_precision()
    {
        // ONNX Runtime's erf (Eigen's rational fit) is itself an approximation: compare against erf's series in double,
        // summed far past convergence, where it is exact to double precision (|x| <= 3).
        var x = Enumerable.Range(0, 601).Select(i => -3f + i * 0.01f).ToArray();
        var model = new OnnxModelBuilder(opset: 13).Input("x", x.Length).Node("erf", "Erf", new[] { "x" }, new[] { "y" }).Result("y").ToBytes();
        using var generated = MatchesOnnxRuntime(model, x);
        var y = (float[])generated.Run(x)[0];
        for (int i = 0; i < x.Length; i++)
        {
            double exact = SeriesErf(x[i]);
            Assert.True(System.Math.Abs(y[i] - exact) <= 2.5e-7 * System.Math.Max(1e-3, System.Math.Abs(exact)) + 1e-9,
                $"erf({x[i]}) = {y[i]}, exact {exact}");
        }
    }

    [Fact]
    public void Generated_erf_and_gelu_equal_the_build_time_reference_bit_for_bit()
    {
        // Constant folding uses the reference, generated code its own copy of the formula: they must not drift apart.
        var x = Enumerable.Range(0, 4001).Select(i => (float)((i - 2000) * 0.004)).Concat(Edges).ToArray();
        var model = new OnnxModelBuilder(opset: 20)
            .Input("x", x.Length)
            .Node("erf", "Erf", new[] { "x" }, new[] { "y_erf" })
            .Node("gelu", "Gelu", new[] { "x" }, new[] { "y_gelu" })
            .Node("gelu_tanh", "Gelu", new[] { "x" }, new[] { "y_tanh" }, OnnxAttribute.String("approximate", "tanh"))
            .Results("y_erf", "y_gelu", "y_tanh")
            .ToBytes();
        using var generated = MatchesOnnxRuntime(model, x);
        var actual = generated.Run(x);
        var reference = Reference(QuantGen.Compiler.Onnx.Proto.ModelProto.Parser.ParseFrom(model), new System.Array[] { x });
        for (int o = 0; o < 3; o++)
        {
            var a = (float[])actual[o];
            var r = (float[])reference[o];
            for (int i = 0; i < x.Length; i++)
                Assert.True(System.BitConverter.SingleToInt32Bits(a[i]) == System.BitConverter.SingleToInt32Bits(r[i]) || (float.IsNaN(a[i]) && float.IsNaN(r[i])),
                    $"output {o}, x = {x[i]}: generated {a[i]}, reference {r[i]}");
        }
    }

    [Fact]
    public void Float_gelu_lanes_are_within_float_accuracy_of_gelu_in_double()
    {
        // The kernels compute Gelu in float (ScalarMath.GeluLane, .GeluTanhLane, with a float exp). Against the double
        // formulas (erf by its series where that is exact, by 1 - erfc beyond): 6e-7 relative for x > -2; in the negative
        // tail (Gelu(-2) = -0.045, falling to 0) e^(-x²/2) carries float's rounding of x²/2, so 2e-7 x² relative (2e-6 at
        // x = -3, where Gelu is -0.004); plus 1e-30 absolute where the true value is below float's range and the float one is 0.
        for (int i = -12000; i <= 12000; i++)
        {
            float x = i * 0.001f;
            double u = x / System.Math.Sqrt(2);
            double exact = System.Math.Abs(u) <= 3 ? 0.5 * x * (1 + SeriesErf(u)) : u > 0 ? x - 0.5 * x * ScalarMath.ErfcOfPositive(u) : 0.5 * x * ScalarMath.ErfcOfPositive(-u);
            // 0.5 x (1 + tanh(a)) = x / (1 + e^(-2a)), the second without the first's cancellation for x << 0.
            double tanh = x / (1 + System.Math.Exp(-2 * 0.7978845608028654 * (x + 0.044715 * x * x * x)));
            AssertClose(exact, ScalarMath.GeluLane(x), x, "erf form");
            AssertClose(tanh, ScalarMath.GeluTanhLane(x), x, "tanh form");
        }

        static void AssertClose(double exact, float actual, float x, string form)
        {
            double tolerance = x > -2 ? 6e-7 : 2e-7 * x * x;
            Assert.True(System.Math.Abs(actual - exact) <= tolerance * System.Math.Abs(exact) + 1e-30,
                $"{form}: Gelu({x:R}) = {actual:R}, in double {exact:R} (relative {System.Math.Abs(actual - exact) / System.Math.Abs(exact):E2})");
        }
    }

    [Fact]
    public void Float_exp_lanes_are_within_two_ulps_and_saturate_at_the_ends()
    {
        for (int i = -87000; i <= 88000; i += 7)
        {
            float a = i * 0.001f;
            float actual = ScalarMath.ExpLane(a);
            double exact = System.Math.Exp(a);
            double ulp = (double)System.MathF.BitIncrement((float)exact) - (float)exact;
            Assert.True(System.Math.Abs(actual - exact) <= 2 * ulp, $"exp({a:R}) = {actual:R}, in double {exact:R}");
        }
        Assert.Equal(0f, ScalarMath.ExpLane(-87.31f));
        Assert.Equal(0f, ScalarMath.ExpLane(float.NegativeInfinity));
        Assert.Equal(float.PositiveInfinity, ScalarMath.ExpLane(88.31f));
        Assert.True(float.IsNaN(ScalarMath.ExpLane(float.NaN)));
    }

    private static double SeriesErf(double x)
    {
        double sum = 0, term = x;
        for (int n = 0; n < 200; n++)
        {
            sum += term / (2 * n + 1);
            term *= -x * x / (n + 1);
        }
        return sum * 2 / System.Math.Sqrt(System.Math.PI);
    }

    [Fact]
    public void Neg_on_integers_wraps_like_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 13)
            .LongInput("l", 5).IntInput("i", 5)
            .Node("neg_long", "Neg", new[] { "l" }, new[] { "yl" })
            .Node("neg_int", "Neg", new[] { "i" }, new[] { "yi" })
            .Result("yl", OnnxModelBuilder.ElementType.Int64).Result("yi", OnnxModelBuilder.ElementType.Int32)
            .ToBytes();
        Matches(model, new long[] { 0, 1, -7, long.MaxValue, long.MinValue + 1 }, new[] { 0, -1, 42, int.MaxValue, int.MinValue + 1 });
    }

    [Theory]
    [InlineData("none")]
    [InlineData("tanh")]
    public void Gelu_matches_OnnxRuntime(string approximate)
    {
        var model = new OnnxModelBuilder(opset: 20)
            .Input("edges", Edges.Length).Input("sweep", Sweep.Length).Input("m", 4, 8)
            .Node("gelu_edges", "Gelu", new[] { "edges" }, new[] { "y_edges" }, OnnxAttribute.String("approximate", approximate))
            .Node("gelu_sweep", "Gelu", new[] { "sweep" }, new[] { "y_sweep" }, OnnxAttribute.String("approximate", approximate))
            .Node("gelu_2d", "Gelu", new[] { "m" }, new[] { "y_2d" }, OnnxAttribute.String("approximate", approximate))
            .Results("y_edges", "y_sweep", "y_2d")
            .ToBytes();
        Matches(model, Edges, Sweep, Floats(32, 2, 4f));
    }

    [Fact]
    public void Gelu_as_exporters_decompose_it_matches_OnnxRuntime()
    {
        // PyTorch before opset 20: x * 0.5 * (1 + erf(x / sqrt(2))).
        var model = new OnnxModelBuilder(opset: 17)
            .Input("x", 2, 16)
            .Initializer("sqrt2", new long[0], new[] { 1.4142135f })
            .Initializer("one", new long[0], new[] { 1f })
            .Initializer("half", new long[0], new[] { 0.5f })
            .Node("div", "Div", new[] { "x", "sqrt2" }, new[] { "d" })
            .Node("erf", "Erf", new[] { "d" }, new[] { "e" })
            .Node("add", "Add", new[] { "e", "one" }, new[] { "a" })
            .Node("mul", "Mul", new[] { "x", "a" }, new[] { "m" })
            .Node("mul_half", "Mul", new[] { "m", "half" }, new[] { "y" })
            .Result("y")
            .ToBytes();
        Matches(model, Floats(32, 3, 5f));
    }

    [Fact]
    public void Bad_attributes_and_types_are_diagnostics()
    {
        var approximate = new OnnxModelBuilder(opset: 20).Input("x", 4)
            .Node("bad_gelu", "Gelu", new[] { "x" }, new[] { "y" }, OnnxAttribute.String("approximate", "fast")).Result("y").ToBytes();
        Assert.Contains("'fast'", Fails(approximate, "QG0006", "bad_gelu"));

        var integerExp = new OnnxModelBuilder(opset: 13).LongInput("x", 4)
            .Node("int_exp", "Exp", new[] { "x" }, new[] { "y" }).Result("y", OnnxModelBuilder.ElementType.Int64).ToBytes();
        Fails(integerExp, "QG0005", "int_exp");
    }
}
