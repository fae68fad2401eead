using System;
using System.IO;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using QuantGen.Compiler.Calibration;
using QuantGen.Testing;
using Xunit;
using ElementType = QuantGen.Testing.OnnxModelBuilder.ElementType;

namespace QuantGen.Cli.Tests.Commands;

/// <summary>
/// calibrate, evaluate and export on models whose inputs are token ids and attention masks (int64 [batch, sequence],
/// named free dimensions bound with --dim as the attribute's Dimensions binds them).
/// </summary>
public sealed class TokenInputCommandTests : IDisposable
{
    private const int Sequence = 16, Vocab = 12, Hidden = 8, Classes = 3;

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>
    /// Embedding, masked mean pooling, a hidden Linear with Relu and a classifier: the integer inputs feed a Gather and
    /// a Cast, everything after is float and quantized.
    /// </summary>
    private static byte[] Classifier() => new OnnxModelBuilder(opset: 13, graphName: "token_classifier")
        .TypedInput("input_ids", ElementType.Int64, "batch", "sequence")
        .TypedInput("attention_mask", ElementType.Int64, "batch", "sequence")
        .Initializer("embeddings.weight", new long[] { Vocab, Hidden }, OnnxModelBuilder.RandomFloats(Vocab * Hidden, seed: 11, scale: 1f))
        .Initializer("hidden.weight", new long[] { Hidden, Hidden }, OnnxModelBuilder.RandomFloats(Hidden * Hidden, seed: 12))
        .Initializer("classifier.weight", new long[] { Hidden, Classes }, OnnxModelBuilder.RandomFloats(Hidden * Classes, seed: 13))
        .Initializer("axis2", new long[] { 1 }, new long[] { 2 })
        .Initializer("axis1", new long[] { 1 }, new long[] { 1 })
        .Node("/embeddings/Gather", "Gather", new[] { "embeddings.weight", "input_ids" }, new[] { "tokens" }, OnnxAttribute.Int("axis", 0))
        .Node("/mask/Cast", "Cast", new[] { "attention_mask" }, new[] { "mask_f" }, OnnxAttribute.Int("to", ElementType.Float))
        .Node("/mask/Unsqueeze", "Unsqueeze", new[] { "mask_f", "axis2" }, new[] { "mask_3" })
        .Node("/pool/Mul", "Mul", new[] { "tokens", "mask_3" }, new[] { "masked" })
        .Node("/pool/ReduceSum", "ReduceSum", new[] { "masked", "axis1" }, new[] { "summed" }, OnnxAttribute.Int("keepdims", 0))
        .Node("/pool/Count", "ReduceSum", new[] { "mask_f", "axis1" }, new[] { "count" }, OnnxAttribute.Int("keepdims", 1))
        .Node("/pool/Div", "Div", new[] { "summed", "count" }, new[] { "pooled" })
        .Node("/hidden/MatMul", "MatMul", new[] { "pooled", "hidden.weight" }, new[] { "hidden_mm" })
        .Node("/hidden/Relu", "Relu", new[] { "hidden_mm" }, new[] { "hidden" })
        .Node("/classifier/MatMul", "MatMul", new[] { "hidden", "classifier.weight" }, new[] { "logits" })
        .Output("logits")
        .ToBytes();

    /// <summary>A character model's shape: logits [1, sequence, vocab], one row of scores per position.</summary>
    private static byte[] LanguageModel() => new OnnxModelBuilder(opset: 13, graphName: "char_lm")
        .TypedInput("input_ids", ElementType.Int64, 1, "sequence")
        .Initializer("embeddings.weight", new long[] { Vocab, Hidden }, OnnxModelBuilder.RandomFloats(Vocab * Hidden, seed: 21, scale: 1f))
        .Initializer("head.weight", new long[] { Hidden, Vocab }, OnnxModelBuilder.RandomFloats(Hidden * Vocab, seed: 22))
        .Node("/embeddings/Gather", "Gather", new[] { "embeddings.weight", "input_ids" }, new[] { "tokens" }, OnnxAttribute.Int("axis", 0))
        .Node("/head/MatMul", "MatMul", new[] { "tokens", "head.weight" }, new[] { "logits" })
        .Output("logits")
        .ToBytes();

