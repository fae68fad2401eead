using System;
using System.Linq;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Ops.OpCheck;

namespace QuantGen.Compiler.Tests.Ops;

/// <summary>The batch-1 transformer ops inside a model compiled the default way (Int8, no calibration): they stay float around the integer MatMul.</summary>
public class TransformerOpsInt8Tests
{
    [Fact]
    public void A_masked_gelu_block_compiles_to_INT8_and_follows_OnnxRuntime()
    {
        var weights = Floats(64, 7, 0.5f);
        var model = new OnnxModelBuilder(opset: 20)
            .Input("x", 4, 8).LongInput("mask", 4, 1)
            .Initializer("w", new long[] { 8, 8 }, weights)
            .Initializer("zero", new long[0], new long[] { 0 })
            .Initializer("minus_big", new long[0], new[] { -10000f })
            .Initializer("two", new long[0], new[] { 2f })
            .Node("proj", "MatMul", new[] { "x", "w" }, new[] { "h" })
            .Node("gelu", "Gelu", new[] { "h" }, new[] { "g" })
            .Node("square", "Pow", new[] { "g", "two" }, new[] { "p" })
            .Node("root", "Sqrt", new[] { "p" }, new[] { "r" })
            .Node("is_pad", "Equal", new[] { "mask", "zero" }, new[] { "pad" })
            .Node("masked", "Where", new[] { "pad", "minus_big", "r" }, new[] { "m" })
            .Node("softmax", "Softmax", new[] { "m" }, new[] { "y" }, OnnxAttribute.Int("axis", -1))
            .Result("y")
            .ToBytes();
        var x = Floats(32, 8, 2f);
        var mask = new long[] { 1, 0, 1, 1 };
        float[] expected;
        using (var ort = new OnnxRuntimeReference(model))
            expected = (float[])ort.Run(new Array[] { x, mask }, new[] { new[] { 4, 8 }, new[] { 4, 1 } })[0];

        var run = GeneratorHarness.RunModel(model, className: "Int8Block", attributeArguments: "");
        Assert.Contains(run.Sources, s => s.Value.Contains("// QGemm 'proj'", StringComparison.Ordinal)); // the MatMul did go to INT8
        Assert.DoesNotContain(run.AllDiagnostics, d => d.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error);
        using var loaded = LoadedModel.Load(run, ModelCompiler.Prepare(model, "model.onnx"), "Int8Block");
        var actual = (float[])loaded.Run(x, mask)[0];
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 0.05f, $"element {i}: INT8 {actual[i]}, ONNX Runtime {expected[i]}");
        Assert.Equal(1f, actual.Skip(8).Take(8).Sum(), 3); // the padded row is uniform, not NaN
    }
}
