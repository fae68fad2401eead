using System.IO;
using System.Linq;
using QuantGen.Compiler.Calibration;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Generator.Tests;

/// <summary>Approved snapshots of INT8 generated code: a calibrated tiny CNN (every file) and the sample CNN's kernels.</summary>
public class Int8SnapshotTests
{
    private static GeneratorRun RunCalibrated(byte[] model, string className, string modelPath, string calibrationJson)
    {
        string source = $$"""
            namespace Tests;

            [QuantGen.OnnxModel("{{modelPath}}")]
            public static partial class {{className}};
            """;
        return GeneratorHarness.Run(new[] { source }, new Microsoft.CodeAnalysis.AdditionalText[]
        {
            ModelFiles.Transport(model, modelPath),
            new InMemoryAdditionalText("/project/" + CalibrationFile.DefaultPathFor(modelPath), calibrationJson),
        });
    }

    [Fact]
    public void Tiny_cnn_int8_all_generated_files()
    {
        var model = SnapshotTests.TinyCnn();
        var rng = new System.Random(5);
        var samples = Enumerable.Range(0, 16).Select(_ => Enumerable.Range(0, 36).Select(_ => (float)rng.NextDouble()).ToArray());
        string json = Calibrator.Calibrate(model, "tiny_cnn.onnx", samples).Write();
        var run = RunCalibrated(model, "TinyInt8", "Models/tiny_cnn.onnx", json);
        Assert.Empty(run.AllDiagnostics);
        foreach (var (hint, text) in run.Sources.OrderBy(s => s.Key, System.StringComparer.Ordinal))
            SnapshotAssert.Matches(Path.GetFileNameWithoutExtension(hint), Scrub(text));
    }

    [Fact]
    public void Fashion_cnn_int8_main_and_kernel_files()
    {
        string models = Path.Combine(ModelFiles.RepoRoot, "samples", "FashionMnist", "Models");
        var run = RunCalibrated(File.ReadAllBytes(Path.Combine(models, "fashion_cnn.onnx")), "FashionInt8", "Models/fashion_cnn.onnx",
            File.ReadAllText(Path.Combine(models, "fashion_cnn.calib.json")));
        Assert.Empty(run.AllDiagnostics);
        SnapshotAssert.Matches("Tests.FashionInt8.g", Scrub(run.Sources["Tests.FashionInt8.g.cs"]));
        SnapshotAssert.Matches("Tests.FashionInt8.Kernels.g", Scrub(run.Sources["Tests.FashionInt8.Kernels.g.cs"]));
    }

    private static string Scrub(string text) =>
        text.Replace("// QuantGen " + typeof(QuantGen.Compiler.ModelCompiler).Assembly.GetName().Version!.ToString(3) + ":", "// QuantGen {version}:", System.StringComparison.Ordinal);
}
