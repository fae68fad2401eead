using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using BenchmarkDotNet.Reports;

namespace QuantGen.Benchmarks;

/// <summary>GOPS (2 operations per multiply-accumulate) and % of the measured peak for each layer benchmark of a run.</summary>
internal static class LayerReport
{
    public static void Print(IEnumerable<Summary> summaries)
    {
        var reports = summaries.SelectMany(s => s.Reports).Where(r => r.Success && r.ResultStatistics != null).ToList();
        var peak = reports.FirstOrDefault(r => r.BenchmarkCase.Descriptor.Type == typeof(PeakBenchmarks));
        var layers = reports.Where(r => r.BenchmarkCase.Descriptor.Type == typeof(LayerBenchmarks)).ToList();
        if (layers.Count == 0) return;
        double? peakMacs = peak != null && PeakBenchmarks.MacsPerCall > 0 ? PeakBenchmarks.MacsPerCall / (peak.ResultStatistics!.Mean * 1e-9) : null;
        Console.WriteLine();
        Console.WriteLine(peakMacs is double p
            ? $"Measured int8 peak ({IsaReport.Summary()}): {p / 1e9:F1} GMAC/s = {2 * p / 1e9:F1} GOPS"
            : "No int8 peak for this ISA (neither AVX-VNNI nor AVX2): % of peak left out.");
        Console.WriteLine();
        Console.WriteLine("| layer | GEMM | MACs | time | GOPS | % of peak |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var r in layers)
        {
            string key = (string)r.BenchmarkCase.Parameters["Layer"];
            var entry = SampleLayers.All.Single(e => e.Key == key);
            double seconds = r.ResultStatistics!.Mean * 1e-9;
            double macsPerSecond = entry.Gemm.Macs / seconds;
            string shape = entry.Gemm.IsGemv
                ? $"{entry.Gemm.Calls} x gemv {entry.Gemm.Rows * 8}x{entry.Gemm.K4 * 4}"
                : $"{entry.Gemm.Calls} x {entry.Gemm.Rows}x{entry.Gemm.K4 * 4}x{entry.Gemm.Pixels}";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {key} | {shape} | {entry.Gemm.Macs:N0} | {seconds * 1e6:F2} us | {2 * macsPerSecond / 1e9:F1} | {(peakMacs is double pk ? (100 * macsPerSecond / pk).ToString("F0", CultureInfo.InvariantCulture) + "%" : "n/a")} |"));
        }
    }
}
