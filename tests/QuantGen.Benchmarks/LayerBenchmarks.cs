using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using BenchmarkDotNet.Attributes;
using QuantGen.Compiler;
using QuantGen.Compiler.Ops.Quantized;

namespace QuantGen.Benchmarks;

/// <summary>
/// Per layer: the integer matrix product of every Conv and Gemm of the INT8 sample models, replayed with the layer's
/// exact call shapes on the generated code's own GEMM routines (GemmU8S8 / GemvU8S8 of the generated class, reached
/// with UnsafeAccessor), and the machine's measured peak for the ISA in use. Program prints GOPS and % of peak.
/// Operands are random: the time of an integer GEMM does not depend on the values.
/// </summary>
[MemoryDiagnoser]
public class LayerBenchmarks
{
    private LayerGemm _layer = null!;
    private byte[] _operand = null!;
    private sbyte[] _weights = null!;
    private int[] _acc = null!;
    private int[] _offsets = null!;
    private short[] _wide = null!;

    public static IEnumerable<string> LayerNames => SampleLayers.All.Select(l => l.Key);

    [ParamsSource(nameof(LayerNames))]
    public string Layer { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _layer = SampleLayers.All.Single(l => l.Key == Layer).Gemm;
        var random = new Random(1);
        _operand = new byte[_layer.OperandBytes];
        random.NextBytes(_operand);
        _weights = new sbyte[_layer.IsGemv ? _layer.Rows * _layer.K4 * 32 : _layer.Rows * _layer.K4 * 4];
        random.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_weights.AsSpan()));
        _acc = new int[_layer.IsGemv ? _layer.Rows * 8 : _layer.Rows * _layer.Pixels];
        _offsets = _layer.QuadOffsets.ToArray();
        _wide = new short[_weights.Length];
    }

    /// <summary>All of the layer's GEMM calls of one Predict.</summary>
    [Benchmark(Description = "layer GEMM")]
    public void Gemm()
    {
        for (int call = 0; call < _layer.Calls; call++)
        {
            if (_layer.IsGemv)
                GeneratedKernels.GemvU8S8(null, _operand, _weights, _acc, _layer.Rows, _layer.K4);
            else
                GeneratedKernels.GemmU8S8(null, _operand, _weights, _acc, _layer.Rows, _layer.K4, _layer.Pixels, _offsets, _wide);
        }
    }
}

/// <summary>
/// The machine's integer peak for the path the kernels take: 12 independent accumulator chains of the inner
/// instruction (AVX-VNNI vpdpbusd: 32 MACs; AVX2: vpmaddwd + vpaddd: 16 MACs), no memory traffic.
/// </summary>
public class PeakBenchmarks
{
    public const int Iterations = 100_000;

    /// <summary>MACs one call of <see cref="Peak"/> performs on this machine's path.</summary>
    public static long MacsPerCall => AvxVnni.IsSupported ? 12L * 32 * Iterations : Avx2.IsSupported ? 12L * 16 * Iterations : 0;

