using System.Linq;
using QuantGen.Compiler.Execution;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Onnx;
using QuantGen.Compiler.Passes;
using QuantGen.Compiler.Tests.Ops;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Compiler.Tests.Passes;

public class FuseLayerNormalizationTests
{
    private const int Hidden = 16;

    /// <summary>
    /// The layer norm as torch.onnx writes nn.LayerNorm below opset 17 (node names and operand order as exported),
    /// on x of shape [2, 5, 16]. <paramref name="edit"/> changes one piece for the variants and negative cases.
    /// </summary>
    private static OnnxModelBuilder Decomposed(long opset = 14, bool mulSquare = false, bool swapOperands = false,
        bool affine = true, long[]? varianceAxes = null, System.Action<OnnxModelBuilder>? extra = null, string eps = "eps", string gamma = "gamma")
    {
        var b = new OnnxModelBuilder(opset: opset).Input("x", 2, 5, Hidden)
            .Initializer("eps", new long[0], new[] { 1e-5f })
            .Initializer("two", new long[0], new[] { 2f })
            .Initializer("gamma", new long[] { Hidden }, OnnxModelBuilder.RandomFloats(Hidden, 21, 2f))
            .Initializer("beta", new long[] { Hidden }, OnnxModelBuilder.RandomFloats(Hidden, 22, 1f));
        OnnxAttribute[] Axes(long[] axes) => opset < 18 ? new[] { OnnxAttribute.Ints("axes", axes) } : new OnnxAttribute[0];
        string[] MeanInputs(string input, long[] axes)
        {
            if (opset < 18) return new[] { input };
            string name = "axes_" + string.Join("_", axes.Select(a => a < 0 ? "m" + -a : a.ToString()));
            if (!b.Proto.Graph.Initializer.Any(i => i.Name == name)) b.Initializer(name, new long[] { axes.Length }, axes);
            return new[] { input, name };
        }
        var last = new long[] { -1 };
        b.Node("/ln/ReduceMean", "ReduceMean", MeanInputs("x", last), new[] { "/ln/ReduceMean_output_0" }, Axes(last))
         .Node("/ln/Sub", "Sub", new[] { "x", "/ln/ReduceMean_output_0" }, new[] { "/ln/Sub_output_0" });
        if (mulSquare)
            b.Node("/ln/Mul_sq", "Mul", new[] { "/ln/Sub_output_0", "/ln/Sub_output_0" }, new[] { "/ln/Pow_output_0" });
        else
            b.Node("/ln/Pow", "Pow", new[] { "/ln/Sub_output_0", "two" }, new[] { "/ln/Pow_output_0" });
        var vAxes = varianceAxes ?? last;
        b.Node("/ln/ReduceMean_1", "ReduceMean", MeanInputs("/ln/Pow_output_0", vAxes), new[] { "/ln/ReduceMean_1_output_0" }, Axes(vAxes))
         .Node("/ln/Add", "Add", swapOperands ? new[] { eps, "/ln/ReduceMean_1_output_0" } : new[] { "/ln/ReduceMean_1_output_0", eps }, new[] { "/ln/Add_output_0" })
         .Node("/ln/Sqrt", "Sqrt", new[] { "/ln/Add_output_0" }, new[] { "/ln/Sqrt_output_0" })
         .Node("/ln/Div", "Div", new[] { "/ln/Sub_output_0", "/ln/Sqrt_output_0" }, new[] { affine ? "/ln/Div_output_0" : "y" });
        if (affine)
        {
            b.Node("/ln/Mul", "Mul", swapOperands ? new[] { gamma, "/ln/Div_output_0" } : new[] { "/ln/Div_output_0", gamma }, new[] { "/ln/Mul_output_0" })
             .Node("/ln/Add_1", "Add", swapOperands ? new[] { "beta", "/ln/Mul_output_0" } : new[] { "/ln/Mul_output_0", "beta" }, new[] { "y" });
        }
        extra?.Invoke(b);
        return b.Output("y", 2, 5, Hidden);
    }

