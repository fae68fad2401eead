// QuantGen's text sample: a character-level GPT and a BERT-style classifier trained on the Debian `fortunes`
// package, compiled to C# at build time in FP32 and INT8, run with no ONNX Runtime.
// Prints the language model's perplexity per character on 512 held-out windows and the classifier's accuracy on the
// 412 held-out fortunes of its 6 categories, for each precision, with the time per Predict and the bytes allocated
// per call. The timings come from a plain Stopwatch loop on one thread, for display only (no statistics, other jobs
// on the machine show up in them): measure with tests/QuantGen.Benchmarks for figures to quote.
using System;
using System.Diagnostics;
using Fortunes;

if (args.Length > 0)
{
    Console.Error.WriteLine("usage: Fortunes (no arguments)");
    return 2;
}

var data = FortunesData.Load();
Console.WriteLine("QuantGen sample: two small transformers trained on the Debian fortunes package");
Console.WriteLine();

Console.WriteLine($"Character LM (input_ids [1, {FortunesData.LmContext}] -> logits [1, {FortunesData.LmContext}, {FortunesData.VocabularySize}]), " +
                  $"{data.LmWindows} test windows, {data.LmTargets.Length} characters");
var lmFp32 = MeasureLanguageModel("FP32", FortuneLmFloat.Predict, data);
var lmInt8 = MeasureLanguageModel("INT8", FortuneLm.Predict, data);
Console.WriteLine($"{"model",-6} {"perplexity",11} {"next-char top-1",16} {"time/call",12} {"allocated/call",15}");
foreach (var r in new[] { lmFp32, lmInt8 })
    Console.WriteLine($"{r.Name,-6} {r.Metric,11:F4} {r.Secondary,16:P2} {r.MicrosecondsPerCall,9:F0} us {r.BytesPerCall,13:F0} B");
Console.WriteLine($"INT8 / FP32 perplexity: {Signed((lmInt8.Metric / lmFp32.Metric - 1) * 100)}%");
Console.WriteLine();

Console.WriteLine($"Category classifier (input_ids, attention_mask [1, {FortunesData.ClassifierLength}] -> logits [1, {FortunesData.Categories.Length}]: " +
                  $"{string.Join(", ", FortunesData.Categories)}), {data.ClassifierExamples} test fortunes");
var clsFp32 = MeasureClassifier("FP32", FortuneClassifierFloat.Predict, data);
var clsInt8 = MeasureClassifier("INT8", FortuneClassifier.Predict, data);
Console.WriteLine($"{"model",-6} {"accuracy",11} {"agrees w/ FP32",16} {"time/call",12} {"allocated/call",15}");
foreach (var r in new[] { clsFp32, clsInt8 })
    Console.WriteLine($"{r.Name,-6} {r.Metric,11:P2} {Agreement(r.Predictions!, clsFp32.Predictions!),16:P2} {r.MicrosecondsPerCall,9:F0} us {r.BytesPerCall,13:F0} B");
Console.WriteLine($"INT8 - FP32 accuracy: {Signed((clsInt8.Metric - clsFp32.Metric) * 100)} points");
return 0;

static Result MeasureLanguageModel(string name, LanguageModelPredict predict, FortunesData data)
{
    const int T = FortunesData.LmContext, V = FortunesData.VocabularySize;
    var logits = new float[T * V];
    predict(data.LmInputIds.AsSpan(0, T), logits); // the thread's first call sets up its workspace
    long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();

    double nll = 0;
    int top1 = 0;
    for (int w = 0; w < data.LmWindows; w++)
    {
        predict(data.LmInputIds.AsSpan(w * T, T), logits);
        for (int t = 0; t < T; t++)
        {
            var row = logits.AsSpan(t * V, V);
            int target = (int)data.LmTargets[w * T + t];
            nll += LogSumExp(row) - row[target];
            if (ArgMax(row) == target) top1++;
        }
    }

    // Time single calls on one thread for about a second, after the pass above warmed up the JIT. Display only.
    var clock = Stopwatch.StartNew();
    int calls = 0;
    while (clock.ElapsedMilliseconds < 1000 || calls < 20)
        predict(data.LmInputIds.AsSpan(calls++ % data.LmWindows * T, T), logits);
    clock.Stop();

    long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
    int count = data.LmTargets.Length;
    return new Result(name, Math.Exp(nll / count), (double)top1 / count, clock.Elapsed.TotalMicroseconds / calls,
        (double)allocated / (data.LmWindows + calls), null);
}

static Result MeasureClassifier(string name, ClassifierPredict predict, FortunesData data)
{
    const int T = FortunesData.ClassifierLength;
    var predictions = new int[data.ClassifierExamples];
    Span<float> logits = stackalloc float[FortunesData.Categories.Length];
    predict(data.ClassifierInputIds.AsSpan(0, T), data.ClassifierAttentionMask.AsSpan(0, T), logits);
    long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();

    int correct = 0;
    for (int i = 0; i < data.ClassifierExamples; i++)
    {
        predict(data.ClassifierInputIds.AsSpan(i * T, T), data.ClassifierAttentionMask.AsSpan(i * T, T), logits);
        predictions[i] = ArgMax(logits);
        if (predictions[i] == data.ClassifierLabels[i]) correct++;
    }

    var clock = Stopwatch.StartNew();
    int calls = 0;
    while (clock.ElapsedMilliseconds < 1000 || calls < 20)
    {
        int i = calls++ % data.ClassifierExamples;
        predict(data.ClassifierInputIds.AsSpan(i * T, T), data.ClassifierAttentionMask.AsSpan(i * T, T), logits);
    }
    clock.Stop();

    long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
    return new Result(name, (double)correct / data.ClassifierExamples, 0, clock.Elapsed.TotalMicroseconds / calls,
        (double)allocated / (data.ClassifierExamples + calls), predictions);
}

// "+0.12" / "-0.12": a custom format's sections would print "-+0.00" for a small negative that rounds to zero.
static string Signed(double value) => (value < 0 ? "-" : "+") + Math.Abs(value).ToString("F2", System.Globalization.CultureInfo.InvariantCulture);

static double LogSumExp(ReadOnlySpan<float> values)
{
    float max = values[0];
    foreach (float v in values) max = Math.Max(max, v);
    double sum = 0;
    foreach (float v in values) sum += Math.Exp(v - max);
    return max + Math.Log(sum);
}

static int ArgMax(ReadOnlySpan<float> values)
{
    int best = 0;
    for (int i = 1; i < values.Length; i++)
        if (values[i] > values[best]) best = i;
    return best;
}

static double Agreement(int[] a, int[] b)
{
    int same = 0;
    for (int i = 0; i < a.Length; i++)
        if (a[i] == b[i]) same++;
    return (double)same / a.Length;
}

delegate void LanguageModelPredict(ReadOnlySpan<long> inputIds, Span<float> logits);

delegate void ClassifierPredict(ReadOnlySpan<long> inputIds, ReadOnlySpan<long> attentionMask, Span<float> logits);

record Result(string Name, double Metric, double Secondary, double MicrosecondsPerCall, double BytesPerCall, int[]? Predictions);
