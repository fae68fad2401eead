using System.Collections.Generic;
using System.IO;
using QuantGen.Compiler.Calibration;
using QuantGen.Testing;

namespace QuantGen.Accuracy;

/// <summary>
/// One of the sample's committed models (samples/FashionMnist/Models). <see cref="HasQdq"/> models carry their own
/// QuantizeLinear/DequantizeLinear scales: their INT8 build needs no calibration file, and has no dynamic variant.
/// </summary>
public sealed record SampleModel(string Name, string Architecture, bool HasQdq)
{
    /// <summary>Whether the suite also measures what each group of integer nodes costs (<see cref="SensitivityGroups"/>): the transformers.</summary>
    public bool MeasuresSensitivity { get; init; }

    public static IReadOnlyList<SampleModel> All { get; } = new[]
    {
        new SampleModel("fashion_cnn", "Conv3x3 1->8 pad 1 (BN folded), Relu, MaxPool 2, Conv3x3 8->16 (BN folded), Relu, MaxPool 2, Flatten 576, Gemm 64, Relu, Gemm 10", HasQdq: false),
        new SampleModel("fashion_mlp", "Flatten 784, Gemm 256, Relu, Gemm 128, Relu, Gemm 10", HasQdq: false),
        new SampleModel("fashion_resnet", "stem Conv3x3 1->16 + Relu; 3 basic blocks (16, 32 and 64 channels, Add shortcuts, the last two stride 2 with Conv1x1 projections); GlobalAveragePool, Gemm 10", HasQdq: false),
        new SampleModel("fashion_vit", "ViT: Conv7x7 stride 7 1->64 patch embedding (16 patches), class token and positional embedding (17 tokens of 64); 4 pre-norm encoder blocks [LayerNormalization, 4-head self-attention (MatMul 64x192 qkv, q.kT MatMul, Softmax, .v MatMul, MatMul 64x64), Add, LayerNormalization, MatMul 64x128, Gelu, MatMul 128x64, Add]; LayerNormalization of the class token, Gemm 10", HasQdq: false) { MeasuresSensitivity = true },
        new SampleModel("fashion_qat", "fashion_cnn's architecture trained with quantization (QAT): every weight, the input, each Relu output and the logits pass through QuantizeLinear/DequantizeLinear", HasQdq: true),
    };

    public static string Directory => Path.Combine(ModelFiles.RepoRoot, "samples", "FashionMnist", "Models");

    public string OnnxFile => Name + ".onnx";

    public string OnnxPath => Path.Combine(Directory, OnnxFile);

    /// <summary>The committed calibration file (minmax over the committed 512 training images); null for QDQ models.</summary>
    public string? CalibrationPath => HasQdq ? null : Path.Combine(Directory, CalibrationFile.DefaultPathFor(OnnxFile));

    /// <summary>The sample's reference file: what PyTorch computed at export time.</summary>
    public string ReferencePath => Path.Combine(Directory, Name + ".reference.json");

    public override string ToString() => Name;
}
