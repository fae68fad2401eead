using System;
using System.IO;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using QuantGen.Cli.Evaluation;
using QuantGen.Compiler;
using QuantGen.Compiler.Execution;
using QuantGen.Compiler.Ir;
using Xunit;

namespace QuantGen.Cli.Tests.Evaluation;

/// <summary>ONNX Runtime as evaluate's FP32 reference, with intermediate tensors added as graph outputs.</summary>
public sealed class OnnxRuntimeModelTests
{
    private static readonly int[] Shape = { 1, 1, 28, 28 };
    private static readonly Value[] Inputs = { new("input", DataType.Float, Shape) };

    [Fact]
    public void Intermediates_added_to_the_graph_match_quantgens_float_reference_and_the_outputs_do_not_change()
    {
        byte[] model = File.ReadAllBytes(Samples.ModelPath);
        var graph = ModelCompiler.Prepare(model, Samples.ModelPath);
        string[] intermediates = { "/features/features.2/Relu_output_0", "/classifier/classifier.0/Flatten_output_0" };
        using var plain = new OnnxRuntimeModel(model, Inputs, graph.Outputs, Array.Empty<string>());
        using var probed = new OnnxRuntimeModel(model, Inputs, graph.Outputs, intermediates);

        foreach (var image in Samples.Images(3))
        {
            var sample = new[] { Tensor.FromFloats(Shape, image) };
            float[] expected = plain.Run(sample);
            Assert.Equal(expected, probed.Run(sample));
            var reference = ReferenceExecutor.Run(graph, sample);
            foreach (string name in intermediates)
            {
                var want = reference[name].Floats!;
                var got = probed.Values[name];
                Assert.Equal(want.Length, got.Length);
                for (int i = 0; i < want.Length; i++)
                    Assert.True(Math.Abs(want[i] - got[i]) <= 1e-4f * (1 + Math.Abs(want[i])), $"{name}[{i}]: {got[i]} vs {want[i]}");
            }
        }
    }

    [Fact]
    public void A_name_the_model_does_not_have_is_refused_by_onnx_runtime_and_damaged_bytes_by_the_editor()
    {
        byte[] model = File.ReadAllBytes(Samples.ModelPath);
        Assert.ThrowsAny<OnnxRuntimeException>(() => new OnnxRuntimeModel(model, Inputs, new[] { "logits" }, new[] { "no such tensor" }));
        Assert.Throws<InvalidDataException>(() => OnnxGraphOutputs.Add(model.Take(model.Length / 2).ToArray(), new[] { "x" }));
        Assert.Throws<InvalidDataException>(() => OnnxGraphOutputs.Add(new byte[] { 0x08, 0x07 }, new[] { "x" }));
    }
}
