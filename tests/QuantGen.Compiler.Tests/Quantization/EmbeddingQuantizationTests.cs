using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Calibration;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Export;
using QuantGen.Compiler.Execution;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Passes;
using QuantGen.Compiler.Quantization;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Testing.OnnxModelBuilder;

namespace QuantGen.Compiler.Tests.Quantization;

/// <summary>
/// INT8 token embeddings (QuantizeEmbeddings, QGatherRows): a large Gather table becomes int8 rows with a scale each, in
/// static and dynamic INT8; the generated code equals the reference bit for bit, stays close to the float model and
/// rejects ids outside the table as Gather does.
/// </summary>
public class EmbeddingQuantizationTests
{
    private const int Vocab = 1024, Hidden = 96, Sequence = 8; // 98,304 table elements: past QuantizeEmbeddings.MinElements

    private static byte[] Model(int vocab = Vocab) => new OnnxModelBuilder(opset: 13)
        .TypedInput("input_ids", ElementType.Int64, 1, Sequence)
        .Initializer("embeddings.weight", new long[] { vocab, Hidden }, RandomFloats(vocab * Hidden, seed: 21, scale: 0.1f))
        .Initializer("classifier.weight", new long[] { Hidden, 3 }, RandomFloats(Hidden * 3, seed: 22))
        .Node("/embeddings/Gather", "Gather", new[] { "embeddings.weight", "input_ids" }, new[] { "tokens" }, OnnxAttribute.Int("axis", 0))
        .Node("/pool/ReduceMean", "ReduceMean", new[] { "tokens" }, new[] { "pooled" }, OnnxAttribute.Ints("axes", 1), OnnxAttribute.Int("keepdims", 0))
        .Node("/classifier/MatMul", "MatMul", new[] { "pooled", "classifier.weight" }, new[] { "logits" })
        .Output("logits")
        .ToBytes();

    private static readonly long[] Ids = { 101, 5, -1, 1023, 0, 77, 512, 102 };

    /// <summary>The INT8 graph: dynamic without ranges, static with every float tensor's range over one run.</summary>
    private static (Graph Graph, QuantizationReport Report) Quantized(bool calibrated, byte[]? model = null, params string[] keepFloat)
    {
        model ??= Model();
        var graph = ModelCompiler.Prepare(model, "m.onnx");
        Dictionary<string, (float, float)>? ranges = null;
        if (calibrated)
        {
            var values = ReferenceExecutor.Run(graph, new[] { Ir.Tensor.FromLongs(DataType.Int64, new[] { 1, Sequence }, Ids) });
            ranges = values.Where(v => v.Value.Floats != null).ToDictionary(v => v.Key, v => (v.Value.Floats!.Min(), v.Value.Floats!.Max()));
        }
        var report = ModelCompiler.Quantize(graph, new CompilerOptions { Precision = Precision.Int8, CalibrationRanges = ranges, KeepFloat = keepFloat });
        return (graph, report);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_large_table_becomes_int8_rows_with_a_scale_each(bool calibrated)
    {
        var (graph, report) = Quantized(calibrated);

        Assert.DoesNotContain(graph.Nodes, n => n.OpType == "Gather");
        var gather = Assert.Single(graph.Nodes, n => n.OpType == "QGatherRows");
        var expected = PerChannelWeights.Quantize(RandomFloats(Vocab * Hidden, seed: 21, scale: 0.1f), Vocab);
        Assert.Equal(DataType.Int8, graph[gather.Inputs[0]].Type);
        Assert.Equal(expected.Values.Select(v => (long)v), graph[gather.Inputs[0]].Constant!.Longs!);
        Assert.Equal(expected.Scales, graph[gather.Inputs[2]].Constant!.Floats!);
        Assert.Contains("/embeddings/Gather", report.QuantizedNodes);
        Assert.DoesNotContain(report.FloatNodes, f => f.Node == "/embeddings/Gather");
        // The weights the kernels read: a quarter of the table's float bytes, plus a scale per row.
        Assert.Equal(Vocab * Hidden + Vocab * 4, graph[gather.Inputs[0]].Length + graph[gather.Inputs[2]].Length * 4);
    }

    [Fact]
    public void Small_tables_and_KeepFloat_stay_float()
    {
        Assert.Single(Quantized(false, Model(vocab: 100)).Graph.Nodes, n => n.OpType == "Gather");
        Assert.Single(Quantized(true, null, "/embeddings/Gather").Graph.Nodes, n => n.OpType == "Gather");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Generated_code_equals_the_reference_and_stays_close_to_float(bool calibrated)
    {
        var (graph, _) = Quantized(calibrated);
        using var generated = GeneratedModel.Emit(graph);
        var actual = (float[])generated.Run(Ids)[0];
        QuantTestKit.BitExact(QuantTestKit.Reference(graph, Ids)[0], actual, "logits");

        var floatGraph = ModelCompiler.Prepare(Model(), "m.onnx");
        var expected = QuantTestKit.Reference(floatGraph, Ids)[0].Floats!;
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) < 0.02f, $"logit {i}: INT8 {actual[i]}, float {expected[i]}");
    }