    /// <summary>
    /// Imports without the supported-op check and shape inference: Pow and Sqrt are another branch's operators. The
    /// pass needs only x's shape (a graph input) and the constants (initializers).
    /// </summary>
    private static Graph Import(OnnxModelBuilder b) => OnnxModelReader.Read(b.ToBytes(), "test.onnx");

    /// <summary>Fuses, then checks the fused graph (through the reference executor) against ONNX Runtime on the original.</summary>
    private static Graph FusesAndMatchesOnnxRuntime(OnnxModelBuilder b, params string[] expectedOps)
    {
        var graph = Import(b);
        FuseLayerNormalization.Run(graph);
        Assert.Equal(expectedOps, PassTestModels.Ops(graph));
        ShapeInference.Run(graph);

        var x = OnnxModelBuilder.RandomFloats(2 * 5 * Hidden, 5, 3f).Select((v, i) => v + (i / Hidden) * 10f).ToArray();
        float[] expected;
        using (var ort = new OnnxRuntimeReference(b.ToBytes()))
            expected = ort.Run(new[] { x }, new[] { new[] { 2, 5, Hidden } })[0];
        var actual = ReferenceExecutor.RunOutputs(graph, new[] { Tensor.FromFloats(new[] { 2, 5, Hidden }, x) })[0].Floats!;
        PassTestModels.Close(expected, actual, 1e-4f);
        return graph;
    }

    [Fact]
    public void The_PyTorch_export_becomes_one_LayerNormalization()
    {
        var graph = FusesAndMatchesOnnxRuntime(Decomposed(), "LayerNormalization");
        var ln = graph.Nodes.Single();
        Assert.Equal("/ln/LayerNormalization", ln.Name);
        Assert.Equal(new[] { "x", "gamma", "beta" }, ln.Inputs);
        Assert.Equal(new[] { "y" }, ln.Outputs);
        Assert.Equal(2, ln.Attributes["axis"].Int);
        Assert.Equal(1e-5f, ln.Attributes["epsilon"].Float);
        Assert.Equal(9, ln.Absorbed.Count);
    }

    [Fact]
    public void Square_as_Mul_and_constants_on_the_left_are_matched()
    {
        var graph = FusesAndMatchesOnnxRuntime(Decomposed(mulSquare: true, swapOperands: true), "LayerNormalization");
        Assert.Equal(new[] { "x", "gamma", "beta" }, graph.Nodes.Single().Inputs);
    }

    [Fact]
    public void Without_gamma_and_beta_the_scale_is_ones()
    {
        var graph = FusesAndMatchesOnnxRuntime(Decomposed(affine: false), "LayerNormalization");
        var scale = graph[graph.Nodes.Single().Inputs[1]].Constant!;
        Assert.Equal(new[] { Hidden }, scale.Shape);
        Assert.All(scale.Floats!, v => Assert.Equal(1f, v));
        Assert.Equal(2, graph.Nodes.Single().Inputs.Count);
    }

    [Fact]
    public void Opset_18_axes_inputs_are_read()
    {
        FusesAndMatchesOnnxRuntime(Decomposed(opset: 18), "LayerNormalization");
    }

