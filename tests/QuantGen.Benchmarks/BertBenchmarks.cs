using System;
using System.IO;
using System.Linq;
using BenchmarkDotNet.Attributes;
using QuantGen.Compiler;
using QuantGen.Compiler.Export;

namespace QuantGen.Benchmarks;

/// <summary>
/// The BERT-base-size encoder of scripts/make_bert_base.py (12 layers, hidden 768, 110 M parameters, random weights)
/// at sequence 128, batch 1, one thread: ONNX Runtime FP32 on the .onnx (baseline), ONNX Runtime on the QDQ model
/// <c>quantgen export</c> writes with the calibration the INT8 class uses, and the generated FP32 and INT8 classes.
/// Input: the script's first calibration sample (128 real tokens). Built only when the model and its calibration file
/// are in artifacts/bert/ (see docs/performance.md); otherwise Program.cs skips this class and says why.
/// </summary>
[MemoryDiagnoser]
public class BertBenchmarks
{
    /// <summary>Where make_bert_base.py writes the model, relative to the repository root.</summary>
    public const string ModelPath = "artifacts/bert/bert_base.onnx";

    /// <summary>Whether this program was built with the model (the generated classes exist).</summary>
#if QUANTGEN_BERT
    public static bool Available { get; } = true;
#else
    public static bool Available { get; } = false;
#endif

    private long[] _ids = null!;
    private long[] _mask = null!;
    private readonly float[] _logits = new float[2];
    private OnnxRuntimePeer? _onnxRuntime;
    private OnnxRuntimePeer? _onnxRuntimeInt8;

    private static string Repo(string relative) => Path.Combine(FindRepositoryRoot(), relative);

    private void LoadInput()
    {
        _ids = ReadFirstRow(Repo("artifacts/bert/bert_base.input_ids.npy"));
        _mask = ReadFirstRow(Repo("artifacts/bert/bert_base.attention_mask.npy"));
    }

    [GlobalSetup(Target = nameof(OnnxRuntime))]
    public void SetupOnnxRuntime()
    {
        LoadInput();
        _onnxRuntime = new OnnxRuntimePeer(Repo(ModelPath), [_ids, _mask], _logits);
    }

    [GlobalSetup(Target = nameof(OnnxRuntimeInt8))]
    public void SetupOnnxRuntimeInt8()
    {
        LoadInput();
        _onnxRuntimeInt8 = new OnnxRuntimePeer(QdqModel(), [_ids, _mask], _logits);
    }

    [GlobalSetup(Targets = [nameof(GeneratedFloat32), nameof(GeneratedInt8)])]
    public void SetupGenerated() => LoadInput();

    [GlobalCleanup]
    public void Cleanup()
    {
        _onnxRuntime?.Dispose();
        _onnxRuntimeInt8?.Dispose();
    }

    [Benchmark(Baseline = true, Description = "ONNX Runtime")]
    public void OnnxRuntime() => _onnxRuntime!.Run();

    [Benchmark(Description = "ONNX Runtime INT8 (quantgen export)")]
    public void OnnxRuntimeInt8() => _onnxRuntimeInt8!.Run();

#if QUANTGEN_BERT
    [Benchmark(Description = "QuantGen FP32")]
    public void GeneratedFloat32() => BertFloat32.Predict(_ids, _mask, _logits);

    [Benchmark(Description = "QuantGen INT8")]
    public void GeneratedInt8() => BertInt8.Predict(_ids, _mask, _logits);
#else
    public void GeneratedFloat32() => throw new InvalidOperationException("built without the BERT model");

    public void GeneratedInt8() => throw new InvalidOperationException("built without the BERT model");
#endif