    [Fact]
    public void The_rows_are_the_int8_values_times_their_scale()
    {
        var (graph, _) = Quantized(false);
        var gather = Assert.Single(graph.Nodes, n => n.OpType == "QGatherRows");
        var rows = ReferenceExecutor.Run(graph, new[] { Ir.Tensor.FromLongs(DataType.Int64, new[] { 1, Sequence }, Ids) })[gather.Outputs[0]];
        var table = RandomFloats(Vocab * Hidden, seed: 21, scale: 0.1f);
        var q = PerChannelWeights.Quantize(table, Vocab);
        for (int j = 0; j < Ids.Length; j++)
        {
            long k = Ids[j] < 0 ? Ids[j] + Vocab : Ids[j];
            for (int r = 0; r < Hidden; r++)
            {
                Assert.Equal(q.Values[k * Hidden + r] * q.Scales[k], rows.Floats![j * Hidden + r]);
                Assert.True(Math.Abs(rows.Floats[j * Hidden + r] - table[k * Hidden + r]) <= q.Scales[k] / 2 * 1.0001f);
            }
        }
    }

    [Fact]
    public void An_id_outside_the_table_throws_naming_the_parameter()
    {
        var (graph, _) = Quantized(false);
        using var generated = GeneratedModel.Emit(graph);
        var ids = (long[])Ids.Clone();
        ids[3] = Vocab;
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => generated.Run(ids));
        Assert.Equal("input", e.ParamName); // the Predict parameter: a model's only input is called input
        Assert.Contains($"index {Vocab} at element 3 of 'input' is outside [-{Vocab}, {Vocab - 1}]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_QDQ_export_gathers_the_dequantized_rows_and_ONNX_Runtime_agrees()
    {
        byte[] model = Model();
        var calibrator = new Calibrator(ModelCompiler.Prepare(model, "m.onnx"), CalibrationMethod.MinMax);
        calibrator.Observe(new[] { Ir.Tensor.FromLongs(DataType.Int64, new[] { 1, Sequence }, Ids) });
        string json = calibrator.Finish(ModelHash.Sha256Hex(model), "m.onnx").Write();

        var export = QdqExporter.Export(model, new CompilerOptions { ModelPath = "m.onnx", Precision = Precision.Int8, CalibrationJson = json });
        Assert.Single(export.Quantized.Nodes, n => n.OpType == "QGatherRows");
        var expected = QuantTestKit.Reference(export.Quantized, Ids)[0].Floats!;
        using var ort = new OnnxRuntimeReference(export.Model);
        var actual = (float[])ort.Run(new Array[] { Ids }, new[] { new[] { 1, Sequence } })[0];
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-3f, $"logit {i}: ORT on the QDQ export {actual[i]}, QuantGen INT8 {expected[i]}");
    }
}
