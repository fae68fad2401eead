// The QuantGen sample: a Fashion-MNIST CNN and a small Vision Transformer compiled to C# at build time, run with no
// ONNX Runtime.
// Prints top-1 accuracy on the test set, latency per Predict and bytes allocated per call.
// `--first-prediction` instead loads one test image, predicts it once with the INT8 model and prints the class:
// the start-up measurement (process start to first prediction) of docs/performance.md and of the NativeAOT CI step.
using System;
using System.Diagnostics;
using FashionMnist;

if (args is ["--first-prediction"])
{
    var first = FashionMnistData.LoadTest(count: 1);
    Span<float> firstLogits = stackalloc float[FashionNet.OutputLength];
    FashionNet.Predict(first.Images[0], firstLogits);
    int predicted = ArgMax(firstLogits);
    Console.WriteLine($"first test image: predicted {FashionMnistData.ClassNames[predicted]}, labelled {FashionMnistData.ClassNames[first.Labels[0]]}");
    return predicted == first.Labels[0] ? 0 : 1;
}

if (args.Length > 0)
{
    Console.Error.WriteLine("usage: FashionMnist [--first-prediction]");
    return 2;
}

var data = FashionMnistData.LoadTest();
Console.WriteLine($"QuantGen sample: Fashion-MNIST CNN and ViT, {data.Count} test images ({data.Description})");
Console.WriteLine();

var fp32 = Measure("CNN FP32", (input, output) => FashionNetFloat.Predict(input, output), data);
var int8 = Measure("CNN INT8", (input, output) => FashionNet.Predict(input, output), data);
var vitFp32 = Measure("ViT FP32", (input, output) => FashionVitFloat.Predict(input, output), data);
var vitInt8 = Measure("ViT INT8", (input, output) => FashionVit.Predict(input, output), data);
Console.WriteLine($"{"model",-9} {"top-1",8} {"latency",12} {"allocated/call",16}");
foreach (var r in new[] { fp32, int8, vitFp32, vitInt8 })
    Console.WriteLine($"{r.Name,-9} {r.Top1,7:P2} {r.MicrosecondsPerCall,9:F1} us {r.BytesPerCall,12:F0} B");
Console.WriteLine();
Console.WriteLine($"INT8 - FP32 top-1: CNN {(int8.Top1 - fp32.Top1) * 100:+0.00;-0.00;0.00} points, ViT {(vitInt8.Top1 - vitFp32.Top1) * 100:+0.00;-0.00;0.00} points");
return 0;

static Result Measure(string name, PredictFunc predict, FashionMnistData data)
{
    Span<float> logits = stackalloc float[FashionMnistData.ClassCount];

    int correct = 0;
    for (int i = 0; i < data.Count; i++)
    {
        predict(data.Images[i], logits);
        if (ArgMax(logits) == data.Labels[i]) correct++;
    }

    // Latency: warm up (tiered JIT), then time single-image calls on one thread.
    var image = data.Images[0];
    for (int i = 0; i < 2000; i++) predict(image, logits);
    const int Calls = 5000;
    long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
    var clock = Stopwatch.StartNew();
    for (int i = 0; i < Calls; i++) predict(data.Images[i % data.Count], logits);
    clock.Stop();
    long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;

    return new Result(name, (double)correct / data.Count, clock.Elapsed.TotalMicroseconds / Calls, (double)allocated / Calls);
}

static int ArgMax(ReadOnlySpan<float> values)
{
    int best = 0;
    for (int i = 1; i < values.Length; i++)
        if (values[i] > values[best]) best = i;
    return best;
}

delegate void PredictFunc(ReadOnlySpan<float> input, Span<float> output);

record Result(string Name, double Top1, double MicrosecondsPerCall, double BytesPerCall);