    [Fact]
    public void Two_trailing_axes_normalize_from_the_first_of_them()
    {
        // ReduceMean over [-2, -1] in both means: LayerNormalization with axis 1 over [5, 16].
        var b = new OnnxModelBuilder(opset: 13).Input("x", 2, 5, Hidden)
            .Initializer("eps", new long[] { 1 }, new[] { 1e-3f })
            .Node("m", "ReduceMean", new[] { "x" }, new[] { "m_out" }, OnnxAttribute.Ints("axes", 1, 2))
            .Node("d", "Sub", new[] { "x", "m_out" }, new[] { "d_out" })
            .Node("sq", "Mul", new[] { "d_out", "d_out" }, new[] { "sq_out" })
            .Node("v", "ReduceMean", new[] { "sq_out" }, new[] { "v_out" }, OnnxAttribute.Ints("axes", -1, -2))
            .Node("ve", "Add", new[] { "v_out", "eps" }, new[] { "ve_out" })
            .Node("s", "Sqrt", new[] { "ve_out" }, new[] { "s_out" })
            .Node("n", "Div", new[] { "d_out", "s_out" }, new[] { "y" })
            .Output("y", 2, 5, Hidden);
        var graph = FusesAndMatchesOnnxRuntime(b, "LayerNormalization");
        Assert.Equal(1, graph.Nodes.Single().Attributes["axis"].Int);
        Assert.Equal(1e-3f, graph.Nodes.Single().Attributes["epsilon"].Float);
    }

    [Fact]
    public void Pow_one_half_as_the_square_root_is_matched()
    {
        // tf2onnx writes the standard deviation as Pow(variance + eps, 0.5); Pow(·, 0.25) is something else.
        OnnxModelBuilder Model(float exponent) => new OnnxModelBuilder(opset: 13).Input("x", 2, 5, Hidden)
            .Initializer("eps", new long[0], new[] { 1e-5f }).Initializer("e", new long[0], new[] { exponent })
            .Node("m", "ReduceMean", new[] { "x" }, new[] { "m_out" }, OnnxAttribute.Ints("axes", -1))
            .Node("d", "Sub", new[] { "x", "m_out" }, new[] { "d_out" })
            .Node("sq", "Mul", new[] { "d_out", "d_out" }, new[] { "sq_out" })
            .Node("v", "ReduceMean", new[] { "sq_out" }, new[] { "v_out" }, OnnxAttribute.Ints("axes", -1))
            .Node("ve", "Add", new[] { "v_out", "eps" }, new[] { "ve_out" })
            .Node("s", "Pow", new[] { "ve_out", "e" }, new[] { "s_out" })
            .Node("n", "Div", new[] { "d_out", "s_out" }, new[] { "y" })
            .Output("y", 2, 5, Hidden);
        FusesAndMatchesOnnxRuntime(Model(0.5f), "LayerNormalization");
        var other = Import(Model(0.25f));
        FuseLayerNormalization.Run(other);
        Assert.Equal(7, other.Nodes.Count);
    }

    [Fact]
    public void RMSNorm_is_not_a_layer_norm()
    {
        // T5/LLaMA RMSNorm: x / sqrt(mean(x²) + eps) · gamma; no mean is subtracted, so it must stay as it is.
        var b = new OnnxModelBuilder(opset: 13).Input("x", 2, 5, Hidden)
            .Initializer("eps", new long[0], new[] { 1e-6f }).Initializer("two", new long[0], new[] { 2f })
            .Initializer("gamma", new long[] { Hidden }, OnnxModelBuilder.RandomFloats(Hidden, 4))
            .Node("pow", "Pow", new[] { "x", "two" }, new[] { "sq" })
            .Node("mean", "ReduceMean", new[] { "sq" }, new[] { "ms" }, OnnxAttribute.Ints("axes", -1))
            .Node("add", "Add", new[] { "ms", "eps" }, new[] { "mse" })
            .Node("sqrt", "Sqrt", new[] { "mse" }, new[] { "rms" })
            .Node("div", "Div", new[] { "x", "rms" }, new[] { "n" })
            .Node("scale", "Mul", new[] { "n", "gamma" }, new[] { "y" })
            .Output("y", 2, 5, Hidden);
        var graph = Import(b);
        FuseLayerNormalization.Run(graph);
        Assert.Equal(new[] { "Pow", "ReduceMean", "Add", "Sqrt", "Div", "Mul" }, PassTestModels.Ops(graph));
    }

