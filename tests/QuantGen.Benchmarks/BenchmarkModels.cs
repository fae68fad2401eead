using System;
using System.Collections.Generic;
using System.IO;

namespace QuantGen.Benchmarks;

/// <summary>A generated Predict: one input, one output, both float.</summary>
internal delegate void PredictFunc(ReadOnlySpan<float> input, Span<float> output);

/// <summary>One sample model: its ONNX file (for ONNX Runtime) and its two generated classes.</summary>
internal sealed record BenchmarkModel(string Name, string OnnxFile, int InputLength, int OutputLength, PredictFunc Int8, PredictFunc Float32)
{
    /// <summary>The .onnx copied next to the executable (the project links it from samples/FashionMnist/Models).</summary>
    public string OnnxPath => Path.Combine(AppContext.BaseDirectory, "Models", OnnxFile);
}

internal static class BenchmarkModels
{
    public static IReadOnlyList<BenchmarkModel> All { get; } =
    [
        new("fashion_cnn", "fashion_cnn.onnx", CnnInt8.InputLength, CnnInt8.OutputLength, CnnInt8.Predict, CnnFloat32.Predict),
        new("fashion_mlp", "fashion_mlp.onnx", MlpInt8.InputLength, MlpInt8.OutputLength, MlpInt8.Predict, MlpFloat32.Predict),
        new("fashion_resnet", "fashion_resnet.onnx", ResNetInt8.InputLength, ResNetInt8.OutputLength, ResNetInt8.Predict, ResNetFloat32.Predict),
        new("fashion_qat", "fashion_qat.onnx", QatInt8.InputLength, QatInt8.OutputLength, QatInt8.Predict, QatFloat32.Predict),
        new("fashion_vit", "fashion_vit.onnx", VitInt8.InputLength, VitInt8.OutputLength, VitInt8.Predict, VitFloat32.Predict),
    ];

    public static BenchmarkModel Get(string name)
    {
        foreach (var model in All)
        {
            if (model.Name == name) return model;
        }

        throw new ArgumentException($"No benchmark model named '{name}'.", nameof(name));
    }
}
