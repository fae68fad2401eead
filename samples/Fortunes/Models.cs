namespace Fortunes;

// Each ONNX file compiled twice: INT8 (the default; it reads the calibration file next to the model,
// Models/*.calib.json) and float32. Both models leave their sequence dimension free and name it "sequence";
// Dimensions fixes it at build time (the free batch dimension becomes 1).

/// <summary>The character-level GPT in INT8: input_ids [1, 64] -> next-character logits [1, 64, 101].</summary>
[QuantGen.OnnxModel("Models/fortune_lm.onnx", Dimensions = new[] { "sequence=64" })]
public static partial class FortuneLm;

/// <summary>The character-level GPT in float32, as exported.</summary>
[QuantGen.OnnxModel("Models/fortune_lm.onnx", Dimensions = new[] { "sequence=64" }, Precision = QuantGen.Precision.Float32)]
public static partial class FortuneLmFloat;

/// <summary>The BERT-style category classifier in INT8: input_ids and attention_mask [1, 128] -> logits [1, 6].</summary>
[QuantGen.OnnxModel("Models/fortune_classifier.onnx", Dimensions = new[] { "sequence=128" })]
public static partial class FortuneClassifier;

/// <summary>The BERT-style category classifier in float32, as exported.</summary>
[QuantGen.OnnxModel("Models/fortune_classifier.onnx", Dimensions = new[] { "sequence=128" }, Precision = QuantGen.Precision.Float32)]
public static partial class FortuneClassifierFloat;
