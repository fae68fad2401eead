using System;
using System.IO;
using System.Linq;
using QuantGen.Compiler;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Generator.Tests;

/// <summary>The sample CNN, generated, compiled, loaded and run against ONNX Runtime on real images.</summary>
public class SampleModelTests
{
    private static string ModelPath(string name) => Path.Combine(ModelFiles.RepoRoot, "samples", "FashionMnist", "Models", name);

    [Theory]
    [InlineData("fashion_cnn.onnx")]
    [InlineData("fashion_cnn_bn.onnx")]
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
}
