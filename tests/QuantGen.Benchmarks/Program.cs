// QuantGen benchmarks: generated INT8 and FP32 code against ONNX Runtime FP32, batch 1, one thread; each INT8 layer's
// GEMM against the machine's measured int8 peak (GOPS and % of peak printed after the tables).
//   dotnet run -c Release --project tests/QuantGen.Benchmarks                 BenchmarkDotNet's default job
//   dotnet run -c Release --project tests/QuantGen.Benchmarks -- --short      1 launch, 3 warm-up, 5 measured iterations (CI)
//   dotnet run -c Release --project tests/QuantGen.Benchmarks -- --preflight  only the checks: outputs vs ORT, 0 B per call
//   ... -- --short --filter '*BertBenchmarks*'  the BERT-base-size encoder (only when artifacts/bert/ holds it; docs/performance.md)
// Other arguments go to BenchmarkDotNet (e.g. --filter '*Int8*'). Results and the ISA: docs/performance.md.
using System;
using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using QuantGen.Benchmarks;

var arguments = new List<string>(args);
bool shortRun = arguments.Remove("--short");
bool preflightOnly = arguments.Remove("--preflight");

PrintMachine();
Console.WriteLine();

// Listing or help runs nothing, so it needs no preflight.
bool benchmarking = !arguments.Any(a => a is "--list" or "--help" or "-h" or "--info" or "--version");
if (benchmarking && !Preflight.Run())
{
    Console.WriteLine("Preflight failed: not benchmarking code that is wrong or allocates.");
    return 1;
}

// The BERT checks load a 440 MB model into two sessions: only when its benchmarks are asked for.
if (benchmarking && BertBenchmarks.Available && arguments.Any(a => a.Contains("Bert", StringComparison.Ordinal)) && !BertBenchmarks.Preflight())
{
    Console.WriteLine("BERT-base preflight failed: not benchmarking code that is wrong or allocates.");
    return 1;
}

if (preflightOnly) return 0;

IConfig config = DefaultConfig.Instance;
if (shortRun)
{
    config = config.AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(5).WithId("Short"));
}

// Without a filter BenchmarkSwitcher would ask which benchmarks to run; run them all.
if (!arguments.Any(a => a.StartsWith("--filter", StringComparison.Ordinal) || a == "-f"))
{
    arguments.AddRange(["--filter", "*"]);
}

var types = new List<Type> { typeof(ModelBenchmarks), typeof(LayerBenchmarks), typeof(PeakBenchmarks) };
if (BertBenchmarks.Available)
{
    types.Add(typeof(BertBenchmarks));
}
else
{
    Console.WriteLine($"BertBenchmarks skipped: {BertBenchmarks.ModelPath} and its .calib.json were not there when this program was built.");
    Console.WriteLine("  Make them with /usr/bin/python3 scripts/make_bert_base.py artifacts/bert/bert_base.onnx and");
    Console.WriteLine("  quantgen calibrate artifacts/bert/bert_base.onnx --data input_ids=artifacts/bert/bert_base.input_ids.npy");
    Console.WriteLine("  --data attention_mask=artifacts/bert/bert_base.attention_mask.npy --dim sequence=128, then run this program again (docs/performance.md).");
}

var summaries = BenchmarkSwitcher.FromTypes(types.ToArray())
    .Run(arguments.ToArray(), config).ToList();
LayerReport.Print(summaries);

// BenchmarkDotNet's log names each benchmark process's intrinsics (// HardwareIntrinsics=...); repeat ours under the tables.
Console.WriteLine();
PrintMachine();
bool failed = summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success));
return failed ? 1 : 0;

static void PrintMachine()
{
    foreach (string line in IsaReport.Lines()) Console.WriteLine(line);
}