    [Fact]
    public void A_runtime_gamma_stays_a_Mul_after_the_fused_core()
    {
        var b = Decomposed(gamma: "g_in").Input("g_in", Hidden);
        var graph = Import(b);
        FuseLayerNormalization.Run(graph);
        Assert.Equal(new[] { "LayerNormalization", "Mul", "Add" }, PassTestModels.Ops(graph));
    }

    [Fact]
    public void Different_axes_are_left_alone()
    {
        var graph = Import(Decomposed(varianceAxes: new long[] { -2 }));
        FuseLayerNormalization.Run(graph);
        Assert.DoesNotContain("LayerNormalization", PassTestModels.Ops(graph));
        Assert.Equal(9, graph.Nodes.Count);
    }

    [Fact]
    public void Leading_axes_are_left_alone()
    {
        // Normalizing over axis 1 of [2, 5, 16] is not a layer norm over trailing dimensions.
        var b = new OnnxModelBuilder(opset: 13).Input("x", 2, 5, Hidden).Initializer("eps", new long[0], new[] { 1e-5f })
            .Node("m", "ReduceMean", new[] { "x" }, new[] { "m_out" }, OnnxAttribute.Ints("axes", 1))
            .Node("d", "Sub", new[] { "x", "m_out" }, new[] { "d_out" })
            .Node("sq", "Mul", new[] { "d_out", "d_out" }, new[] { "sq_out" })
            .Node("v", "ReduceMean", new[] { "sq_out" }, new[] { "v_out" }, OnnxAttribute.Ints("axes", 1))
            .Node("ve", "Add", new[] { "v_out", "eps" }, new[] { "ve_out" })
            .Node("s", "Sqrt", new[] { "ve_out" }, new[] { "s_out" })
            .Node("n", "Div", new[] { "d_out", "s_out" }, new[] { "y" })
            .Output("y", 2, 5, Hidden);
        var graph = Import(b);
        FuseLayerNormalization.Run(graph);
        Assert.Equal(7, graph.Nodes.Count);
    }

    [Theory]
    [InlineData("/ln/Sub_output_0")]          // the centred x read by another node
    [InlineData("/ln/ReduceMean_output_0")]   // the mean
    [InlineData("/ln/ReduceMean_1_output_0")] // the variance
    [InlineData("/ln/Sqrt_output_0")]         // the standard deviation
    public void A_shared_intermediate_is_left_alone(string shared)
    {
        var b = Decomposed(extra: m => m.Node("other", "Relu", new[] { shared }, new[] { "z" }).Result("z"));
        var graph = Import(b);
        FuseLayerNormalization.Run(graph);
        Assert.DoesNotContain("LayerNormalization", PassTestModels.Ops(graph));
    }

    [Fact]
    public void An_intermediate_graph_output_is_left_alone()
    {
        var b = Decomposed(extra: m => m.Result("/ln/ReduceMean_1_output_0"));
        var graph = Import(b);
        FuseLayerNormalization.Run(graph);
        Assert.DoesNotContain("LayerNormalization", PassTestModels.Ops(graph));
    }

    [Fact]
    public void A_runtime_epsilon_is_left_alone()
    {
        var b = Decomposed(eps: "eps_in").Input("eps_in", 1);
        var graph = Import(b);
        FuseLayerNormalization.Run(graph);
        Assert.DoesNotContain("LayerNormalization", PassTestModels.Ops(graph));
    }

    [Fact]
    public void A_gamma_that_scales_across_rows_is_not_absorbed()
    {
        // gamma of shape [5, 1] varies along the sequence, which LayerNormalization's Scale cannot express.
        var b = Decomposed(gamma: "row_gamma");
        b.Initializer("row_gamma", new long[] { 5, 1 }, OnnxModelBuilder.RandomFloats(5, 3));
        var graph = FusesAndMatchesOnnxRuntime(b, "LayerNormalization", "Mul", "Add");
        Assert.Equal(2, graph.Nodes.Count(n => n.OpType != "LayerNormalization"));
    }
}
