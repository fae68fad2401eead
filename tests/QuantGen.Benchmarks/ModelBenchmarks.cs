using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Attributes;
using FashionMnist;

namespace QuantGen.Benchmarks;

/// <summary>
/// Per model, batch 1, one thread: the generated INT8 and FP32 classes against ONNX Runtime running the same .onnx
/// (the baseline, so Ratio is time relative to ORT), and ONNX Runtime running the QDQ model <c>quantgen export</c>
/// writes (its INT8 kernels on QuantGen's own scales and int8 weights). Input: the first Fashion-MNIST test image.
/// </summary>
[MemoryDiagnoser]
public class ModelBenchmarks
{
    private BenchmarkModel _model = null!;
    private float[] _input = null!;
    private float[] _output = null!;
    private OnnxRuntimePeer _onnxRuntime = null!;
    private OnnxRuntimePeer _onnxRuntimeInt8 = null!;

    public static IEnumerable<string> ModelNames => BenchmarkModels.All.Select(m => m.Name);

    [ParamsSource(nameof(ModelNames))]
    public string Model { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _model = BenchmarkModels.Get(Model);
        _input = BenchmarkInput.FirstTestImage();
        _output = new float[_model.OutputLength];
        _onnxRuntime = new OnnxRuntimePeer(_model.OnnxPath, _input, _output);
        _onnxRuntimeInt8 = new OnnxRuntimePeer(QdqModels.PathOf(_model), _input, _output);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _onnxRuntime.Dispose();
        _onnxRuntimeInt8.Dispose();
    }

    // FP32 for cnn, mlp and resnet; for fashion_qat, ORT running the model's Q/DQ graph (see OnnxRuntimePeer).
    [Benchmark(Baseline = true, Description = "ONNX Runtime")]
    public void OnnxRuntime() => _onnxRuntime.Run();

    // The QDQ export of the model QuantGen's INT8 class compiles (for fashion_qat, of its own scales), which ORT's
    // optimizer fuses into QLinearConv/QGemm/QLinearAdd: ORT's INT8 on the same numbers as ours.
    [Benchmark(Description = "ONNX Runtime INT8 (quantgen export)")]
    public void OnnxRuntimeInt8() => _onnxRuntimeInt8.Run();

    [Benchmark(Description = "QuantGen FP32")]
    public void GeneratedFloat32() => _model.Float32(_input, _output);

    [Benchmark(Description = "QuantGen INT8")]
    public void GeneratedInt8() => _model.Int8(_input, _output);
}

internal static class BenchmarkInput
{
    /// <summary>Test image 0 (an ankle boot): the same in the committed slice and in the full Debian set.</summary>
    public static float[] FirstTestImage() => (float[])FashionMnistData.LoadTest().Images[0].Clone();
}
