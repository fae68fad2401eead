// ONNX Runtime doing what `FashionMnist --first-prediction` does: load the first Fashion-MNIST test image, run
// fashion_cnn.onnx on it once (FP32, ORT's CPU provider, the benchmarks' session options) and print the class.
// Start-up peer of the QuantGen NativeAOT sample: scripts/measure-startup.sh times both from process start to exit.
using System;
using System.IO;
using FashionMnist;
using Microsoft.ML.OnnxRuntime;

var image = FashionMnistData.LoadTest(count: 1);
using var options = new SessionOptions
{
    IntraOpNumThreads = 1,
    InterOpNumThreads = 1,
    ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
    GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
};
using var session = new InferenceSession(Path.Combine(AppContext.BaseDirectory, "Models", "fashion_cnn.onnx"), options);

var logits = new float[FashionMnistData.ClassCount];
using var input = OrtValue.CreateTensorValueFromMemory(image.Images[0], new long[] { 1, 1, FashionMnistData.ImageSide, FashionMnistData.ImageSide });
using var output = OrtValue.CreateTensorValueFromMemory(logits, new long[] { 1, FashionMnistData.ClassCount });
using var runOptions = new RunOptions();
session.Run(runOptions, new[] { "input" }, new[] { input }, new[] { "logits" }, new[] { output });

int predicted = 0;
for (int i = 1; i < logits.Length; i++)
    if (logits[i] > logits[predicted]) predicted = i;
Console.WriteLine($"first test image: predicted {FashionMnistData.ClassNames[predicted]}, labelled {FashionMnistData.ClassNames[image.Labels[0]]}");
return predicted == image.Labels[0] ? 0 : 1;
