using System;
using System.Linq;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Ops.OpCheck;

namespace QuantGen.Compiler.Tests.Ops;

/// <summary>The batch-1 transformer ops in the patterns exporters write, in FP32 and compiled the default way (Int8, no calibration).</summary>
public class TransformerPatternTests
{
    /// <summary>LayerNorm over the last axis as PyTorch exports it below opset 17, then a projection and the erf Gelu.</summary>
    private static byte[] DecomposedLayerNormBlock()
    {
        var axes = OnnxAttribute.Ints("axes", -1);
        return new OnnxModelBuilder(opset: 13)
            .Input("x", 3, 16)
            .Initializer("two", new long[0], new[] { 2f })
            .Initializer("eps", new long[0], new[] { 1e-5f })
            .Initializer("gamma", new long[] { 16 }, Floats(16, 11, 1f))
            .Initializer("beta", new long[] { 16 }, Floats(16, 12, 0.1f))
            .Initializer("w", new long[] { 16, 16 }, Floats(256, 13, 0.3f))
            .Initializer("sqrt2", new long[0], new[] { 1.4142135f })
            .Initializer("one", new long[0], new[] { 1f })
            .Initializer("half", new long[0], new[] { 0.5f })
            .Node("mean", "ReduceMean", new[] { "x" }, new[] { "mu" }, axes)
            .Node("center", "Sub", new[] { "x", "mu" }, new[] { "d" })
            .Node("square", "Pow", new[] { "d", "two" }, new[] { "d2" })
            .Node("variance", "ReduceMean", new[] { "d2" }, new[] { "var" }, axes)
            .Node("add_eps", "Add", new[] { "var", "eps" }, new[] { "ve" })
            .Node("std", "Sqrt", new[] { "ve" }, new[] { "sd" })
            .Node("normalize", "Div", new[] { "d", "sd" }, new[] { "n" })
            .Node("scale", "Mul", new[] { "n", "gamma" }, new[] { "ns" })
            .Node("shift", "Add", new[] { "ns", "beta" }, new[] { "ln" })
            .Node("proj", "MatMul", new[] { "ln", "w" }, new[] { "h" })
            .Node("div", "Div", new[] { "h", "sqrt2" }, new[] { "hs" })
            .Node("erf", "Erf", new[] { "hs" }, new[] { "e" })
            .Node("add_one", "Add", new[] { "e", "one" }, new[] { "e1" })
            .Node("mul", "Mul", new[] { "h", "e1" }, new[] { "g" })
            .Node("mul_half", "Mul", new[] { "g", "half" }, new[] { "y" })
            .Result("y")
            .ToBytes();
    }

    [Fact]
    public void A_decomposed_LayerNorm_and_erf_Gelu_block_matches_OnnxRuntime()
    {
        var x = Floats(48, 14, 3f);
        for (int i = 0; i < 16; i++) x[i] += 100f; // a large mean: the centring must happen before the square
        Matches(DecomposedLayerNormBlock(), x);
    }

    [Fact]
    public void The_decomposed_LayerNorm_block_in_INT8_is_fused_and_keeps_its_statistics_in_float()
    {
        var model = DecomposedLayerNormBlock();
        var x = Floats(48, 14, 3f);
        float[] expected;
        using (var ort = new OnnxRuntimeReference(model))
            expected = (float[])ort.Run(new Array[] { x }, new[] { new[] { 3, 16 } })[0];
        var run = GeneratorHarness.RunModel(model, className: "LayerNormInt8", attributeArguments: "");
        Assert.DoesNotContain(run.AllDiagnostics, d => d.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error);
        string code = string.Join("\n", run.Sources.Values);
        Assert.Contains("// QGemm 'proj'", code);
        // FuseLayerNormalization turns the ReduceMean/Sub/Pow/Sqrt/Div chain into one float LayerNormalization kernel.
        Assert.Contains("// LayerNormalization '", code);
        Assert.DoesNotContain("// Pow 'square'", code);
        Assert.DoesNotContain("// Sqrt 'std'", code);
        using var loaded = LoadedModel.Load(run, ModelCompiler.Prepare(model, "model.onnx"), "LayerNormInt8");
        var actual = (float[])loaded.Run(x)[0];
        float scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 0.03f * scale, $"element {i}: INT8 {actual[i]}, ONNX Runtime {expected[i]}");
    }

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

    [Fact]
    public void An_additive_causal_mask_stays_float_in_the_default_INT8_build()
    {
        // scores + mask, the mask -inf above the diagonal (folded from Trilu/Where): a uint8 grid cannot hold -inf and a
        // finite score range at once, so the Add must not become an integer QAdd.
        var one = BitConverter.GetBytes(1L);
        var model = new OnnxModelBuilder(opset: 17)
            .Input("q", 1, 6, 8)
            .Initializer("wk", new long[] { 8, 6 }, Floats(48, 21, 0.5f))
            .Initializer("shape", new long[] { 2 }, new long[] { 6, 6 })
            .Initializer("zero", new long[0], new long[] { 0 })
            .Initializer("minus_inf", new long[0], new[] { float.NegativeInfinity })
            .Initializer("zero_f", new long[0], new[] { 0f })
            .Node("scores", "MatMul", new[] { "q", "wk" }, new[] { "s" })
            .Node("ones", "ConstantOfShape", new[] { "shape" }, new[] { "o" }, OnnxAttribute.TensorValue("value", OnnxModelBuilder.ElementType.Int64, new long[] { 1 }, one))
            .Node("tril", "Trilu", new[] { "o" }, new[] { "t" }, OnnxAttribute.Int("upper", 0))
            .Node("future", "Equal", new[] { "t", "zero" }, new[] { "f" })
            .Node("mask", "Where", new[] { "f", "minus_inf", "zero_f" }, new[] { "m" })
            .Node("masked", "Add", new[] { "s", "m" }, new[] { "sm" })
            .Node("softmax", "Softmax", new[] { "sm" }, new[] { "y" }, OnnxAttribute.Int("axis", -1))
            .Result("y")
            .ToBytes();
        var q = Floats(48, 22, 2f);
        float[] expected;
        using (var ort = new OnnxRuntimeReference(model))
            expected = (float[])ort.Run(new Array[] { q }, new[] { new[] { 1, 6, 8 } })[0];
        var run = GeneratorHarness.RunModel(model, className: "CausalInt8", attributeArguments: "");
        Assert.DoesNotContain(run.AllDiagnostics, d => d.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error);
        using var loaded = LoadedModel.Load(run, ModelCompiler.Prepare(model, "model.onnx"), "CausalInt8");
        var actual = (float[])loaded.Run(q)[0];
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 0.05f, $"element {i}: INT8 {actual[i]}, ONNX Runtime {expected[i]}");
        for (int row = 0; row < 6; row++)
            for (int col = row + 1; col < 6; col++)
                Assert.Equal(0f, actual[row * 6 + col]); // the future stays masked exactly
    }
}
