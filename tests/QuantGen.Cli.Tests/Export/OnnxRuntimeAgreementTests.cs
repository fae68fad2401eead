using System;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using QuantGen.Compiler.Onnx.Proto;
using Xunit;
using Xunit.Abstractions;

namespace QuantGen.Cli.Tests.Export;

/// <summary>
/// The QDQ model <c>quantgen export</c> writes, run by ONNX Runtime (its INT8 kernels, one thread), against QuantGen's
/// INT8 reference (the reference executor over the build's INT8 graph) on the 1,000 committed test images.
/// Both use the same scales and int8 weights; they differ only in how they requantize (ORT in float, QuantGen in
/// fixed point), so a class may flip where two logits are within a step of each other.
/// </summary>
public sealed class OnnxRuntimeAgreementTests : IDisposable
{
    private const double MinimumAgreement = 0.99;

    private readonly TempFolder _folder = new();
    private readonly ITestOutputHelper _output;

    public OnnxRuntimeAgreementTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData("fashion_cnn", 1000)]
    [InlineData("fashion_mlp", 1000)]
    [InlineData("fashion_resnet", 1000)]
    [InlineData("fashion_vit", 200)] // QMatMul, bias Adds in QGemm, Split and views on uint8, float LayerNorm/Softmax/Gelu; a slower reference
    public void Onnx_runtime_int8_top1_agrees_with_quantgen_int8_on_99_percent_of_the_test_images(string name, int images)
    {
        string exported = Export(name);
        var (int8, _) = ExportedModels.BuildInt8(name);
        var all = ExportedModels.TestImages;
        var data = (Count: Math.Min(images, all.Count), all.Images, all.Labels);
        var shape = int8[int8.Inputs[0]].Shape!;

        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(exported, options);
        string inputName = session.InputNames.Single();
        int agree = 0, ortCorrect = 0, quantGenCorrect = 0;
        for (int i = 0; i < data.Count; i++)
        {
            float[] image = data.Images[i];
            using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor(inputName, new DenseTensor<float>(image, shape)) });
            float[] ort = results.Single().AsTensor<float>().ToArray();
            float[] ours = ExportedModels.RunReference(int8, image);
            int ortClass = ExportedModels.ArgMax(ort), ourClass = ExportedModels.ArgMax(ours);
            if (ortClass == ourClass) agree++;
            if (ortClass == data.Labels[i]) ortCorrect++;
            if (ourClass == data.Labels[i]) quantGenCorrect++;
        }

        double agreement = (double)agree / data.Count;
        _output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name}: ORT INT8 (QDQ) and QuantGen INT8 agree on {agree}/{data.Count} ({agreement:P2}); top-1 ORT {ortCorrect / (double)data.Count:P1}, QuantGen {quantGenCorrect / (double)data.Count:P1}"));
        Assert.True(agreement >= MinimumAgreement, $"{name}: ORT INT8 agrees with QuantGen INT8 on {agree}/{data.Count} images only");
    }

    [Fact]
    public void A_conv_kept_in_float_is_float_in_onnx_runtime_too_and_the_answers_still_agree()
    {
        // The second Conv (with its fused Relu) stays float: the export dequantizes its input, runs Conv and Relu in float,
        // and quantizes its output for the MaxPool after it, where QuantGen places its Dequantize and Quantize.
        const string conv = "/features/features.4/Conv";
        string exported = _folder.File("cnn_keep.int8.onnx");
        var result = CliResult.Run("export", ExportedModels.ModelPath("fashion_cnn"), "-c", ExportedModels.CalibrationPath("fashion_cnn"), "--keep-float", conv, "-o", exported);
        Assert.True(result.ExitCode == 0, result.ToString());
        var (int8, report) = ExportedModels.BuildInt8("fashion_cnn", new[] { conv });
        Assert.Contains(report.FloatNodes, f => f.Node == conv);

        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(exported));
        var node = model.Graph.Node.Single(n => n.Name == conv);
        Assert.Equal(1, model.Graph.Initializer.Single(t => t.Name == node.Input[1]).DataType);
        Assert.Single(model.Graph.Node, n => n.OpType == "Relu" && n.Input[0] == node.Output[0]);

        var data = ExportedModels.TestImages;
        var shape = int8[int8.Inputs[0]].Shape!;
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var session = new InferenceSession(exported, options);
        int count = 200, agree = 0;
        for (int i = 0; i < count; i++)
        {
            using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor(session.InputNames.Single(), new DenseTensor<float>(data.Images[i], shape)) });
            if (ExportedModels.ArgMax(results.Single().AsTensor<float>().ToArray()) == ExportedModels.ArgMax(ExportedModels.RunReference(int8, data.Images[i]))) agree++;
        }
        _output.WriteLine($"fashion_cnn with {conv} in float: ORT and QuantGen agree on {agree}/{count}");
        Assert.True(agree >= MinimumAgreement * count, $"{agree}/{count}");
    }

    [Theory]
    [InlineData("fashion_cnn", "QLinearConv")]
    [InlineData("fashion_mlp", "QGemm")]
    [InlineData("fashion_resnet", "QLinearConv")]
    public void Onnx_runtime_turns_the_exported_pairs_into_its_integer_kernels(string name, string integerOp)
    {
        // ORT fuses QDQ node units at level 2 (extended); level 99 would add its layout transforms on top. The file it writes is what it runs.
        string optimized = _folder.File(name + ".ort.onnx");
        using (var options = new SessionOptions { IntraOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED, OptimizedModelFilePath = optimized })
        using (new InferenceSession(Export(name), options))
        {
        }

        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized)).Graph;
        var ops = graph.Node.Select(n => n.OpType).ToList();
        _output.WriteLine($"{name}, as ONNX Runtime runs it: {string.Join(", ", ops)}");
        Assert.Contains(integerOp, ops);
        Assert.DoesNotContain("Conv", ops);
        Assert.DoesNotContain("Gemm", ops);
        Assert.DoesNotContain("MatMul", ops);
    }

    private string Export(string name)
    {
        string output = _folder.File(name + ".int8.onnx");
        var result = CliResult.Run("export", ExportedModels.ModelPath(name), "--calibration", ExportedModels.CalibrationPath(name), "--output", output);
        Assert.True(result.ExitCode == 0, result.ToString());
        return output;
    }
}
