namespace FashionMnist;

// Each ONNX file compiled twice. The INT8 classes use Models/<model>.calib.json (the default calibration path: the
// model's with .calib.json), computed by QuantGen's calibrator over 512 training images.

/// <summary>The sample CNN in INT8: per-channel int8 weights, calibrated uint8 activations.</summary>
[QuantGen.OnnxModel("Models/fashion_cnn.onnx")]
public static partial class FashionNet;

/// <summary>The sample CNN in float32, as exported.</summary>
[QuantGen.OnnxModel("Models/fashion_cnn.onnx", Precision = QuantGen.Precision.Float32)]
public static partial class FashionNetFloat;

/// <summary>
/// The sample ViT in INT8: integer MatMuls (weights and attention), LayerNormalization, Softmax and Gelu in float
/// between them.
/// </summary>
[QuantGen.OnnxModel("Models/fashion_vit.onnx")]
public static partial class FashionVit;

/// <summary>The sample ViT in float32, as exported.</summary>
[QuantGen.OnnxModel("Models/fashion_vit.onnx", Precision = QuantGen.Precision.Float32)]
public static partial class FashionVitFloat;
