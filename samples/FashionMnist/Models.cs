namespace FashionMnist;

/// <summary>The sample CNN compiled by QuantGen in float32 (INT8 follows with calibration support).</summary>
[QuantGen.OnnxModel("Models/fashion_cnn.onnx", Precision = QuantGen.Precision.Float32)]
public static partial class FashionNetFloat;
