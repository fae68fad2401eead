using System;
using System.Linq;
using QuantGen.Compiler.Execution;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Onnx;
using QuantGen.Compiler.Ops;
using QuantGen.Compiler.Passes;
using QuantGen.Compiler.Tests.Ops;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Compiler.Tests.Passes;

/// <summary>
/// FuseGelu on the GELU forms exporters write, built node by node as torch.onnx (F.gelu, opset 9 to 19) and
/// Hugging Face's Python GELU classes export them. Each pattern is checked three ways: ONNX Runtime on the original
/// graph gives GELU (so the test graph is the real thing), the pass leaves exactly Gelu(x), and, once an operator runs
/// Gelu, the fused graph's reference output matches ONNX Runtime on the original.
/// </summary>
public class FuseGeluTests
{
    private const int N = 64;

    private static OnnxModelBuilder Start(string name, float value, params (string Name, float Value)[] more)
    {
        var b = new OnnxModelBuilder(opset: 13).Input("x", 4, 16).Initializer(name, new long[0], new[] { value });
        foreach (var (n, v) in more) b.Initializer(n, new long[0], new[] { v });
        return b;
    }

    /// <summary>torch.onnx's F.gelu: ((x · (erf(x / √2) + 1)) · 0.5.</summary>
    private static OnnxModelBuilder TorchErf(float sqrt2 = 1.4142135f, float half = 0.5f) =>
        Start("sqrt2", sqrt2, ("one", 1f), ("half", half))
            .Node("/act/Div", "Div", new[] { "x", "sqrt2" }, new[] { "/act/Div_output_0" })
            .Node("/act/Erf", "Erf", new[] { "/act/Div_output_0" }, new[] { "/act/Erf_output_0" })
            .Node("/act/Add", "Add", new[] { "/act/Erf_output_0", "one" }, new[] { "/act/Add_output_0" })
            .Node("/act/Mul", "Mul", new[] { "x", "/act/Add_output_0" }, new[] { "/act/Mul_output_0" })
            .Node("/act/Mul_1", "Mul", new[] { "/act/Mul_output_0", "half" }, new[] { "y" })
            .Output("y", 4, 16);

    /// <summary>Hugging Face's GELUActivation in Python: x · 0.5 · (1 + erf(x · (1/√2))).</summary>
    private static OnnxModelBuilder HuggingFaceErf() =>
        Start("rsqrt2", 0.70710677f, ("one", 1f), ("half", 0.5f))
            .Node("/act/Mul", "Mul", new[] { "x", "half" }, new[] { "/act/Mul_output_0" })
            .Node("/act/Mul_1", "Mul", new[] { "rsqrt2", "x" }, new[] { "/act/Mul_1_output_0" })
            .Node("/act/Erf", "Erf", new[] { "/act/Mul_1_output_0" }, new[] { "/act/Erf_output_0" })
            .Node("/act/Add", "Add", new[] { "one", "/act/Erf_output_0" }, new[] { "/act/Add_output_0" })
            .Node("/act/Mul_2", "Mul", new[] { "/act/Mul_output_0", "/act/Add_output_0" }, new[] { "y" })
            .Output("y", 4, 16);

    /// <summary>torch.onnx's F.gelu(approximate="tanh"): 0.5 · (x · (1 + tanh(β · (x + κ · (x · (x · x)))))).</summary>
    private static OnnxModelBuilder TorchTanh() =>
        Start("beta", 0.7978846f, ("kappa", 0.044715f), ("one", 1f), ("half", 0.5f))
            .Node("/act/Mul", "Mul", new[] { "x", "x" }, new[] { "/act/Mul_output_0" })
            .Node("/act/Mul_1", "Mul", new[] { "x", "/act/Mul_output_0" }, new[] { "/act/Mul_1_output_0" })
            .Node("/act/Mul_2", "Mul", new[] { "kappa", "/act/Mul_1_output_0" }, new[] { "/act/Mul_2_output_0" })
            .Node("/act/Add", "Add", new[] { "x", "/act/Mul_2_output_0" }, new[] { "/act/Add_output_0" })
            .Node("/act/Mul_3", "Mul", new[] { "beta", "/act/Add_output_0" }, new[] { "/act/Mul_3_output_0" })
            .Node("/act/Tanh", "Tanh", new[] { "/act/Mul_3_output_0" }, new[] { "/act/Tanh_output_0" })
            .Node("/act/Add_1", "Add", new[] { "one", "/act/Tanh_output_0" }, new[] { "/act/Add_1_output_0" })
            .Node("/act/Mul_4", "Mul", new[] { "x", "/act/Add_1_output_0" }, new[] { "/act/Mul_4_output_0" })
            .Node("/act/Mul_5", "Mul", new[] { "half", "/act/Mul_4_output_0" }, new[] { "y" })
            .Output("y", 4, 16);

