using System;
using System.Collections.Generic;
using QuantGen.Compiler.Calibration;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Compiler.Tests.Calibration;

/// <summary>Measures the process's GC heap, so nothing else may run beside it.</summary>
[CollectionDefinition(nameof(MemoryMeasurement), DisableParallelization = true)]
public sealed class MemoryMeasurement
{
}

[Collection(nameof(MemoryMeasurement))]
public class CalibratorMemoryTests
{
    [Theory]
    [InlineData(CalibrationMethod.MinMax)]
    [InlineData(CalibrationMethod.Percentile)]
    public void Memory_does_not_grow_with_the_number_of_samples(CalibrationMethod method)
    {
        // 1x1x32x32 -> Conv(8, 3x3) + Relu: 1,024 + 7,200 floats per sample, 66 MB over 2000 samples if any were kept.
        byte[] model = new OnnxModelBuilder()
            .Input("x", 1, 1, 32, 32)
            .Initializer("w", new long[] { 8, 1, 3, 3 }, OnnxModelBuilder.RandomFloats(72, 3))
            .Node("conv", "Conv", new[] { "x", "w" }, new[] { "c" })
            .Node("relu", "Relu", new[] { "c" }, new[] { "y" })
            .Output("y")
            .ToBytes();
        var calibrator = new Calibrator(ModelCompiler.Prepare(model, "m.onnx"), method);
        foreach (var sample in Samples(100))
            calibrator.Observe(sample);
        long before = GC.GetTotalMemory(forceFullCollection: true);
        foreach (var sample in Samples(2000))
            calibrator.Observe(sample);
        long after = GC.GetTotalMemory(forceFullCollection: true);

        Assert.True(after - before < 1 << 20, $"the heap grew by {(after - before) / 1024} KB over 2000 samples");
        var file = calibrator.Finish(ModelHash.Sha256Hex(model), "m.onnx");
        Assert.Equal(2100, file.Samples);
        Assert.Equal(new[] { "x", "y" }, file.Tensors.Keys);
    }

    private static IEnumerable<float[]> Samples(int count)
    {
        var random = new Random(count);
        for (int i = 0; i < count; i++)
        {
            var sample = new float[1024];
            for (int j = 0; j < sample.Length; j++)
                sample[j] = (float)(random.NextDouble() * 2 - 1);
            yield return sample;
        }
    }
}
