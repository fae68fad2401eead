using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Quantization.QuantTestKit;

namespace QuantGen.Compiler.Tests.Quantization;

/// <summary>
/// The sample's QAT model (PyTorch fake quantization exported as QuantizeLinear/DequantizeLinear) in Float32 and in
/// INT8, and the ResNet sample's residual blocks in INT8, on real Fashion-MNIST images.
/// </summary>
public class SampleModelQuantizationTests
{
    private static readonly int[] ImageShape = { 1, 1, 28, 28 };
    private const float LogitScale = 0.17317748f;   // the model's scale for the fake-quantized logits

    [Fact]
    public void The_QAT_model_compiles_in_Float32_and_matches_OnnxRuntime()
    {
        var bytes = SampleModel("fashion_qat.onnx");
        var run = GeneratorHarness.RunModel(bytes, className: "Qat", modelPath: "Models/fashion_qat.onnx");
        Assert.True(run.AllDiagnostics.Count == 0, string.Join("\n", run.AllDiagnostics));
        using var model = LoadedModel.Load(run, ModelCompiler.Prepare(bytes, "fashion_qat.onnx"), "Qat");
        int sameTop1 = 0, exact = 0, total = 0;
        var images = FashionImages(50);
        foreach (var image in images)
        {
            var expected = (float[])OnnxRuntime(bytes, image, ImageShape)[0];
            var actual = (float[])model.Run(image)[0];
            for (int i = 0; i < 10; i++)
            {
                // Fake quantization turns float summation-order differences into whole steps, rarely.
                Assert.True(Math.Abs(expected[i] - actual[i]) <= LogitScale * 1.01f, $"logit {i}: {actual[i]} vs ONNX Runtime's {expected[i]}");
                if (expected[i] == actual[i]) exact++;
                total++;
            }
            if (ArgMax(expected) == ArgMax(actual)) sameTop1++;
        }
        Assert.True(exact >= total * 95 / 100, $"{exact} of {total} logits equal ONNX Runtime's");
        Assert.True(sameTop1 >= images.Length - 1, $"top-1 equal on {sameTop1} of {images.Length} images");
    }

    private static (Graph Graph, Compiler.Quantization.QuantizationReport Report) QuantizedQat(byte[] bytes)
    {
        var graph = ModelCompiler.Prepare(bytes, "fashion_qat.onnx");
        var report = ModelCompiler.Quantize(graph, GeneratedModel.Options(Precision.Int8, new Dictionary<string, (float, float)>()));
        return (graph, report);
    }

    [Fact]
    public void The_QAT_model_runs_in_INT8_with_its_own_int8_weights_and_scales()
    {
        var bytes = SampleModel("fashion_qat.onnx");
        var (graph, report) = QuantizedQat(bytes);
        Assert.True(report.FloatNodes.Count == 0, "float nodes: " + string.Join(", ", report.FloatNodes));
        Assert.Equal(new[] { "Quantize", "QConv", "MaxPool", "QConv", "MaxPool", "Flatten", "QGemm", "QGemm", "Dequantize" }, graph.Nodes.Select(n => n.OpType));
        Assert.Equal(4, report.ModelWeightNodes.Count);
        Assert.Empty(report.IgnoredWeightHints);

        // The weights the model's QuantizeLinear computes from its float initializers: round_half_even(w / s[c]), saturated.
        var raw = Onnx.OnnxModelReader.Read(bytes, "fashion_qat.onnx");
        var layers = new[]
        {
            ("/net/features/features.0/Conv", "net.features.0.weight", "net.features.0.weight_fake_quant.scale"),
            ("/net/features/features.4/Conv", "net.features.4.weight", "net.features.4.weight_fake_quant.scale"),
            ("/net/classifier/classifier.1/Gemm", "net.classifier.1.weight", "net.classifier.1.weight_fake_quant.scale"),
            ("/net/classifier/classifier.4/Gemm", "net.classifier.4.weight", "net.classifier.4.weight_fake_quant.scale"),
        };
        foreach (var (node, weight, scale) in layers)
        {
            var w = raw[weight].Constant!.Floats!;
            var s = raw[scale].Constant!.Floats!;
            int per = w.Length / s.Length;
            var expected = w.Select((v, i) => (long)Math.Clamp(Math.Round((double)(v / s[i / per]), MidpointRounding.ToEven), -128, 127));
            var q = graph.Nodes.Single(n => n.Name == node);
            Assert.Equal(expected, graph[q.Inputs[1]].Constant!.Longs!);
        }

        // The input is quantized with the QuantStub's scale and zero point, the logits dequantized with the model's.
        var quantize = graph.Nodes.Single(n => n.OpType == "Quantize");
        Assert.Equal(raw["quant.activation_post_process.scale"].Constant!.Floats![0], quantize.Attributes["scale"].Float);
        Assert.Equal(0, quantize.Attributes["zero_point"].Int);
        var dequantize = graph.Nodes.Single(n => n.OpType == "Dequantize");
        Assert.Equal(raw["net.classifier.4.activation_post_process.scale"].Constant!.Floats![0], dequantize.Attributes["scale"].Float);
        Assert.Equal(144, dequantize.Attributes["zero_point"].Int);
        Assert.Equal("logits", dequantize.Outputs[0]);
    }

