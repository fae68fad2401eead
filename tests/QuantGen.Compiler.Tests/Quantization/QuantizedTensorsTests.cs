using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Execution;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Quantization;
using Xunit;
using static QuantGen.Compiler.Tests.Quantization.QuantTestKit;

namespace QuantGen.Compiler.Tests.Quantization;

/// <summary>
/// <see cref="QuantizationReport.QuantizedTensors"/>: the map from float tensor names to their uint8 values that tools
/// (quantgen evaluate) use to measure per-layer error. It must name every uint8 activation and dequantize it the way the
/// graph's own Dequantize nodes do.
/// </summary>
public class QuantizedTensorsTests
{
    private static readonly int[] ImageShape = { 1, 1, 28, 28 };

    [Theory]
    [InlineData("fashion_cnn.onnx")]
    [InlineData("fashion_resnet.onnx")]
    public void Static_int8_maps_every_uint8_activation_with_the_parameters_its_dequantize_uses(string file)
    {
        var bytes = SampleModel(file);
        var images = FashionImages(8);
        var ranges = Ranges(ModelCompiler.Prepare(bytes, file), images.Take(4));
        var graph = ModelCompiler.Prepare(bytes, file);
        var report = ModelCompiler.Quantize(graph, GeneratedModel.Options(Precision.Int8, ranges));
        var map = report.QuantizedTensors;

        var activations = graph.Values.Values.Where(v => v.Type == DataType.UInt8 && !v.IsConstant).Select(v => v.Name).ToHashSet();
        Assert.Equal(activations.OrderBy(n => n), map.Values.Select(q => q.Values).Distinct().OrderBy(n => n));
        Assert.All(map, kv =>
        {
            Assert.NotNull(kv.Value.Params);
            Assert.Null(kv.Value.DynamicParams);
        });
        // Each Quantize and Dequantize node carries the parameters the map gives for its float tensor.
        foreach (var node in graph.Nodes.Where(n => n.OpType is "Quantize" or "Dequantize" && n.Domain == QuantGen.Compiler.Ops.OperatorRegistry.QuantizedDomain))
        {
            string floatName = node.OpType == "Quantize" ? node.Inputs[0] : node.Outputs[0];
            var p = map[floatName].Params!.Value;
            Assert.Equal(p.Scale, node.Attributes["scale"].Float);
            Assert.Equal(p.ZeroPoint, node.Attributes["zero_point"].Int);
        }
        // Dequantizing the output's uint8 values by the map gives exactly what the graph's final Dequantize returns.
        var values = ReferenceExecutor.Run(graph, new[] { Tensor.FromFloats(ImageShape, images[5]) });
        string output = graph.Outputs[0];
        var q = map[output];
        var dequantized = values[q.Values].Longs!.Select(v => q.Params!.Value.Dequantize((int)v)).ToArray();
        Assert.Equal(values[output].Floats!, dequantized);
    }

    [Fact]
    public void Dynamic_int8_maps_each_quantized_input_to_its_per_call_parameters()
    {
        var bytes = SampleModel("fashion_cnn.onnx");
        var graph = ModelCompiler.Prepare(bytes, "fashion_cnn.onnx");
        var report = ModelCompiler.Quantize(graph, GeneratedModel.Options(Precision.Int8));
        Assert.Equal(report.QuantizedNodes.Count, report.QuantizedTensors.Count);  // one distinct input per integer kernel here
        var values = ReferenceExecutor.Run(graph, new[] { Tensor.FromFloats(ImageShape, FashionImages(1)[0]) });
        foreach (var (name, q) in report.QuantizedTensors)
        {
            Assert.Null(q.Params);
            var p = values[q.DynamicParams!].Floats!;
            var x = values[name].Floats!;
            var codes = values[q.Values].Longs!;
            // Dequantized per-call values are within half a step of the float tensor they quantize.
            for (int i = 0; i < x.Length; i++)
                Assert.InRange((codes[i] - p[1]) * p[0] - x[i], -p[0] / 2 * 1.001f, p[0] / 2 * 1.001f);
        }
    }
}
