using System.Collections.Generic;

namespace QuantGen.Compiler.Emit;

// The INT8 building blocks of the generated kernels: per-layer code (im2col offsets, shapes, weights packed at build
// time) calls these shared routines with its constants. Each dispatches once on the instruction sets the JIT reports
// (IsSupported folds to a constant): AVX-VNNI, AVX2 (int16 widening: exact, no vpmaddubsw saturation), portable
// Vector128 (ARM64 AdvSimd, SSE), scalar. Every path computes the same int32 sums and the same fixed-point
// requantization as the scalar reference, bit for bit (IntegerKernelTests runs under each instruction set in CI).
// The sources live in KernelHelpers.Int8.{Layout,Gemm,Requantize,Elementwise}.cs; this file names them and their
// dependencies (a helper that calls another pulls it into the generated class).
public static partial class KernelHelpers
{
    public const string PadU8 = "PadU8";
    public const string PackQuadU8 = "PackQuadU8";
    public const string GemmU8S8 = "GemmU8S8";
    public const string GemvU8S8 = "GemvU8S8";
    public const string GemvRows4U8S8 = "GemvRows4U8S8";
    public const string RequantizeRowU8 = "RequantizeRowU8";
    public const string RequantizeRowsU8 = "RequantizeRowsU8";
    public const string MaxPool2x2RequantizeU8 = "MaxPool2x2RequantizeU8";
    public const string RequantizeAddRowsU8 = "RequantizeAddRowsU8";
    public const string RequantizeChannelsU8 = "RequantizeChannelsU8";
    public const string QAddU8 = "QAddU8";
    public const string QuantizeRowU8 = "QuantizeRowU8";
    public const string DequantizeRowS8 = "DequantizeRowS8";
    public const string MaxPool2x2U8 = "MaxPool2x2U8";
    private const string RequantizeVector = "RequantizeToU8x8";
    private const string NarrowToBytes = "NarrowToBytes";
    private const string MultiplyRoundShift = "MultiplyRoundShift";
    private const string PairSums = "PairSums";
    private const string QAddValues = "QAddValues";

    private static void AddInt8Helpers(Dictionary<string, string> sources, Dictionary<string, string[]> dependencies)
    {
        AddInt8LayoutHelpers(sources);
        AddInt8GemmHelpers(sources);
        AddInt8RequantizeHelpers(sources);
        AddInt8ElementwiseHelpers(sources);
        dependencies[RequantizeRowU8] = new[] { MultiplyRoundShift, NarrowToBytes, RequantizeToU8 };
        dependencies[RequantizeChannelsU8] = new[] { RequantizeVector, NarrowToBytes, RequantizeToU8 };
        dependencies[QuantizeRowU8] = new[] { QuantizeU8 };
        dependencies[RequantizeRowsU8] = new[] { RequantizeRowU8 };
        dependencies[MaxPool2x2RequantizeU8] = new[] { MultiplyRoundShift, NarrowToBytes, RequantizeToU8 };
        dependencies[GemmU8S8] = new[] { PairSums };
        dependencies[GemvU8S8] = new[] { PairSums };
        dependencies[GemvRows4U8S8] = new[] { GemvU8S8, PairSums };
        dependencies[QAddU8] = new[] { QAddValues, NarrowToBytes };
        dependencies[QAddValues] = new[] { MultiplyRoundShift };
        dependencies[RequantizeAddRowsU8] = new[] { QAddValues, MultiplyRoundShift, NarrowToBytes, RequantizeToU8 };
    }
}
