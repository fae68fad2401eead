using System;
using System.Collections.Concurrent;
using System.IO;
using QuantGen.Compiler;
using QuantGen.Compiler.Calibration;
using QuantGen.Compiler.Export;

namespace QuantGen.Benchmarks;

/// <summary>
/// ONNX Runtime's INT8 peer: each sample model exported as QDQ by <see cref="QdqExporter"/> (what <c>quantgen export</c>
/// runs) with the calibration the generated INT8 class uses, so both run the same scales and int8 weights. Written once
/// per process, at setup, into a temporary folder: a committed export could drift from the compiler that made it.
/// </summary>
internal static class QdqModels
{
    private static readonly ConcurrentDictionary<string, string> s_paths = new(StringComparer.Ordinal);

    /// <summary>The path of the exported QDQ model of <paramref name="model"/> (written on first use).</summary>
    public static string PathOf(BenchmarkModel model) => s_paths.GetOrAdd(model.Name, _ => Export(model));

    private static string Export(BenchmarkModel model)
    {
        byte[] bytes = File.ReadAllBytes(model.OnnxPath);
        string calibration = CalibrationFile.DefaultPathFor(model.OnnxPath);
        var options = new CompilerOptions
        {
            ModelPath = model.OnnxPath,
            // fashion_qat has no calibration file: its own QuantizeLinear/DequantizeLinear scales are exported, as its INT8 class uses them.
            CalibrationJson = File.Exists(calibration) ? File.ReadAllText(calibration) : null,
            CalibrationPath = calibration,
        };
        var export = QdqExporter.Export(bytes, options);
        string folder = Path.Combine(Path.GetTempPath(), "quantgen-benchmarks-" + Environment.ProcessId);
        if (!Directory.Exists(folder))
        {
            Directory.CreateDirectory(folder);
            AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteQuietly(folder);
        }
        string path = Path.Combine(folder, model.Name + ".int8.onnx");
        File.WriteAllBytes(path, export.Model);
        return path;
    }

    private static void DeleteQuietly(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A leftover temporary folder is not worth failing a benchmark run for.
        }
    }
}