    [Fact]
    public void The_QAT_models_INT8_code_from_the_generator_equals_its_reference_and_follows_OnnxRuntime()
    {
        var bytes = SampleModel("fashion_qat.onnx");
        // The generator's own path: Int8 by default, no calibration file, the model's scales.
        var run = GeneratorHarness.RunModel(bytes, className: "QatInt8", attributeArguments: "", modelPath: "Models/fashion_qat.onnx");
        Assert.True(run.AllDiagnostics.Count == 0, string.Join("\n", run.AllDiagnostics));
        var (graph, _) = QuantizedQat(bytes);
        using var model = LoadedModel.Load(run, graph, "QatInt8");
        var images = FashionImages(200);
        int sameTop1 = 0;
        for (int k = 0; k < images.Length; k++)
        {
            var actual = (float[])model.Run(images[k])[0];
            if (k < 6)
                BitExact(Reference(graph, images[k])[0], actual, $"image {k}");
            var fake = (float[])OnnxRuntime(bytes, images[k], ImageShape)[0];
            if (ArgMax(fake) == ArgMax(actual)) sameTop1++;
            for (int i = 0; i < 10; i++)
                Assert.True(Math.Abs(fake[i] - actual[i]) <= 4 * LogitScale, $"image {k}, logit {i}: INT8 {actual[i]}, fake-quantized float {fake[i]}");
        }
        Assert.True(sameTop1 >= images.Length * 98 / 100, $"INT8 top-1 equals the fake-quantized model's on {sameTop1} of {images.Length} images");
    }

    [Fact]
    public void The_ResNet_sample_runs_in_INT8_residual_adds_and_pooling_included()
    {
        var bytes = SampleModel("fashion_resnet.onnx");
        var floatGraph = ModelCompiler.Prepare(bytes, "fashion_resnet.onnx");
        var ranges = Ranges(floatGraph, FashionImages(16));
        var graph = ModelCompiler.Prepare(bytes, "fashion_resnet.onnx");
        var report = ModelCompiler.Quantize(graph, GeneratedModel.Options(Precision.Int8, ranges));
        Assert.True(report.FloatNodes.Count == 0, "float nodes: " + string.Join(", ", report.FloatNodes));
        Assert.Contains(graph.Nodes, n => n.OpType == "QAdd");
        Assert.DoesNotContain(graph.Nodes, n => n.Domain is "" or "ai.onnx" && n.OpType is "Add" or "GlobalAveragePool" or "AveragePool" or "Concat");
        int same = 0;
        var images = FashionImages(40);
        foreach (var image in images)
        {
            var int8 = Reference(graph, image)[0].Floats!;
            var fp32 = Reference(floatGraph, image)[0].Floats!;
            if (ArgMax(int8) == ArgMax(fp32)) same++;
        }
        Assert.True(same >= images.Length * 95 / 100, $"INT8 top-1 equals FP32's on {same} of {images.Length} images");
    }
}