    /// <summary>Token ids in [0, Vocab) and masks with 4 to 16 leading ones, per sample; deterministic.</summary>
    private (long[] Ids, long[] Mask) Tokens(int samples)
    {
        var random = new Random(5);
        var ids = new long[samples * Sequence];
        var mask = new long[samples * Sequence];
        for (int s = 0; s < samples; s++)
        {
            int length = random.Next(4, Sequence + 1);
            for (int t = 0; t < Sequence; t++)
            {
                ids[s * Sequence + t] = t < length ? random.Next(1, Vocab) : 0;
                mask[s * Sequence + t] = t < length ? 1 : 0;
            }
        }
        return (ids, mask);
    }

    private string Int64File(string name, int samples, long[] values) =>
        _folder.Write(name, NpyWriter.Bytes("<i8", new long[] { samples, Sequence }, values.SelectMany(BitConverter.GetBytes).ToArray()));

    private string Int32File(string name, int samples, long[] values) =>
        _folder.Write(name, NpyWriter.Bytes("<i4", new long[] { samples, Sequence }, values.SelectMany(v => BitConverter.GetBytes((int)v)).ToArray()));

    private CalibrationFile Calibrate(string model, params string[] options) => _folder.Calibrate(model, options);

    [Fact]
    public void Calibrate_reads_int64_and_int32_token_files_and_both_engines_agree()
    {
        const int samples = 24;
        string model = _folder.Write("classifier.onnx", Classifier());
        var (ids, mask) = Tokens(samples);
        string ids64 = Int64File("ids.npy", samples, ids), mask64 = Int64File("mask.npy", samples, mask);

        var ort = Calibrate(model, "--data", "input_ids=" + ids64, "--data", "attention_mask=" + mask64, "--dim", "sequence=16", "--method", "minmax");
        var reference = Calibrate(model, "--data", "attention_mask=" + mask64, "--data", "input_ids=" + ids64, "--dim", "sequence=16",
            "--method", "minmax", "--engine", "reference");
        var int32 = Calibrate(model, "--data", Int32File("ids32.npy", samples, ids), "--data", Int32File("mask32.npy", samples, mask),
            "--dim", "sequence=16", "--method", "minmax");

        Assert.Equal(samples, ort.Samples);
        // The integer inputs are not quantized; what they feed is.
        Assert.DoesNotContain("input_ids", ort.Tensors.Keys);
        Assert.Contains("pooled", ort.Tensors.Keys);
        Assert.Equal(reference.Tensors.Keys.OrderBy(k => k, StringComparer.Ordinal), ort.Tensors.Keys.OrderBy(k => k, StringComparer.Ordinal));
        foreach (var (name, r) in reference.Tensors)
        {
            var o = ort.Tensors[name];
            Assert.True(Math.Abs(r.Min - o.Min) <= 1e-5 * (1 + Math.Abs(r.Min)) && Math.Abs(r.Max - o.Max) <= 1e-5 * (1 + Math.Abs(r.Max)),
                $"{name}: reference [{r.Min:R}, {r.Max:R}], ONNX Runtime [{o.Min:R}, {o.Max:R}]");
        }
        // Same ids as int32: the same file.
        foreach (var (name, o) in ort.Tensors)
            Assert.Equal((o.Min, o.Max), (int32.Tensors[name].Min, int32.Tensors[name].Max));
    }