    /// <summary>Hugging Face's NewGELUActivation: 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x^3))).</summary>
    private static OnnxModelBuilder HuggingFaceTanh() =>
        Start("three", 3f, ("kappa", 0.044715f), ("beta", 0.7978846f), ("one", 1f), ("half", 0.5f))
            .Node("/act/Mul", "Mul", new[] { "x", "half" }, new[] { "/act/Mul_output_0" })
            .Node("/act/Pow", "Pow", new[] { "x", "three" }, new[] { "/act/Pow_output_0" })
            .Node("/act/Mul_1", "Mul", new[] { "/act/Pow_output_0", "kappa" }, new[] { "/act/Mul_1_output_0" })
            .Node("/act/Add", "Add", new[] { "x", "/act/Mul_1_output_0" }, new[] { "/act/Add_output_0" })
            .Node("/act/Mul_2", "Mul", new[] { "/act/Add_output_0", "beta" }, new[] { "/act/Mul_2_output_0" })
            .Node("/act/Tanh", "Tanh", new[] { "/act/Mul_2_output_0" }, new[] { "/act/Tanh_output_0" })
            .Node("/act/Add_1", "Add", new[] { "/act/Tanh_output_0", "one" }, new[] { "/act/Add_1_output_0" })
            .Node("/act/Mul_3", "Mul", new[] { "/act/Mul_output_0", "/act/Add_1_output_0" }, new[] { "y" })
            .Output("y", 4, 16);

    public static TheoryData<string> Forms => new() { "TorchErf", "HuggingFaceErf", "TorchTanh", "HuggingFaceTanh" };

    private static OnnxModelBuilder Form(string name) => name switch
    {
        "TorchErf" => TorchErf(),
        "HuggingFaceErf" => HuggingFaceErf(),
        "TorchTanh" => TorchTanh(),
        _ => HuggingFaceTanh(),
    };

    [Theory]
    [MemberData(nameof(Forms))]
    public void Each_exported_form_becomes_one_Gelu(string form)
    {
        var b = Form(form);
        bool tanh = form.EndsWith("Tanh", StringComparison.Ordinal);
        var x = OnnxModelBuilder.RandomFloats(N, 3, 2.9f);

        // The graph as built is GELU: ONNX Runtime on it agrees with the formula.
        float[] original;
        using (var ort = new OnnxRuntimeReference(b.ToBytes()))
            original = ort.Run(new[] { x }, new[] { new[] { 4, 16 } })[0];
        PassTestModels.Close(x.Select(v => tanh ? GeluTanh(v) : GeluErf(v)).ToArray(), original, 1e-5f);

        // Imported without shape inference: Erf and Pow are another branch's operators.
        var graph = OnnxModelReader.Read(b.ToBytes(), "test.onnx");
        int nodes = graph.Nodes.Count;
        Assert.Equal(1, FuseGelu.FuseAll(graph));
        var gelu = Assert.Single(graph.Nodes);
        Assert.Equal("Gelu", gelu.OpType);
        Assert.Equal("/act/Gelu", gelu.Name);
        Assert.Equal(new[] { "x" }, gelu.Inputs);
        Assert.Equal(new[] { "y" }, gelu.Outputs);
        Assert.Equal(nodes, gelu.Absorbed.Count);
        if (tanh) Assert.Equal("tanh", gelu.Attributes["approximate"].String);
        else Assert.False(gelu.Attributes.ContainsKey("approximate"));
        Assert.Equal(new[] { "x", "y" }, graph.Values.Keys.OrderBy(k => k, StringComparer.Ordinal));

        // With the Gelu operator registered (after the merge with the ops1 branch), the fused graph runs too.
        if (OperatorRegistry.Find("", "Gelu") != null)
        {
            ShapeInference.Run(graph);
            var fused = ReferenceExecutor.RunOutputs(graph, new[] { Tensor.FromFloats(new[] { 4, 16 }, x) })[0].Floats!;
            PassTestModels.Close(original, fused, 1e-5f);
        }
    }

