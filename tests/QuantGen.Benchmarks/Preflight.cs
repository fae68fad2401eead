using System;
using FashionMnist;

namespace QuantGen.Benchmarks;

/// <summary>
/// Checks made before timing anything, in this process: each generated class gives ORT's answer on the benchmark
/// image (FP32 within 1e-4, INT8 the same top-1), ORT running the QDQ export (<see cref="QdqModels"/>) gives generated
/// INT8's top-1, and generated Predict allocates 0 bytes per call after warm-up.
/// A benchmark of wrong code, or of code that allocates, is not worth running.
/// </summary>
internal static class Preflight
{
    private const int WarmupCalls = 200;
    private const int MeasuredCalls = 1000;
    private const float Float32Tolerance = 1e-4f;
    private const int AgreementImages = 500;

    /// <summary>Prints one line per model; returns false when a check fails.</summary>
    public static bool Run()
    {
        var data = FashionMnistData.LoadTest();
        float[] input = data.Images[0];
        bool ok = true;
        Console.WriteLine($"{"model",-15} {"top-1 ORT/FP32/INT8/ORT-INT8",-30} {"max |FP32-ORT|",15} {"max |INT8-ORT|",15} {"max |INT8-ORT INT8|",20} {"B/call FP32",12} {"B/call INT8",12} {"B/call ORT",11} {"B/call ORT INT8",16}");
        foreach (var model in BenchmarkModels.All)
        {
            var expected = new float[model.OutputLength];
            var ortInt8Output = new float[model.OutputLength];
            using (var ort = new OnnxRuntimePeer(model.OnnxPath, input, expected))
            using (var ortInt8 = new OnnxRuntimePeer(QdqModels.PathOf(model), input, ortInt8Output))
            {
                ort.Run();
                double ortBytes = BytesPerCall(ort.Run);
                ortInt8.Run();
                double ortInt8Bytes = BytesPerCall(ortInt8.Run);
                var float32 = new float[model.OutputLength];
                var int8 = new float[model.OutputLength];
                model.Float32(input, float32);
                model.Int8(input, int8);
                double float32Bytes = BytesPerCall(() => model.Float32(input, float32));
                double int8Bytes = BytesPerCall(() => model.Int8(input, int8));

                float float32Error = MaxAbsDifference(float32, expected);
                float int8Error = MaxAbsDifference(int8, expected);
                float int8VsOrtInt8 = MaxAbsDifference(int8, ortInt8Output);
                string top1 = $"{ArgMax(expected)}/{ArgMax(float32)}/{ArgMax(int8)}/{ArgMax(ortInt8Output)}";
                Console.WriteLine($"{model.Name,-15} {top1,-30} {float32Error,15:G3} {int8Error,15:G3} {int8VsOrtInt8,20:G3} {float32Bytes,12:F0} {int8Bytes,12:F0} {ortBytes,11:F1} {ortInt8Bytes,16:F1}");

                ok &= Check(float32Error <= Float32Tolerance, $"{model.Name}: generated FP32 differs from ONNX Runtime by {float32Error:G3} (> {Float32Tolerance:G}).");
                ok &= Check(ArgMax(int8) == ArgMax(expected), $"{model.Name}: generated INT8 top-1 is {ArgMax(int8)}, ONNX Runtime's {ArgMax(expected)}.");
                ok &= Check(ArgMax(ortInt8Output) == ArgMax(int8), $"{model.Name}: ONNX Runtime INT8 (QDQ export) top-1 is {ArgMax(ortInt8Output)}, generated INT8's {ArgMax(int8)}.");
                ok &= AgreesOnTestImages(model, data);
                ok &= Check(float32Bytes == 0, $"{model.Name}: generated FP32 Predict allocates {float32Bytes:F1} bytes per call.");
                ok &= Check(int8Bytes == 0, $"{model.Name}: generated INT8 Predict allocates {int8Bytes:F1} bytes per call.");
            }
        }

        Console.WriteLine($"(input: Fashion-MNIST test image 0, '{FashionMnistData.ClassNames[data.Labels[0]]}' from {data.Description}; bytes per call over {MeasuredCalls} calls after {WarmupCalls} of warm-up, this thread)");
        return ok;
    }

    /// <summary>
    /// One image says little about two INT8 implementations that requantize differently (ORT in float, QuantGen in
    /// fixed point): the generated INT8 class and ORT on the QDQ export must pick the same class on 99% of the first
    /// <see cref="AgreementImages"/> test images.
    /// </summary>
    private static bool AgreesOnTestImages(BenchmarkModel model, FashionMnistData data)
    {
        var image = new float[model.InputLength];
        var ours = new float[model.OutputLength];
        var theirs = new float[model.OutputLength];
        int count = Math.Min(AgreementImages, data.Count), agree = 0;
        using var ort = new OnnxRuntimePeer(QdqModels.PathOf(model), image, theirs);
        for (int i = 0; i < count; i++)
        {
            data.Images[i].CopyTo(image, 0);
            ort.Run();
            model.Int8(image, ours);
            if (ArgMax(ours) == ArgMax(theirs)) agree++;
        }
        Console.WriteLine($"{"",-15} generated INT8 and ORT INT8 (QDQ export) agree on {agree}/{count} test images");
        return Check(agree >= 0.99 * count, $"{model.Name}: generated INT8 and ORT INT8 (QDQ export) agree on {agree}/{count} test images only (< 99%).");
    }

    private static double BytesPerCall(Action call)
    {
        for (int i = 0; i < WarmupCalls; i++) call();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < MeasuredCalls; i++) call();
        return (double)(GC.GetAllocatedBytesForCurrentThread() - before) / MeasuredCalls;
    }

    private static bool Check(bool condition, string failure)
    {
        if (!condition) Console.WriteLine("FAILED: " + failure);
        return condition;
    }

    private static float MaxAbsDifference(float[] actual, float[] expected)
    {
        float max = 0;
        for (int i = 0; i < actual.Length; i++) max = MathF.Max(max, MathF.Abs(actual[i] - expected[i]));
        return max;
    }

    private static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }
}
