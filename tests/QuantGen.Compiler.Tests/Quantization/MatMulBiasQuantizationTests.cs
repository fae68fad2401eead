using System;
using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Quantization.QuantTestKit;

namespace QuantGen.Compiler.Tests.Quantization;

/// <summary>
/// torch exports nn.Linear on a 3-D input as MatMul then Add of the bias vector. In INT8 the bias goes into the
/// MatMul's QGemm (int32, at the accumulator's scale) and the kernel writes the Add's output directly: no requantized
/// product, Dequantize, float Add and Quantize in between.
/// </summary>
public class MatMulBiasQuantizationTests
{
    private const int S = 6, K = 16, N = 12;

    /// <summary>x [1, S, K] -> MatMul W [K, N] -> Add bias [N] -> Tanh (float output); with <paramref name="secondReader"/>
    /// the product is also an output of its own, so the Add cannot take it over.</summary>
    private static byte[] Linear(bool secondReader)
    {
        var builder = new OnnxModelBuilder(opset: 17)
            .Input("x", 1, S, K)
            .Initializer("w", new long[] { K, N }, OnnxModelBuilder.RandomFloats(K * N, 31, 0.4f))
            .Initializer("b", new long[] { N }, OnnxModelBuilder.RandomFloats(N, 32, 1.5f))
            .Node("proj", "MatMul", new[] { "x", "w" }, new[] { "xw" })
            .Node("bias_add", "Add", new[] { "xw", "b" }, new[] { "h" })
            .Node("act", "Tanh", new[] { "h" }, new[] { "y" })
            .Output("y", 1, S, N);
        if (secondReader)
            builder.Output("xw", 1, S, N);
        return builder.ToBytes();
    }

    private static float[][] Samples(int count, int seed0) =>
        Enumerable.Range(seed0, count).Select(s => OnnxModelBuilder.RandomFloats(S * K, s, 2f)).ToArray();

    [Fact]
    public void The_bias_Add_of_a_MatMul_goes_into_its_QGemm_and_the_code_matches_the_reference()
    {
        var model = Linear(secondReader: false);
        var floatGraph = ModelCompiler.Prepare(model, "model.onnx");
        var options = GeneratedModel.Options(Precision.Int8, Ranges(floatGraph, Samples(16, 100)));
        var graph = ModelCompiler.Prepare(model, "model.onnx");
        var report = ModelCompiler.Quantize(graph, options);

        Assert.DoesNotContain(graph.Nodes, n => n.OpType == "Add");
        var gemm = Assert.Single(Nodes(graph, "QGemm"));
        Assert.Equal("h" + "::u8", gemm.Outputs[0]); // the Add's output, on the Add's calibrated grid
        Assert.Contains("bias_add", report.QuantizedNodes);
        Assert.DoesNotContain(report.FloatNodes, f => f.Node == "bias_add");
        Assert.NotNull(report.Weights["proj"].Bias);

        var result = ModelCompiler.Compile(model, options);
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == Diagnostics.ModelDiagnosticSeverity.Error);
        using var generated = GeneratedModel.Load(result.Files, graph);
        foreach (var x in Samples(4, 500))
        {
            var reference = Reference(graph, x)[0];
            var exact = Reference(floatGraph, x)[0].Floats!;
            var actual = (float[])generated.Run(x)[0];
            BitExact(reference, actual, "y");
            for (int i = 0; i < actual.Length; i++)
                Assert.True(Math.Abs(actual[i] - exact[i]) < 0.03f, $"y[{i}]: INT8 {actual[i]}, float {exact[i]}");
        }
    }

    [Fact]
    public void A_product_with_another_reader_keeps_its_own_Add()
    {
        var model = Linear(secondReader: true);
        var floatGraph = ModelCompiler.Prepare(model, "model.onnx");
        var graph = ModelCompiler.Prepare(model, "model.onnx");
        ModelCompiler.Quantize(graph, GeneratedModel.Options(Precision.Int8, Ranges(floatGraph, Samples(16, 100))));
        Assert.Equal("xw" + "::u8", Assert.Single(Nodes(graph, "QGemm")).Outputs[0]);
        Assert.Single(Nodes(graph, "Add"));
    }
}
