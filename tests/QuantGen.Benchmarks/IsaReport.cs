using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace QuantGen.Benchmarks;

/// <summary>
/// What this process can use: the CPU and the instruction sets the JIT enabled. Every benchmark table names
/// the ISA (docs/performance.md). The runtime's switches change these answers, and BenchmarkDotNet's child
/// processes inherit them: on .NET 10 DOTNET_EnableAVX512=0 (DOTNET_EnableAVX512F=0 is ignored there),
/// DOTNET_EnableAVXVNNI=0, DOTNET_EnableAVX2=0, DOTNET_EnableHWIntrinsic=0.
/// </summary>
internal static class IsaReport
{
    public static string CpuModel()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.StartsWith("model name", StringComparison.Ordinal))
                    return line[(line.IndexOf(':') + 1)..].Trim();
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return "unknown (no /proc/cpuinfo)";
    }

    /// <summary>The path QuantGen's INT8 kernels would take, widest first (the names of docs/design.md).</summary>
    public static string Summary()
    {
        // .NET 10 exposes VNNI as AvxVnni (256-bit vpdpbusd); there is no 512-bit VNNI class yet.
        if (Avx512F.IsSupported && AvxVnni.IsSupported) return "AVX-512 + AVX-VNNI";
        if (Avx512F.IsSupported) return "AVX-512";
        if (Avx2.IsSupported && AvxVnni.IsSupported) return "AVX2 + AVX-VNNI";
        if (Avx2.IsSupported) return "AVX2";
        if (Vector128.IsHardwareAccelerated) return "SSE (128-bit vectors only)";
        return "scalar (no hardware intrinsics)";
    }

    public static string[] Lines() =>
    [
        $"CPU: {CpuModel()}, {Environment.ProcessorCount} logical cores, {RuntimeInformation.ProcessArchitecture}",
        $".NET: {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}",
        $"ISA: {Summary()}",
        $"  Avx512F.IsSupported={Avx512F.IsSupported} Avx512BW.IsSupported={Avx512BW.IsSupported} Avx512Vbmi.IsSupported={Avx512Vbmi.IsSupported}",
        $"  AvxVnni.IsSupported={AvxVnni.IsSupported} Avx2.IsSupported={Avx2.IsSupported} Fma.IsSupported={Fma.IsSupported}",
        $"  Vector512.IsHardwareAccelerated={Vector512.IsHardwareAccelerated} Vector256.IsHardwareAccelerated={Vector256.IsHardwareAccelerated} Vector128.IsHardwareAccelerated={Vector128.IsHardwareAccelerated}",
    ];
}
