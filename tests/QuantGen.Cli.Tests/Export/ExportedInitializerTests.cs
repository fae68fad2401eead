using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using QuantGen.Compiler.Onnx.Proto;
using Xunit;

namespace QuantGen.Cli.Tests.Export;

/// <summary>
/// What the exported file carries, read back with the compiler's own ONNX message classes and compared with the INT8
/// graph the build makes (built without the exporter): the int8 weights, per-channel scales and int32 biases of every
/// integer layer, and the scale and zero point of every uint8 tensor, bit for bit.
/// </summary>
public sealed class ExportedInitializerTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData("fashion_cnn", 4)]
    [InlineData("fashion_mlp", 3)]
    [InlineData("fashion_resnet", 10)]
    public void Weights_scales_biases_and_activation_parameters_are_quantgens(string name, int integerLayers)
    {
        var model = Export(name);
        var (_, report) = ExportedModels.BuildInt8(name);
        var initializers = model.Graph.Initializer.ToDictionary(t => t.Name);

        Assert.Equal(integerLayers, report.Weights.Count);
        foreach (var (node, w) in report.Weights)
        {
            var values = initializers[node + ".weight_int8"];
            Assert.Equal(3, values.DataType); // int8
            Assert.Equal(w.Shape.Select(d => (long)d), values.Dims);
            Assert.Equal(w.Weights.Values, values.RawData.ToByteArray().Select(b => unchecked((sbyte)b)));
            Assert.Equal(w.Weights.Scales, Floats(initializers[node + ".weight_scale"]));
            Assert.All(initializers[node + ".weight_zero_point"].RawData.ToByteArray(), b => Assert.Equal(0, b));

            var dequantize = model.Graph.Node.Single(n => n.OpType == "DequantizeLinear" && n.Input[0] == node + ".weight_int8");
            Assert.Equal(0, dequantize.Attribute.Single(a => a.Name == "axis").I);

            Assert.NotNull(w.Bias);
            var bias = initializers[node + ".bias_int32"];
            Assert.Equal(6, bias.DataType); // int32
            Assert.Equal(w.Bias!, Int32s(bias).Select(v => (long)v));
            float[] expectedBiasScales = w.Weights.Scales.Select(s => (float)((double)w.Input.Scale * s)).ToArray();
            Assert.Equal(expectedBiasScales, Floats(initializers[node + ".bias_scale"]));
        }

        // Every uint8 tensor of the INT8 graph is the output of one QuantizeLinear on its grid, and nothing else is.
        var quantizers = model.Graph.Node.Where(n => n.OpType == "QuantizeLinear").ToList();
        Assert.Equal(report.Uint8Params.Count, quantizers.Count);
        foreach (var (u8, p) in report.Uint8Params)
        {
            string onnxName = u8.Replace("::u8", "_quantized", StringComparison.Ordinal);
            var q = quantizers.Single(n => n.Output[0] == onnxName);
            Assert.Equal(new[] { p.Scale }, Floats(initializers[q.Input[1]]));
            var zeroPoint = initializers[q.Input[2]];
            Assert.Equal(2, zeroPoint.DataType); // uint8
            Assert.Equal(new[] { (byte)p.ZeroPoint }, zeroPoint.RawData.ToByteArray());
        }

        // No float weights remain: every Conv/Gemm reads its weights through a DequantizeLinear.
        var produced = model.Graph.Node.SelectMany(n => n.Output.Select(o => (o, n.OpType))).ToDictionary(x => x.o, x => x.OpType);
        foreach (var op in model.Graph.Node.Where(n => n.OpType is "Conv" or "Gemm"))
            Assert.Equal("DequantizeLinear", produced[op.Input[1]]);
        Assert.Equal(13, model.OpsetImport.Single(o => o.Domain == "").Version);
    }

    [Fact]
    public void A_node_listed_in_keep_float_stays_float_with_its_original_weights()
    {
        const string last = "/classifier/classifier.4/Gemm";
        string output = _folder.File("cnn.int8.onnx");
        var result = CliResult.Run("export", ExportedModels.ModelPath("fashion_cnn"), "--calibration", ExportedModels.CalibrationPath("fashion_cnn"),
            "--keep-float", last, "-o", output);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"  float: {last} (Gemm: listed in KeepFloat)", result.Out.Split('\n'));

        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(output));
        var gemm = model.Graph.Node.Single(n => n.Name == last);
        var initializers = model.Graph.Initializer.ToDictionary(t => t.Name);
        Assert.Equal(1, initializers[gemm.Input[1]].DataType); // float weights, straight from the model
        Assert.DoesNotContain(initializers.Keys, k => k.StartsWith(last + ".", StringComparison.Ordinal));
        // Its input is dequantized from the uint8 tensor the previous layer writes; its output is the float graph output.
        Assert.Equal("DequantizeLinear", model.Graph.Node.Single(n => n.Output.Contains(gemm.Input[0])).OpType);
        Assert.Equal(model.Graph.Output.Single().Name, gemm.Output.Single());
    }

    private ModelProto Export(string name)
    {
        string output = _folder.File(name + ".int8.onnx");
        var result = CliResult.Run("export", ExportedModels.ModelPath(name), "--calibration", ExportedModels.CalibrationPath(name), "--output", output);
        Assert.True(result.ExitCode == 0, result.ToString());
        return ModelProto.Parser.ParseFrom(File.ReadAllBytes(output));
    }

    private static float[] Floats(TensorProto t)
    {
        Assert.Equal(1, t.DataType);
        byte[] raw = t.RawData.ToByteArray();
        return Enumerable.Range(0, raw.Length / 4).Select(i => BitConverter.ToSingle(raw, i * 4)).ToArray();
    }

    private static int[] Int32s(TensorProto t)
    {
        byte[] raw = t.RawData.ToByteArray();
        return Enumerable.Range(0, raw.Length / 4).Select(i => BitConverter.ToInt32(raw, i * 4)).ToArray();
    }
}