    [Benchmark(Description = "int8 peak")]
    public int Peak() => AvxVnni.IsSupported ? PeakVnni() : Avx2.IsSupported ? PeakAvx2() : 0;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int PeakVnni()
    {
        var x = Vector256.Create((byte)3);
        var w = Vector256.Create((sbyte)-2);
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default;
        Vector256<int> a6 = default, a7 = default, a8 = default, a9 = default, a10 = default, a11 = default;
        for (int i = 0; i < Iterations; i++)
        {
            a0 = AvxVnni.MultiplyWideningAndAdd(a0, x, w); a1 = AvxVnni.MultiplyWideningAndAdd(a1, x, w);
            a2 = AvxVnni.MultiplyWideningAndAdd(a2, x, w); a3 = AvxVnni.MultiplyWideningAndAdd(a3, x, w);
            a4 = AvxVnni.MultiplyWideningAndAdd(a4, x, w); a5 = AvxVnni.MultiplyWideningAndAdd(a5, x, w);
            a6 = AvxVnni.MultiplyWideningAndAdd(a6, x, w); a7 = AvxVnni.MultiplyWideningAndAdd(a7, x, w);
            a8 = AvxVnni.MultiplyWideningAndAdd(a8, x, w); a9 = AvxVnni.MultiplyWideningAndAdd(a9, x, w);
            a10 = AvxVnni.MultiplyWideningAndAdd(a10, x, w); a11 = AvxVnni.MultiplyWideningAndAdd(a11, x, w);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int PeakAvx2()
    {
        var x = Vector256.Create((short)3);
        var w = Vector256.Create((short)-2);
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default;
        Vector256<int> a6 = default, a7 = default, a8 = default, a9 = default, a10 = default, a11 = default;
        for (int i = 0; i < Iterations; i++)
        {
            a0 += Avx2.MultiplyAddAdjacent(x, w); a1 += Avx2.MultiplyAddAdjacent(x, w); a2 += Avx2.MultiplyAddAdjacent(x, w);
            a3 += Avx2.MultiplyAddAdjacent(x, w); a4 += Avx2.MultiplyAddAdjacent(x, w); a5 += Avx2.MultiplyAddAdjacent(x, w);
            a6 += Avx2.MultiplyAddAdjacent(x, w); a7 += Avx2.MultiplyAddAdjacent(x, w); a8 += Avx2.MultiplyAddAdjacent(x, w);
            a9 += Avx2.MultiplyAddAdjacent(x, w); a10 += Avx2.MultiplyAddAdjacent(x, w); a11 += Avx2.MultiplyAddAdjacent(x, w);
            x += Vector256<short>.One; // keeps the JIT from hoisting the products out of the loop
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}

/// <summary>The generated GEMM routines of one INT8 class (every class carries the same text).</summary>
internal static class GeneratedKernels
{
    private const string Kernels = "QuantGen.Benchmarks.ResNetInt8+Kernels, QuantGen.Benchmarks";

    [UnsafeAccessor(UnsafeAccessorKind.StaticMethod, Name = "GemmU8S8")]
    public static extern void GemmU8S8([UnsafeAccessorType(Kernels)] object? kernels, ReadOnlySpan<byte> packed, ReadOnlySpan<sbyte> weights,
        Span<int> acc, int rows, int k4, int pixels, ReadOnlySpan<int> quadOffsets, Span<short> widenedWeights);

    [UnsafeAccessor(UnsafeAccessorKind.StaticMethod, Name = "GemvU8S8")]
    public static extern void GemvU8S8([UnsafeAccessorType(Kernels)] object? kernels, ReadOnlySpan<byte> x, ReadOnlySpan<sbyte> packedWeights,
        Span<int> acc, int blocks, int k4);
}

/// <summary>The Conv and Gemm layers of the INT8 sample models, read through the compiler with each model's calibration.</summary>
internal static class SampleLayers
{
    public sealed record Entry(string Key, string Model, LayerGemm Gemm);

    public static IReadOnlyList<Entry> All { get; } = Load();

    private static List<Entry> Load()
    {
        var entries = new List<Entry>();
        foreach (string model in new[] { "fashion_cnn", "fashion_mlp", "fashion_resnet" })
        {
            string path = Path.Combine(AppContext.BaseDirectory, "Models", model + ".onnx");
            var bytes = File.ReadAllBytes(path);
            var graph = ModelCompiler.Prepare(bytes, path);
            var options = new CompilerOptions { ModelPath = path, CalibrationJson = File.ReadAllText(Path.ChangeExtension(path, ".calib.json")) };
            var diagnostics = new List<QuantGen.Compiler.Diagnostics.ModelDiagnostic>();
            var setup = QuantGen.Compiler.Quantization.QuantizationSetup.Resolve(graph, bytes, options, diagnostics);
            ModelCompiler.Quantize(graph, options with { CalibrationRanges = setup.Ranges, KeepFloat = setup.KeepFloat.ToList() });
            foreach (var layer in LayerGemms.Of(graph))
                entries.Add(new Entry($"{model}{layer.Node}", model, layer));
        }
        return entries;
    }
}
