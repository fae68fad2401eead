using System;
using System.Linq;
using Microsoft.ML.OnnxRuntime;

namespace QuantGen.Benchmarks;

/// <summary>
/// The peer: ONNX Runtime on the CPU, one thread, all graph optimizations, running the .onnx file as exported
/// (float32 for the cnn, mlp and resnet samples; for fashion_qat its QuantizeLinear/DequantizeLinear graph, which
/// ORT's optimizer turns into its own INT8 kernels). Input and output tensors are created once over pinned arrays
/// and bound once (OrtIoBinding), so a call measures inference: <see cref="Run"/> allocates nothing managed.
/// <c>session.Run(runOptions, names, values, names, values)</c> over the same OrtValues is as fast but allocates
/// 224-352 managed bytes per call (its name and handle arrays).
/// </summary>
internal sealed class OnnxRuntimePeer : IDisposable
{
    private readonly SessionOptions _options;
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly OrtValue[] _inputs;
    private readonly OrtValue _output;
    private readonly OrtIoBinding _binding;

    public OnnxRuntimePeer(string onnxPath, float[] input, float[] output)
    {
        _options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(onnxPath, _options);

        var inputMeta = _session.InputMetadata.Single();
        var outputMeta = _session.OutputMetadata.Single();
        _inputs = [OrtValue.CreateTensorValueFromMemory(input, BatchOfOne(inputMeta.Value.Dimensions, input.Length, onnxPath))];
        _output = OrtValue.CreateTensorValueFromMemory(output, BatchOfOne(outputMeta.Value.Dimensions, output.Length, onnxPath));
        _binding = _session.CreateIoBinding();
        _binding.BindInput(inputMeta.Key, _inputs[0]);
        _binding.BindOutput(outputMeta.Key, _output);
    }

    /// <summary>
    /// A token model: int64 inputs (input_ids, attention_mask...) in the model's order, each of shape [1, length] (the
    /// model's free batch and sequence dimensions set by the arrays), and one float output [1, classes].
    /// </summary>
    public OnnxRuntimePeer(string onnxPath, long[][] inputs, float[] output)
    {
        _options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(onnxPath, _options);
        var names = _session.InputMetadata.Keys.ToArray();
        if (names.Length != inputs.Length)
            throw new InvalidOperationException($"{onnxPath} has {names.Length} inputs, {inputs.Length} were given.");
        _inputs = inputs.Select(a => OrtValue.CreateTensorValueFromMemory(a, new long[] { 1, a.Length })).ToArray();
        _output = OrtValue.CreateTensorValueFromMemory(output, new long[] { 1, output.Length });
        _binding = _session.CreateIoBinding();
        for (int i = 0; i < names.Length; i++) _binding.BindInput(names[i], _inputs[i]);
        _binding.BindOutput(_session.OutputMetadata.Keys.Single(), _output);
    }

    /// <summary>One inference: reads the pinned input array, writes the pinned output array.</summary>
    public void Run() => _session.RunWithBinding(_runOptions, _binding);

    public void Dispose()
    {
        _binding.Dispose();
        foreach (var input in _inputs) input.Dispose();
        _output.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
        _options.Dispose();
    }

    /// <summary>The model's shape with its symbolic (batch) dimensions set to 1; checked against the array.</summary>
    private static long[] BatchOfOne(int[] dimensions, int length, string onnxPath)
    {
        long[] shape = dimensions.Select(d => d < 0 ? 1L : d).ToArray();
        long elements = shape.Aggregate(1L, (a, b) => a * b);
        if (elements != length)
        {
            throw new InvalidOperationException(
                $"{onnxPath}: ONNX Runtime's shape [{string.Join(", ", shape)}] holds {elements} elements, the generated class {length}.");
        }

        return shape;
    }
}
