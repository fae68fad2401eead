using System;
using System.IO;
using System.Linq;
using FashionMnist;
using QuantGen.Compiler;
using QuantGen.Compiler.Calibration;
using QuantGen.Compiler.Execution;
using QuantGen.Compiler.Ir;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Generator.Tests;

/// <summary>
/// The sample models compiled to INT8 through the generator with their committed calibration files: the generated
/// code equals the compiler's reference executor bit for bit, and top-1 stays within 0.5 point of FP32 on real images.
/// </summary>
public class Int8SampleModelTests
{
    private static string ModelPath(string name) => Path.Combine(ModelFiles.RepoRoot, "samples", "FashionMnist", "Models", name);

    private static (GeneratorRun Run, GeneratorRun FloatRun, Graph Float, Graph Int8) Compile(string file, bool calibrated)
    {
        var bytes = File.ReadAllBytes(ModelPath(file));
        string json = File.ReadAllText(ModelPath(CalibrationFile.DefaultPathFor(file)));
        var additional = calibrated
            ? new Microsoft.CodeAnalysis.AdditionalText[] { ModelFiles.Transport(bytes), new InMemoryAdditionalText("/project/Models/model.calib.json", json) }
            : new Microsoft.CodeAnalysis.AdditionalText[] { ModelFiles.Transport(bytes) };
        var run = GeneratorHarness.Run(new[] { "namespace Tests; [QuantGen.OnnxModel(\"Models/model.onnx\")] public static partial class Model;" }, additional);
        Assert.DoesNotContain(run.AllDiagnostics, d => d.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error);
        Assert.Equal(!calibrated, run.AllDiagnostics.Any(d => d.Id == "QG0021"));

        var floatGraph = ModelCompiler.Prepare(bytes, file);
        var int8Graph = ModelCompiler.Prepare(bytes, file);
        var ranges = calibrated ? CalibrationFile.Read(json).Tensors.ToDictionary(t => t.Key, t => (t.Value.Min, t.Value.Max)) : null;
        ModelCompiler.Quantize(int8Graph, new CompilerOptions { Precision = Precision.Int8, CalibrationRanges = ranges });
        var floatRun = GeneratorHarness.RunModel(bytes, "FloatModel");
        return (run, floatRun, floatGraph, int8Graph);
    }

    [Theory]
    [InlineData("fashion_cnn.onnx", true)]
    [InlineData("fashion_cnn.onnx", false)]
    [InlineData("fashion_mlp.onnx", true)]
    [InlineData("fashion_mlp.onnx", false)]
    [InlineData("fashion_resnet.onnx", true)]
    public void Generated_int8_code_equals_the_reference_bit_for_bit_and_keeps_accuracy(string file, bool calibrated)
    {
        var (run, floatRun, floatGraph, int8Graph) = Compile(file, calibrated);
        using var model = LoadedModel.Load(run, floatGraph);
        using var floatModel = LoadedModel.Load(floatRun, floatGraph, "FloatModel");
        var data = FashionMnistData.LoadTest();
        int count = Math.Min(1000, data.Count);

        int floatCorrect = 0, int8Correct = 0;
        for (int i = 0; i < count; i++)
        {
            var actual = (float[])model.Run(data.Images[i])[0];
            // The scalar reference is slow: check bit-exactness on a prefix of the images.
            if (i < 50)
            {
                var expected = ReferenceExecutor.RunOutputs(int8Graph, new[] { Tensor.FromFloats(new[] { 1, 1, 28, 28 }, data.Images[i]) })[0].Floats!;
                Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));
            }
            var reference = (float[])floatModel.Run(data.Images[i])[0];
            if (ArgMax(reference) == data.Labels[i]) floatCorrect++;
            if (ArgMax(actual) == data.Labels[i]) int8Correct++;
        }
        double drop = 100.0 * (floatCorrect - int8Correct) / count;
        Assert.True(drop <= 0.5, $"{file}: INT8 top-1 {100.0 * int8Correct / count:F2}% vs FP32 {100.0 * floatCorrect / count:F2}% on {count} images");
    }

    private static int ArgMax(float[] values) => Array.IndexOf(values, values.Max());
}