    [Fact]
    public void Constant_nodes_are_folded_by_shape_inference_then_matched()
    {
        // torch.onnx writes the constants as Constant nodes, not initializers; in the compiler the pass runs after
        // shape inference has folded them. The tanh form with a Mul cube needs only operators this branch has.
        var b = new OnnxModelBuilder(opset: 13).Input("x", 4, 16);
        foreach (var (name, value) in new[] { ("beta", 0.7978846f), ("kappa", 0.044715f), ("one", 1f), ("half", 0.5f) })
            b.Node("/act/Constant_" + name, "Constant", new string[0], new[] { name }, OnnxAttribute.Float("value_float", value));
        b.Node("/act/Mul", "Mul", new[] { "x", "x" }, new[] { "sq" })
            .Node("/act/Mul_1", "Mul", new[] { "sq", "x" }, new[] { "cube" })
            .Node("/act/Mul_2", "Mul", new[] { "cube", "kappa" }, new[] { "kc" })
            .Node("/act/Add", "Add", new[] { "kc", "x" }, new[] { "inner" })
            .Node("/act/Mul_3", "Mul", new[] { "inner", "beta" }, new[] { "scaled" })
            .Node("/act/Tanh", "Tanh", new[] { "scaled" }, new[] { "t" })
            .Node("/act/Add_1", "Add", new[] { "t", "one" }, new[] { "a" })
            .Node("/act/Mul_4", "Mul", new[] { "half", "x" }, new[] { "hx" })
            .Node("/act/Mul_5", "Mul", new[] { "hx", "a" }, new[] { "y" })
            .Output("y", 4, 16);
        var graph = PassTestModels.Imported(b);
        Assert.Equal(9, graph.Nodes.Count); // the Constant nodes are folded away
        Assert.Equal(1, FuseGelu.FuseAll(graph));
        Assert.Equal("tanh", Assert.Single(graph.Nodes).Attributes["approximate"].String);
    }

    [Fact]
    public void Run_fuses_only_when_an_operator_runs_Gelu()
    {
        // A Gelu node nothing can run would fail later at emission; until ops1's Gelu is registered, Run keeps the pattern.
        var graph = OnnxModelReader.Read(TorchTanh().ToBytes(), "test.onnx");
        var before = PassTestModels.Ops(graph);
        FuseGelu.Run(graph);
        bool registered = OperatorRegistry.Find("", "Gelu") != null;
        Assert.Equal(registered ? new[] { "Gelu" } : before, PassTestModels.Ops(graph));
    }

    [Fact]
    public void A_wrong_constant_is_left_alone()
    {
        foreach (var b in new[] { TorchErf(sqrt2: 1.5f), TorchErf(half: 0.25f) })
        {
            var graph = OnnxModelReader.Read(b.ToBytes(), "test.onnx");
            Assert.Equal(0, FuseGelu.FuseAll(graph));
            Assert.Equal(5, graph.Nodes.Count);
        }
    }

    [Theory]
    [InlineData("/act/Div_output_0")]
    [InlineData("/act/Erf_output_0")]
    [InlineData("/act/Add_output_0")]
    [InlineData("/act/Mul_output_0")]
    public void A_shared_intermediate_is_left_alone(string shared)
    {
        var b = TorchErf().Node("other", "Relu", new[] { shared }, new[] { "z" }).Result("z");
        var graph = OnnxModelReader.Read(b.ToBytes(), "test.onnx");
        Assert.Equal(0, FuseGelu.FuseAll(graph));
    }

