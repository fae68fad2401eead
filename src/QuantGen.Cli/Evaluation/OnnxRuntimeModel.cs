using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using QuantGen.Compiler.Ir;

namespace QuantGen.Cli.Evaluation;

/// <summary>
/// The FP32 reference: the model in ONNX Runtime (CPU), one sample at a time, optionally with intermediate tensors as
/// extra outputs (<see cref="OnnxGraphOutputs"/>) for per-layer error. One intra-op thread, because the INT8 side runs
/// on one thread too and a shared machine should not be taken over by a measurement tool. Graph optimizations are off:
/// at its default level ONNX Runtime fuses a QDQ model's QuantizeLinear/DequantizeLinear pairs into integer operators,
/// and the reference would no longer be the model's float semantics (seen on fashion_qat: its "FP32" logits then
/// equal QuantGen's INT8 ones bit for bit); with them off, every intermediate tensor also keeps its name.
/// </summary>
internal sealed class OnnxRuntimeModel : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly IReadOnlyList<Value> _inputs;
    private readonly string[] _outputNames;
    private readonly int _modelOutputs;

    /// <param name="inputs">The model's inputs with their static shapes at batch 1 (from QuantGen's shape inference).</param>
    /// <param name="modelOutputs">The model's outputs, in model order.</param>
    /// <param name="intermediates">Tensors to return as well; the model is changed to output them.</param>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime cannot load the model.</exception>
    public OnnxRuntimeModel(byte[] model, IReadOnlyList<Value> inputs, IReadOnlyList<string> modelOutputs, IReadOnlyList<string> intermediates)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL,
        };
        _session = new InferenceSession(intermediates.Count == 0 ? model : OnnxGraphOutputs.Add(model, intermediates), options);
        _inputs = inputs;
        _outputNames = modelOutputs.Concat(intermediates).ToArray();
        _modelOutputs = modelOutputs.Count;
        Values = _outputNames.ToDictionary(n => n, _ => Array.Empty<float>(), StringComparer.Ordinal);
    }

    /// <summary>The last run's value of each output and intermediate, by name (arrays reused from run to run).</summary>
    public Dictionary<string, float[]> Values { get; }

    /// <summary>Runs one sample (a tensor per input, in model order): fills <see cref="Values"/> and returns the model's outputs, concatenated in model order.</summary>
    public float[] Run(IReadOnlyList<Tensor> sample)
    {
        var values = new OrtValue[_inputs.Count];
        try
        {
            for (int i = 0; i < values.Length; i++)
                values[i] = ToOrtValue(_inputs[i], sample[i]);
            return Run(values);
        }
        finally
        {
            foreach (var value in values)
                value?.Dispose();
        }
    }

    private float[] Run(OrtValue[] inputs)
    {
        using var results = _session.Run(_runOptions, _inputs.Select(i => i.Name).ToArray(), inputs, _outputNames);
        int length = 0;
        for (int i = 0; i < _outputNames.Length; i++)
        {
            var span = results[i].GetTensorDataAsSpan<float>();
            if (Values[_outputNames[i]].Length != span.Length)
                Values[_outputNames[i]] = new float[span.Length];
            span.CopyTo(Values[_outputNames[i]]);
            if (i < _modelOutputs) length += span.Length;
        }
        var outputs = new float[length];
        int offset = 0;
        for (int i = 0; i < _modelOutputs; i++)
        {
            Values[_outputNames[i]].CopyTo(outputs, offset);
            offset += Values[_outputNames[i]].Length;
        }
        return outputs;
    }

    private static OrtValue ToOrtValue(Value input, Tensor tensor)
    {
        var shape = input.Shape!.Select(d => (long)d).ToArray();
        return input.Type switch
        {
            DataType.Float => OrtValue.CreateTensorValueFromMemory(tensor.Floats!, shape),
            DataType.Int64 => OrtValue.CreateTensorValueFromMemory(tensor.Longs!, shape),
            DataType.Int32 => OrtValue.CreateTensorValueFromMemory(tensor.Longs!.Select(v => checked((int)v)).ToArray(), shape),
            _ => throw new ArgumentException($"input '{input.Name}' is {input.Type}, which .npy data does not feed", nameof(input)),
        };
    }

    public void Dispose()
    {
        _runOptions.Dispose();
        _session.Dispose();
    }
}