    [Fact]
    public void Evaluate_and_export_take_token_inputs_and_the_exported_model_runs_in_onnx_runtime()
    {
        const int samples = 20;
        string model = _folder.Write("classifier.onnx", Classifier());
        var (ids, mask) = Tokens(samples);
        string idsFile = Int64File("ids.npy", samples, ids), maskFile = Int64File("mask.npy", samples, mask);
        string calibration = _folder.File("classifier.calib.json");
        Assert.Equal(0, CliResult.Run("calibrate", model, "--data", idsFile, "--data", maskFile, "--dim", "sequence=16").ExitCode);
        string labels = _folder.Write("labels.npy", NpyWriter.Bytes("<i8", new long[] { samples },
            Enumerable.Range(0, samples).SelectMany(i => BitConverter.GetBytes((long)(i % Classes))).ToArray()));

        var evaluate = CliResult.Run("evaluate", model, "--data", idsFile, "--data", maskFile, "--labels", labels, "--dim", "sequence=16");
        Assert.True(evaluate.ExitCode == 0, evaluate.ToString());
        Assert.Contains("'input_ids' 1x16 from " + idsFile + " (int64 (20, 16))", evaluate.Out, StringComparison.Ordinal);
        Assert.Contains("top-1 INT8 (QuantGen)", evaluate.Out, StringComparison.Ordinal);
        Assert.Contains("static, calibrated", evaluate.Out, StringComparison.Ordinal);
        Assert.Contains("pooled", evaluate.Out, StringComparison.Ordinal);

        string exported = _folder.File("classifier.int8.onnx");
        var export = CliResult.Run("export", model, "--dim", "sequence=16", "-c", calibration, "-o", exported);
        Assert.True(export.ExitCode == 0, export.ToString());
        using var session = new InferenceSession(exported);
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids.AsSpan(0, Sequence).ToArray(), new long[] { 1, Sequence });
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask.AsSpan(0, Sequence).ToArray(), new long[] { 1, Sequence });
        using var results = session.Run(new RunOptions(), new[] { "input_ids", "attention_mask" }, new[] { idsValue, maskValue }, new[] { "logits" });
        Assert.Equal(Classes, results[0].GetTensorDataAsSpan<float>().Length);
    }

    [Fact]
    public void Wrong_element_types_and_a_missing_dim_are_refused_with_what_to_do()
    {
        const int samples = 4;
        string model = _folder.Write("classifier.onnx", Classifier());
        var (ids, mask) = Tokens(samples);
        string idsFile = Int64File("ids.npy", samples, ids), maskFile = Int64File("mask.npy", samples, mask);
        string floats = _folder.Write("f.npy", NpyWriter.Float32(new long[] { samples, Sequence }, ids.Select(v => (float)v)));

        var floatIds = CliResult.Run("calibrate", model, "--data", "input_ids=" + floats, "--data", "attention_mask=" + maskFile, "--dim", "sequence=16");
        Assert.True(floatIds.ExitCode == ExitCodes.BadData, floatIds.ToString());
        Assert.Contains("holds float32 data, but the model's input 'input_ids' is int64", floatIds.Error, StringComparison.Ordinal);
        Assert.Contains("astype(numpy.int64)", floatIds.Error, StringComparison.Ordinal);

        var idsForFloat = CliResult.Run("calibrate", _folder.CopyModel(), "--data", idsFile);
        Assert.True(idsForFloat.ExitCode == ExitCodes.BadData, idsForFloat.ToString());
        Assert.Contains("holds int64 data, but the model's input 'input' is float", idsForFloat.Error, StringComparison.Ordinal);

        var noDim = CliResult.Run("evaluate", model, "--data", idsFile, "--data", maskFile);
        Assert.True(noDim.ExitCode == ExitCodes.ModelError, noDim.ToString());
        Assert.Contains("QG0008", noDim.Error + noDim.Out, StringComparison.Ordinal);

        var scale = CliResult.Run("calibrate", model, "--data", idsFile, "--data", maskFile, "--dim", "sequence=16", "--scale", "255");
        Assert.True(scale.ExitCode == ExitCodes.Usage, scale.ToString());
        Assert.Contains("--scale applies to uint8 data for float inputs", scale.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_language_models_logits_are_compared_position_by_position_and_labels_are_refused()
    {
        const int samples = 6;
        string model = _folder.Write("lm.onnx", LanguageModel());
        var (ids, _) = Tokens(samples);
        string idsFile = Int64File("ids.npy", samples, ids);
        Assert.Equal(0, CliResult.Run("calibrate", model, "--data", idsFile, "--dim", "sequence=16").ExitCode);

        var evaluate = CliResult.Run("evaluate", model, "--data", idsFile, "--dim", "sequence=16");
        Assert.True(evaluate.ExitCode == 0, evaluate.ToString());
        Assert.Contains("holds 16 rows of 12 scores per sample", evaluate.Out, StringComparison.Ordinal);
        // 6 samples x 16 positions compared.
        Assert.Matches(@"top-1 agreement\s+\d+\.\d\d%\s+\(\d+/96\)", evaluate.Out);

        string labels = _folder.Write("labels.npy", NpyWriter.Bytes("<i8", new long[] { samples }, new byte[8 * samples]));
        var withLabels = CliResult.Run("evaluate", model, "--data", idsFile, "--dim", "sequence=16", "--labels", labels);
        Assert.True(withLabels.ExitCode == ExitCodes.Usage, withLabels.ToString());
        Assert.Contains("scores 16 rows per sample", withLabels.Error, StringComparison.Ordinal);
    }
}