    [Fact]
    public void A_product_with_another_tensor_is_left_alone()
    {
        // 0.5 · w · (1 + erf(x / √2)) with w ≠ x is not GELU.
        var b = new OnnxModelBuilder(opset: 13).Input("x", 4, 16).Input("w", 4, 16)
            .Initializer("sqrt2", new long[0], new[] { 1.4142135f }).Initializer("one", new long[0], new[] { 1f })
            .Initializer("half", new long[0], new[] { 0.5f })
            .Node("div", "Div", new[] { "x", "sqrt2" }, new[] { "u" })
            .Node("erf", "Erf", new[] { "u" }, new[] { "e" })
            .Node("add", "Add", new[] { "e", "one" }, new[] { "a" })
            .Node("mul", "Mul", new[] { "w", "a" }, new[] { "m" })
            .Node("mul_half", "Mul", new[] { "m", "half" }, new[] { "y" })
            .Output("y", 4, 16);
        var graph = OnnxModelReader.Read(b.ToBytes(), "test.onnx");
        Assert.Equal(0, FuseGelu.FuseAll(graph));
    }

    [Fact]
    public void Without_the_half_it_is_left_alone()
    {
        var b = new OnnxModelBuilder(opset: 13).Input("x", 4, 16)
            .Initializer("sqrt2", new long[0], new[] { 1.4142135f }).Initializer("one", new long[0], new[] { 1f })
            .Node("div", "Div", new[] { "x", "sqrt2" }, new[] { "u" })
            .Node("erf", "Erf", new[] { "u" }, new[] { "e" })
            .Node("add", "Add", new[] { "e", "one" }, new[] { "a" })
            .Node("mul", "Mul", new[] { "x", "a" }, new[] { "y" })
            .Output("y", 4, 16);
        var graph = OnnxModelReader.Read(b.ToBytes(), "test.onnx");
        Assert.Equal(0, FuseGelu.FuseAll(graph));
    }

    [Fact]
    public void Two_activations_in_one_graph_are_both_fused()
    {
        // Two MLP blocks' activations, one after the other (the second reads the first's output).
        var b = TorchErf();
        b.Proto.Graph.Output.Clear();
        b.Node("/act2/Div", "Div", new[] { "y", "sqrt2" }, new[] { "d2" })
            .Node("/act2/Erf", "Erf", new[] { "d2" }, new[] { "e2" })
            .Node("/act2/Add", "Add", new[] { "one", "e2" }, new[] { "a2" })
            .Node("/act2/Mul", "Mul", new[] { "a2", "y" }, new[] { "m2" })
            .Node("/act2/Mul_1", "Mul", new[] { "half", "m2" }, new[] { "y2" })
            .Output("y2", 4, 16);
        var graph = OnnxModelReader.Read(b.ToBytes(), "test.onnx");
        Assert.Equal(2, FuseGelu.FuseAll(graph));
        Assert.Equal(new[] { "Gelu", "Gelu" }, PassTestModels.Ops(graph));
        Assert.Equal(new[] { "x" }, graph.Nodes[0].Inputs);
        Assert.Equal(new[] { "y" }, graph.Nodes[1].Inputs);
    }

    private static float GeluErf(float x) => (float)(0.5 * x * (1 + Erf(x / Math.Sqrt(2))));

    private static float GeluTanh(float x) => (float)(0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))));

    /// <summary>erf by its Maclaurin series, to double precision for |x| &lt; 3 (the tests' inputs).</summary>
    private static double Erf(double x)
    {
        double sum = 0, term = x;
        for (int n = 0; n < 100; n++)
        {
            sum += term / (2 * n + 1);
            term *= -x * x / (n + 1);
        }
        return 2 / Math.Sqrt(Math.PI) * sum;
    }
}
