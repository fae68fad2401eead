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

    /// <summary>
    /// Runs the model on flat inputs of any supported element type (float[], long[], int[], sbyte[], byte[], bool[]),
    /// in model input order; returns the outputs in model output order as arrays of the same kinds.
    /// </summary>
    public Array[] Run(IReadOnlyList<Array> inputs, IReadOnlyList<int[]> shapes)
    {
        var values = _session.InputNames.Select((name, i) => inputs[i] switch
        {
            float[] f => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(f, shapes[i])),
            long[] l => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(l, shapes[i])),
            int[] n => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<int>(n, shapes[i])),
            sbyte[] s => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<sbyte>(s, shapes[i])),
            byte[] b => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<byte>(b, shapes[i])),
            bool[] b => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<bool>(b, shapes[i])),
            _ => throw new ArgumentException($"input {i}: unsupported array type {inputs[i].GetType().Name}"),
        }).ToList();
        using var results = _session.Run(values);
        return _session.OutputNames.Select(name =>
        {
            var r = results.First(v => v.Name == name);
            return r.ElementType switch
            {
                TensorElementType.Float => (Array)r.AsTensor<float>().ToArray(),
                TensorElementType.Int64 => r.AsTensor<long>().ToArray(),
                TensorElementType.Int32 => r.AsTensor<int>().ToArray(),
                TensorElementType.Int8 => r.AsTensor<sbyte>().ToArray(),
                TensorElementType.UInt8 => r.AsTensor<byte>().ToArray(),
                TensorElementType.Bool => r.AsTensor<bool>().ToArray(),
                var t => throw new NotSupportedException($"output '{name}' has element type {t}"),
            };
        }).ToArray();
    }

    public void Dispose() => _session.Dispose();
}
