using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using QuantGen.Compiler;
using QuantGen.Compiler.Calibration;
using QuantGen.Compiler.Onnx.Proto;
using QuantGen.Compiler.Quantization;
using QuantGen.Testing;
using Xunit;
using Xunit.Abstractions;

namespace QuantGen.Cli.Tests.Export;

/// <summary>
/// The integer operators the sample models do not use, exported from a small built model (calibrated in process) and run
/// by ONNX Runtime: a Conv with a fused Clip, AveragePool and MaxPool side by side into a Concat, a standalone Sigmoid and
/// LeakyRelu (QLookup tables in QuantGen), a Reshape, and a MatMul on a 3-D input (kept a MatMul, weights on axis 1) as
/// the output.
/// </summary>
public sealed class ExportedOperatorTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly ITestOutputHelper _output;

    public ExportedOperatorTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _folder.Dispose();

    private static byte[] Model() => new OnnxModelBuilder(13).Input("x", 1, 3, 8, 8)
        .Initializer("w1", new long[] { 8, 3, 3, 3 }, OnnxModelBuilder.RandomFloats(216, 11, 0.4f))
        .Initializer("b1", new long[] { 8 }, OnnxModelBuilder.RandomFloats(8, 12, 0.1f))
        .Initializer("lo", Array.Empty<long>(), new[] { 0f })
        .Initializer("hi", Array.Empty<long>(), new[] { 6f })
        .Initializer("shape", new long[] { 3 }, new long[] { 1, 16, 16 })
        .Initializer("w2", new long[] { 16, 5 }, OnnxModelBuilder.RandomFloats(80, 13, 0.5f))
        .Node("conv", "Conv", new[] { "x", "w1", "b1" }, new[] { "c" }, OnnxAttribute.Ints("pads", 1, 1, 1, 1))
        .Node("clip", "Clip", new[] { "c", "lo", "hi" }, new[] { "c6" })
        .Node("avg", "AveragePool", new[] { "c6" }, new[] { "a" }, OnnxAttribute.Ints("kernel_shape", 2, 2), OnnxAttribute.Ints("strides", 2, 2))
        .Node("max", "MaxPool", new[] { "c6" }, new[] { "m" }, OnnxAttribute.Ints("kernel_shape", 2, 2), OnnxAttribute.Ints("strides", 2, 2))
        .Node("cat", "Concat", new[] { "a", "m" }, new[] { "cat" }, OnnxAttribute.Int("axis", 1))
        .Node("sig", "Sigmoid", new[] { "cat" }, new[] { "s" })
        .Node("leaky", "LeakyRelu", new[] { "s" }, new[] { "l" }, OnnxAttribute.Float("alpha", 0.1f))
        .Node("reshape", "Reshape", new[] { "l", "shape" }, new[] { "r" })
        .Node("mm", "MatMul", new[] { "r", "w2" }, new[] { "y" })
        .Output("y", 1, 16, 5)
        .ToBytes();

    private static float[] Input(int seed) => OnnxModelBuilder.RandomFloats(192, seed, 1f);

    [Fact]
    public void Concat_pools_tables_and_a_3d_matmul_export_and_run_in_onnx_runtime_within_one_output_step()
    {
        byte[] model = Model();
        string modelPath = _folder.Write("ops.onnx", model);
        var calibrator = new Calibrator(ModelCompiler.Prepare(model, modelPath));
        for (int i = 0; i < 64; i++) calibrator.Observe(Input(100 + i));
        string calibration = Path.ChangeExtension(modelPath, ".calib.json");
        File.WriteAllText(calibration, calibrator.Finish(ModelHash.Sha256Hex(model), "ops.onnx").Write());

        var result = CliResult.Run("export", modelPath);
        Assert.True(result.ExitCode == 0, result.ToString());

        // The build's INT8 graph, without the exporter: every node above runs on integers.
        var options = new CompilerOptions { ModelPath = modelPath, CalibrationJson = File.ReadAllText(calibration), CalibrationPath = calibration };
        var graph = ModelCompiler.Prepare(model, modelPath);
        var setup = QuantizationSetup.Resolve(graph, model, options, new List<Compiler.Diagnostics.ModelDiagnostic>());
        var report = ModelCompiler.Quantize(graph, options with { CalibrationRanges = setup.Ranges });
        Assert.Empty(report.FloatNodes);
        Assert.Equal(new[] { "QAveragePool", "QConcat", "QConv", "QGemm", "QLookup", "QLookup" },
            graph.Nodes.Where(n => n.Domain == "quantgen" && n.OpType.StartsWith("Q", StringComparison.Ordinal) && n.OpType != "Quantize").Select(n => n.OpType).Order(StringComparer.Ordinal));

        var exported = ModelProto.Parser.ParseFrom(File.ReadAllBytes(_folder.File("ops.int8.onnx")));
        var ops = exported.Graph.Node.Select(n => n.OpType).ToList();
        foreach (var op in new[] { "Conv", "Clip", "AveragePool", "MaxPool", "Concat", "Sigmoid", "Reshape", "MatMul", "LeakyRelu" })
            Assert.Contains(op, ops);
        var matMulWeights = exported.Graph.Node.Single(n => n.OpType == "DequantizeLinear" && n.Output[0] == exported.Graph.Node.Single(m => m.OpType == "MatMul").Input[1]);
        Assert.Equal(1, matMulWeights.Attribute.Single(a => a.Name == "axis").I);

        float outputScale = report.Uint8Params[graph.Nodes.Single(n => n.OpType == "Dequantize" && n.Outputs[0] == "y").Inputs[0]].Scale;
        using var session = new InferenceSession(_folder.File("ops.int8.onnx"), new SessionOptions { IntraOpNumThreads = 1 });
        float worst = 0;
        for (int i = 0; i < 32; i++)
        {
            float[] x = Input(1000 + i);
            using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, new[] { 1, 3, 8, 8 })) });
            float[] ort = results.Single().AsTensor<float>().ToArray();
            float[] ours = ExportedModels.RunReference(graph, x);
            worst = Math.Max(worst, ort.Zip(ours, (a, b) => Math.Abs(a - b)).Max());
        }
        _output.WriteLine($"max |ORT - QuantGen| over 32 inputs: {worst} ({worst / outputScale:F2} output steps of {outputScale})");
        // Both run the same grids; ORT requantizes in float and QuantGen in fixed point (measured here: no difference at all).
        Assert.True(worst <= outputScale + 1e-6f, $"ORT and QuantGen differ by {worst}, more than one output step ({outputScale})");
    }

    private const int S = 8, H = 16;

    /// <summary>One attention head: Q x K^T and softmax x V are activation x activation MatMuls (QMatMul in QuantGen).</summary>
    private static byte[] Attention() => new OnnxModelBuilder(17).Input("x", 1, S, H)
        .Initializer("wq", new long[] { H, H }, OnnxModelBuilder.RandomFloats(H * H, 1, 0.4f))
        .Initializer("wk", new long[] { H, H }, OnnxModelBuilder.RandomFloats(H * H, 2, 0.4f))
        .Initializer("wv", new long[] { H, H }, OnnxModelBuilder.RandomFloats(H * H, 3, 0.4f))
        .Initializer("scale", Array.Empty<long>(), new[] { 0.25f })
        .Node("q_proj", "MatMul", new[] { "x", "wq" }, new[] { "q" })
        .Node("k_proj", "MatMul", new[] { "x", "wk" }, new[] { "k" })
        .Node("v_proj", "MatMul", new[] { "x", "wv" }, new[] { "v" })
        .Node("k_t", "Transpose", new[] { "k" }, new[] { "kt" }, OnnxAttribute.Ints("perm", 0, 2, 1))
        .Node("scores", "MatMul", new[] { "q", "kt" }, new[] { "s" })
        .Node("scaled", "Mul", new[] { "s", "scale" }, new[] { "s_scaled" })
        .Node("probs", "Softmax", new[] { "s_scaled" }, new[] { "p" }, OnnxAttribute.Int("axis", -1))
        .Node("context", "MatMul", new[] { "p", "v" }, new[] { "y" })
        .Output("y", 1, S, H)
        .ToBytes();

    private static float[] AttentionInput(int seed) => OnnxModelBuilder.RandomFloats(S * H, seed, 1.5f);

    [Fact]
    public void Activation_matmuls_export_as_dequantize_matmul_quantize_and_run_in_onnx_runtime()
    {
        byte[] model = Attention();
        string modelPath = _folder.Write("attention.onnx", model);
        var calibrator = new Calibrator(ModelCompiler.Prepare(model, modelPath));
        for (int i = 0; i < 64; i++) calibrator.Observe(AttentionInput(100 + i));
        string calibration = Path.ChangeExtension(modelPath, ".calib.json");
        File.WriteAllText(calibration, calibrator.Finish(ModelHash.Sha256Hex(model), "attention.onnx").Write());

        var result = CliResult.Run("export", modelPath);
        Assert.True(result.ExitCode == 0, result.ToString());

        var options = new CompilerOptions { ModelPath = modelPath, CalibrationJson = File.ReadAllText(calibration), CalibrationPath = calibration };
        var graph = ModelCompiler.Prepare(model, modelPath);
        var setup = QuantizationSetup.Resolve(graph, model, options, new List<Compiler.Diagnostics.ModelDiagnostic>());
        var report = ModelCompiler.Quantize(graph, options with { CalibrationRanges = setup.Ranges });
        Assert.Equal(2, graph.Nodes.Count(n => n.OpType == "QMatMul"));

        // Each QMatMul is a MatMul whose two inputs come from DequantizeLinear and whose output goes to QuantizeLinear.
        var exported = ModelProto.Parser.ParseFrom(File.ReadAllBytes(_folder.File("attention.int8.onnx")));
        foreach (var name in new[] { "scores", "context" })
        {
            var node = exported.Graph.Node.Single(n => n.Name == name);
            Assert.Equal("MatMul", node.OpType);
            foreach (var input in node.Input)
                Assert.Equal("DequantizeLinear", exported.Graph.Node.Single(n => n.Output.Contains(input)).OpType);
            Assert.Contains(exported.Graph.Node, n => n.OpType == "QuantizeLinear" && n.Input[0] == node.Output[0]);
        }

        float outputScale = report.Uint8Params[graph.Nodes.Single(n => n.OpType == "Dequantize" && n.Outputs[0] == "y").Inputs[0]].Scale;
        using var session = new InferenceSession(_folder.File("attention.int8.onnx"), new SessionOptions { IntraOpNumThreads = 1 });
        float worst = 0;
        for (int i = 0; i < 32; i++)
        {
            float[] x = AttentionInput(1000 + i);
            using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, new[] { 1, S, H })) });
            float[] ort = results.Single().AsTensor<float>().ToArray();
            float[] ours = ExportedModels.RunReference(graph, x);
            worst = Math.Max(worst, ort.Zip(ours, (a, b) => Math.Abs(a - b)).Max());
        }
        _output.WriteLine($"attention: max |ORT - QuantGen| over 32 inputs: {worst} ({worst / outputScale:F2} output steps of {outputScale})");
        // Same grids; ORT requantizes in float, QuantGen in fixed point (measured here: no difference at all).
        Assert.True(worst <= outputScale + 1e-6f, $"ORT and QuantGen differ by {worst}, more than one output step ({outputScale})");
    }
}
