using System;
using System.Linq;
using Microsoft.ML.OnnxRuntime;

namespace QuantGen.Cli.Evaluation;

/// <summary>
/// The FP32 reference: the unmodified model in ONNX Runtime (CPU), one sample at a time. One intra-op thread, because
/// the INT8 side runs on one thread too and a shared machine should not be taken over by a measurement tool. Graph
/// optimizations are off: at its default level ONNX Runtime fuses a QDQ model's QuantizeLinear/DequantizeLinear pairs
/// into integer operators, and the reference would no longer be the model's float semantics (seen on fashion_qat: its
/// "FP32" logits then equal QuantGen's INT8 ones bit for bit).
/// </summary>
internal sealed class OnnxRuntimeModel : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly string _inputName;
    private readonly long[] _inputShape;
    private readonly string[] _outputNames;

    /// <param name="inputShape">The input's static shape at batch 1 (from QuantGen's shape inference).</param>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime cannot load the model.</exception>
    public OnnxRuntimeModel(byte[] model, int[] inputShape)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL,
        };
        _session = new InferenceSession(model, options);
        _inputName = _session.InputMetadata.Keys.First();
        _inputShape = inputShape.Select(d => (long)d).ToArray();
        _outputNames = _session.OutputMetadata.Keys.ToArray();
    }

    /// <summary>The model's outputs for one sample, concatenated in model order.</summary>
    public float[] Run(float[] input)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(input, _inputShape);
        using var results = _session.Run(_runOptions, new[] { _inputName }, new[] { value }, _outputNames);
        int length = 0;
        foreach (var r in results) length += r.GetTensorDataAsSpan<float>().Length;
        var outputs = new float[length];
        int offset = 0;
        foreach (var r in results)
        {
            var span = r.GetTensorDataAsSpan<float>();
            span.CopyTo(outputs.AsSpan(offset));
            offset += span.Length;
        }
        return outputs;
    }

    public void Dispose()
    {
        _runOptions.Dispose();
        _session.Dispose();
    }
}
