using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Compiler.Tests.Quantization;

public class DynamicQuantizationTests
{
    /// <summary>A model whose only Q/DQ is on its weights has no activation scales: it runs dynamic INT8, with its own int8 weights.</summary>
    [Fact]
    public void Weight_only_QDQ_model_keeps_its_own_int8_weights_in_dynamic_mode()
    {
        sbyte[] weights = { 1, -2, 3, -4, 5, -6, 7, -127, 0, 9, -10, 11, 12, -13, 14, -15, 16, 17 };
        var model = new OnnxModelBuilder(opset: 13)
            .Input("x", 1, 1, 4, 4)
            .RawInitializer("w_q", OnnxModelBuilder.ElementType.Int8, new long[] { 2, 1, 3, 3 }, weights.Select(v => (byte)v).ToArray())
            .Initializer("w_scale", new long[] { 2 }, new[] { 0.01f, 0.02f })
            .Node("dq", "DequantizeLinear", new[] { "w_q", "w_scale" }, new[] { "w" }, OnnxAttribute.Int("axis", 0))
            .Node("conv", "Conv", new[] { "x", "w" }, new[] { "y" })
            .Output("y")
            .ToBytes();

        var graph = ModelCompiler.Prepare(model, "m.onnx");
        ModelCompiler.Quantize(graph, new CompilerOptions { Precision = Precision.Int8 });

        var conv = Assert.Single(graph.Nodes, n => n.OpType == "QConv");
        Assert.Equal(weights.Select(v => (long)v), graph[conv.Inputs[1]].Constant!.Longs!);
        Assert.Equal(new[] { 0.01f, 0.02f }, graph[conv.Inputs[3]].Constant!.Floats!);
    }
}
