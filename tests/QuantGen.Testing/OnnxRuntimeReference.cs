using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace QuantGen.Testing;

/// <summary>ONNX Runtime (CPU, FP32) as the reference for generated code.</summary>
public sealed class OnnxRuntimeReference : IDisposable
{
    private readonly InferenceSession _session;

    public OnnxRuntimeReference(byte[] model)
    {
        var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        _session = new InferenceSession(model, options);
    }

    /// <summary>Runs the model on flat inputs (shapes from <paramref name="shapes"/>); returns flat float outputs in model order.</summary>
    public float[][] Run(IReadOnlyList<float[]> inputs, IReadOnlyList<int[]> shapes)
    {
        var values = _session.InputMetadata.Keys.Select((name, i) =>
            NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(inputs[i], shapes[i]))).ToList();
        using var results = _session.Run(values);
        return _session.OutputMetadata.Keys.Select(name => results.First(r => r.Name == name).AsTensor<float>().ToArray()).ToArray();
    }

    public void Dispose() => _session.Dispose();
}
