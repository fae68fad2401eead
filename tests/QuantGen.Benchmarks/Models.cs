namespace QuantGen.Benchmarks;

// The sample's five models, each compiled twice. The INT8 classes of cnn, mlp and resnet use the default
// calibration (Models/<model>.calib.json, linked from samples/FashionMnist/Models); the QAT model carries its
// own scales and has no calibration file.

[QuantGen.OnnxModel("Models/fashion_cnn.onnx")]
internal static partial class CnnInt8;

[QuantGen.OnnxModel("Models/fashion_cnn.onnx", Precision = QuantGen.Precision.Float32)]
internal static partial class CnnFloat32;

[QuantGen.OnnxModel("Models/fashion_mlp.onnx")]
internal static partial class MlpInt8;

[QuantGen.OnnxModel("Models/fashion_mlp.onnx", Precision = QuantGen.Precision.Float32)]
internal static partial class MlpFloat32;

[QuantGen.OnnxModel("Models/fashion_resnet.onnx")]
internal static partial class ResNetInt8;

[QuantGen.OnnxModel("Models/fashion_resnet.onnx", Precision = QuantGen.Precision.Float32)]
internal static partial class ResNetFloat32;

[QuantGen.OnnxModel("Models/fashion_qat.onnx")]
internal static partial class QatInt8;

[QuantGen.OnnxModel("Models/fashion_qat.onnx", Precision = QuantGen.Precision.Float32)]
internal static partial class QatFloat32;

[QuantGen.OnnxModel("Models/fashion_vit.onnx")]
internal static partial class VitInt8;

[QuantGen.OnnxModel("Models/fashion_vit.onnx", Precision = QuantGen.Precision.Float32)]
internal static partial class VitFloat32;