    /// <summary>
    /// Before benchmarking: each column once on the first sample, logits printed. Generated FP32 must be within 1e-3 of
    /// ONNX Runtime FP32 and generated INT8 within 0.05 of ONNX Runtime on the QDQ export (the same scales and int8
    /// weights; float steps between them may round differently), and neither generated class may allocate.
    /// </summary>
    public static bool Preflight()
    {
#if QUANTGEN_BERT
        var b = new BertBenchmarks();
        b.SetupOnnxRuntime();
        b.SetupOnnxRuntimeInt8();
        try
        {
            float[] Logits(Action run) { run(); return (float[])b._logits.Clone(); }
            var ortFloat = Logits(b.OnnxRuntime);
            var ortInt8 = Logits(b.OnnxRuntimeInt8);
            var float32 = Logits(b.GeneratedFloat32);
            var int8 = Logits(b.GeneratedInt8);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 3; i++) { b.GeneratedFloat32(); b.GeneratedInt8(); }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            static string F(float[] v) => string.Join(", ", v.Select(x => x.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
            static float Diff(float[] a, float[] c) => a.Zip(c, (x, y) => Math.Abs(x - y)).Max();
            Console.WriteLine($"BERT-base logits, sample 0: ORT FP32 [{F(ortFloat)}], QuantGen FP32 [{F(float32)}]; ORT INT8 [{F(ortInt8)}], QuantGen INT8 [{F(int8)}]; {allocated} B allocated by 6 generated calls");
            bool ok = Diff(ortFloat, float32) <= 1e-3f && Diff(ortInt8, int8) <= 0.05f && allocated == 0;
            if (!ok) Console.WriteLine("BERT-base preflight failed: FP32 off by " + Diff(ortFloat, float32) + ", INT8 off by " + Diff(ortInt8, int8) + ", " + allocated + " B allocated");
            return ok;
        }
        finally
        {
            b.Cleanup();
        }
#else
        return true;
#endif
    }

    /// <summary>
    /// The QDQ export (what <c>quantgen export</c> writes) of the model with its calibration file, cached beside them as
    /// bert_base.int8.qdq.onnx and written again when the model, the calibration or this program is newer: exporting
    /// 440 MB takes a while, and each benchmark case runs in its own process.
    /// </summary>
    public static string QdqModel()
    {
        string model = Repo(ModelPath), calibration = Path.ChangeExtension(model, ".calib.json");
        string path = Path.ChangeExtension(model, ".int8.qdq.onnx");
        DateTime inputs = new[] { File.GetLastWriteTimeUtc(model), File.GetLastWriteTimeUtc(calibration), File.GetLastWriteTimeUtc(typeof(QdqExporter).Assembly.Location) }.Max();
        if (File.Exists(path) && File.GetLastWriteTimeUtc(path) > inputs) return path;
        var export = QdqExporter.Export(File.ReadAllBytes(model), new CompilerOptions
        {
            ModelPath = model,
            Dimensions = ["sequence=128"],
            CalibrationJson = File.ReadAllText(calibration),
            CalibrationPath = calibration,
        });
        File.WriteAllBytes(path, export.Model);
        return path;
    }

    /// <summary>Row 0 of an int64 [N, L] .npy file (format version 1, C order).</summary>
    public static long[] ReadFirstRow(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        int headerLength = BitConverter.ToUInt16(bytes, 8);
        string header = System.Text.Encoding.ASCII.GetString(bytes, 10, headerLength);
        if (!header.Contains("'<i8'", StringComparison.Ordinal))
            throw new InvalidDataException($"{path}: expected int64 data, header {header.Trim()}");
        string shape = header[(header.IndexOf('(') + 1)..header.IndexOf(')')];
        int length = int.Parse(shape.Split(',')[1].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var row = new long[length];
        Buffer.BlockCopy(bytes, 10 + headerLength, row, 0, length * 8);
        return row;
    }

    /// <summary>The repository: the first folder up from here (or the current directory) that holds QuantGen.sln.</summary>
    public static string FindRepositoryRoot()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "QuantGen.sln"))) return dir.FullName;
        }
        throw new DirectoryNotFoundException("QuantGen.sln not found above the current directory or the program");
    }
}

#if QUANTGEN_BERT
[QuantGen.OnnxModel("Models/bert_base_fp32.onnx", Precision = QuantGen.Precision.Float32, Dimensions = new[] { "sequence=128" })]
internal static partial class BertFloat32;

// INT8 with the calibration beside the model (artifacts/bert/bert_base.calib.json, the default: the model's full path with .calib.json).
[QuantGen.OnnxModel("Models/bert_base_int8.onnx", Dimensions = new[] { "sequence=128" })]
internal static partial class BertInt8;
#endif
