using System;
using System.Linq;
using QuantGen.Compiler.Calibration;
using QuantGen.Compiler.Export;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Testing.OnnxModelBuilder;

namespace QuantGen.Compiler.Tests.Quantization;

/// <summary>
/// A transformer's GELU, exported as torch writes it below opset 20 (Div/Erf/Add/Mul/Mul), is fused into one Gelu node
/// by the compiler; the QDQ export must write it back in the decomposed form, since Gelu is not an ONNX op before
/// opset 20 (ONNX Runtime refused the BERT-base export: "No Op registered for Gelu with domain_version of 17").
/// </summary>
public class QdqGeluExportTests
{
    [Fact]
    public void Gelu_below_opset_20_is_exported_decomposed_and_ONNX_Runtime_agrees()
    {
        var model = new OnnxModelBuilder(opset: 17)
            .Input("x", 4, 16)
            .Initializer("w", new long[] { 16, 32 }, RandomFloats(16 * 32, seed: 31))
            .Initializer("sqrt2", Array.Empty<long>(), new[] { 1.4142135f })
            .Initializer("one", Array.Empty<long>(), new[] { 1f })
            .Initializer("half", Array.Empty<long>(), new[] { 0.5f })
            .Node("/intermediate/MatMul", "MatMul", new[] { "x", "w" }, new[] { "h" })
            .Node("/gelu/Div", "Div", new[] { "h", "sqrt2" }, new[] { "d" })
            .Node("/gelu/Erf", "Erf", new[] { "d" }, new[] { "e" })
            .Node("/gelu/Add", "Add", new[] { "e", "one" }, new[] { "a" })
            .Node("/gelu/Mul", "Mul", new[] { "h", "a" }, new[] { "m" })
            .Node("/gelu/Mul_1", "Mul", new[] { "m", "half" }, new[] { "y" })
            .Output("y", 4, 32)
            .ToBytes();
        var input = RandomFloats(64, seed: 32, scale: 2f);
        string json = Calibrator.Calibrate(model, "m.onnx", new[] { input }, CalibrationMethod.MinMax).Write();

        var export = QdqExporter.Export(model, new CompilerOptions { ModelPath = "m.onnx", Precision = Precision.Int8, CalibrationJson = json });
        Assert.Contains(export.Quantized.Nodes, n => n.OpType == "Gelu");

        var expected = QuantTestKit.Reference(export.Quantized, input)[0].Floats!;
        using var ort = new OnnxRuntimeReference(export.Model);
        var actual = ort.Run(new[] { input }, new[] { new[] { 4, 16 } })[0];
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-3f, $"element {i}: ORT on the QDQ export {actual[i]}, QuantGen INT8 {expected[i]}");
    }
}
