using System;
using System.IO;
using System.Linq;
using FashionMnist;
using QuantGen.Compiler;
using QuantGen.Compiler.Calibration;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Generator.Tests;

/// <summary>The sample models (the CNN, and the ViT at both opsets), generated, compiled, loaded and run against ONNX Runtime.</summary>
public class SampleModelTests
{
    private static string ModelPath(string name) => Path.Combine(ModelFiles.RepoRoot, "samples", "FashionMnist", "Models", name);

    [Theory]
    [InlineData("fashion_cnn.onnx")]
    [InlineData("fashion_cnn_bn.onnx")]
    [InlineData("fashion_vit.onnx")]
    [InlineData("fashion_vit_opset13.onnx")]
    public void Generated_code_matches_OnnxRuntime(string file)
    {
        var bytes = File.ReadAllBytes(ModelPath(file));
        var run = GeneratorHarness.RunModel(bytes);
        Assert.Empty(run.AllDiagnostics);
        var graph = ModelCompiler.Prepare(bytes, file);
        using var model = LoadedModel.Load(run, graph);
        using var ort = new OnnxRuntimeReference(bytes);

        var random = new Random(1);
        for (int sample = 0; sample < 8; sample++)
        {
            var input = Enumerable.Range(0, 784).Select(_ => (float)random.NextDouble()).ToArray();
            var expected = ort.Run(new[] { input }, new[] { new[] { 1, 1, 28, 28 } })[0];
            var actual = (float[])model.Run(input)[0];
            TensorAssert.Close(expected, actual, 1e-4f);
        }
    }

    /// <summary>
    /// The sample's FP32 top-1 on real test images (the full set when dataset-fashion-mnist is installed, else the
    /// committed 1,000) equals ONNX Runtime's, and every logit is within 1e-4 of the output's magnitude.
    /// </summary>
    [Fact]
    public void Sample_top1_equals_OnnxRuntime_on_the_test_set()
    {
        var bytes = File.ReadAllBytes(ModelPath("fashion_cnn.onnx"));
        var run = GeneratorHarness.RunModel(bytes);
        Assert.Empty(run.AllDiagnostics);
        using var model = LoadedModel.Load(run, ModelCompiler.Prepare(bytes, "fashion_cnn.onnx"));
        using var ort = new OnnxRuntimeReference(bytes);
        var data = FashionMnistData.LoadTest();

        int oursCorrect = 0, ortCorrect = 0;
        for (int i = 0; i < data.Count; i++)
        {
            var expected = ort.Run(new[] { data.Images[i] }, new[] { new[] { 1, 1, 28, 28 } })[0];
            var actual = (float[])model.Run(data.Images[i])[0];
            TensorAssert.Close(expected, actual, 1e-4f);
            if (ArgMax(expected) == data.Labels[i]) ortCorrect++;
            if (ArgMax(actual) == data.Labels[i]) oursCorrect++;
        }
        Assert.Equal(ortCorrect, oursCorrect);
    }

    private static int ArgMax(float[] values) => Array.IndexOf(values, values.Max());

    /// <summary>
    /// The committed calibration files are what the in-process calibrator computes (min/max) over the committed 512
    /// training images; a stale one is rewritten and the test fails, so commit the new file.
    /// </summary>
    [Theory]
    [InlineData("fashion_cnn.onnx")]
    [InlineData("fashion_mlp.onnx")]
    [InlineData("fashion_resnet.onnx")]
    [InlineData("fashion_vit.onnx")]
    public void Committed_calibration_files_are_up_to_date(string file)
    {
        var bytes = File.ReadAllBytes(ModelPath(file));
        var images = FashionMnistData.FromFiles(SlicePath("train-images-idx3-ubyte.slice512.gz"), SlicePath("train-labels-idx1-ubyte.slice512.gz"));
        string json = Calibrator.Calibrate(bytes, file, images.Images).Write();
        string path = ModelPath(CalibrationFile.DefaultPathFor(file));
        string committed = File.Exists(path) ? File.ReadAllText(path) : "";
        if (committed != json)
        {
            File.WriteAllText(path, json);
            Assert.Fail($"{path} was out of date; it has been rewritten: commit it.");
        }
    }

    private static string SlicePath(string name) => Path.Combine(ModelFiles.RepoRoot, "samples", "FashionMnist", "Data", name);
}
