using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Fortunes;
using Microsoft.CodeAnalysis;
using QuantGen.Compiler;
using QuantGen.Compiler.Calibration;
using QuantGen.Compiler.Ir;
using QuantGen.Testing;
using Xunit;
using Xunit.Abstractions;

namespace QuantGen.Accuracy;

/// <summary>
/// The text sample (samples/Fortunes): its two transformers built through the real generator, in process, with the
/// sample's Dimensions, run over the committed test slices in FP32 and INT8 and, for FP32, against ONNX Runtime.
/// Needs nothing but the committed files.
/// </summary>
public class FortunesTests(ITestOutputHelper output)
{
    private static string SampleDirectory => Path.Combine(ModelFiles.RepoRoot, "samples", "Fortunes");

    private static FortunesData Data { get; } = FortunesData.Load(Path.Combine(SampleDirectory, "Data"));

    private sealed record TextModel(string OnnxFile, string Dimension, int Sequence)
    {
        public string Path => System.IO.Path.Combine(SampleDirectory, "Models", OnnxFile);
        public string CalibrationPath => System.IO.Path.Combine(SampleDirectory, "Models", CalibrationFile.DefaultPathFor(OnnxFile));
        public byte[] Bytes => File.ReadAllBytes(Path);
        public string[] Dimensions => new[] { Dimension };
        public Graph Prepare() => ModelCompiler.Prepare(Bytes, "Models/" + OnnxFile, dimensions: Dimensions);
    }

    private static readonly TextModel LanguageModel = new("fortune_lm.onnx", "sequence=64", FortunesData.LmContext);
    private static readonly TextModel Classifier = new("fortune_classifier.onnx", "sequence=128", FortunesData.ClassifierLength);

    /// <summary>Builds the model with the generator as the sample's Models.cs declares it; INT8 reads the committed calibration file.</summary>
    private static LoadedModel Build(TextModel model, bool int8, string className, IReadOnlyList<string>? keepFloat = null) =>
        LoadedModel.Load(Generate(model, int8, className, keepFloat), model.Prepare(), className);

    private static GeneratorRun Generate(TextModel model, bool int8, string className, IReadOnlyList<string>? keepFloat = null)
    {
        string modelPath = "Models/" + model.OnnxFile;
        var additional = new List<AdditionalText> { ModelFiles.Transport(model.Bytes, modelPath) };
        if (int8)
            additional.Add(new InMemoryAdditionalText("/project/" + CalibrationFile.DefaultPathFor(modelPath), File.ReadAllText(model.CalibrationPath)));
        string precision = (int8 ? "" : ", Precision = QuantGen.Precision.Float32") + SensitivityGroups.KeepFloatArgument(keepFloat);
        string source = $"namespace Tests;\n\n[QuantGen.OnnxModel(\"{modelPath}\", Dimensions = new[] {{ \"{model.Dimension}\" }}{precision})]\npublic static partial class {className};\n";
        var run = GeneratorHarness.Run(new[] { source }, additional);
        var problems = run.AllDiagnostics.Where(d => d.Severity == DiagnosticSeverity.Error || d.Id is "QG0021").ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems)); // QG0021: no calibration file was used
        return run;
    }

    /// <summary>
    /// Both text models, FP32 and INT8, allocate nothing per Predict after a thread's first call (its workspace), with
    /// long and int token ids. Measured inside the generated assembly, so no reflection is counted; some round of 200
    /// calls must allocate 0 bytes (the runtime may allocate on the thread while tiered compilation swaps code in).
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Predict_allocates_nothing_after_warm_up(bool int8)
    {
        foreach (var model in new[] { LanguageModel, Classifier })
        {
            string className = (model == LanguageModel ? "AllocLm" : "AllocClassifier") + (int8 ? "Int8" : "Float");
            bool classifier = model == Classifier;
            string arguments = classifier ? "ids, mask, logits" : "ids, logits";
            string arguments32 = classifier ? "ids32, mask32, logits" : "ids32, logits";
            string harness = $$"""
                namespace Tests;

                public static class AllocationHarness
                {
                    public static long Round(long[] ids, long[] mask, int calls)
                    {
                        var logits = new float[{{className}}.OutputLength];
                        var ids32 = System.Array.ConvertAll(ids, v => (int)v);
                        var mask32 = System.Array.ConvertAll(mask, v => (int)v);
                        {{className}}.Predict({{arguments}});
                        {{className}}.Predict({{arguments32}});
                        long before = System.GC.GetAllocatedBytesForCurrentThread();
                        for (int i = 0; i < calls; i++)
                        {
                            {{className}}.Predict({{arguments}});
                            {{className}}.Predict({{arguments32}});
                        }
                        return System.GC.GetAllocatedBytesForCurrentThread() - before;
                    }
                }
                """;
            using var assembly = CompiledAssembly.Load(Generate(model, int8, className), harness);
            var round = assembly.Method<Func<long[], long[], int, long>>("Tests.AllocationHarness", "Round");
            long[] ids = classifier ? Row(Data.ClassifierInputIds, 0, model.Sequence) : Row(Data.LmInputIds, 0, model.Sequence);
            long[] mask = classifier ? Row(Data.ClassifierAttentionMask, 0, model.Sequence) : Array.Empty<long>();
            var rounds = new List<long>();
            for (int i = 0; i < 5 && (rounds.Count == 0 || rounds[^1] != 0); i++)
                rounds.Add(round(ids, mask, 200));
            Assert.True(rounds[^1] == 0, $"{className}: bytes allocated by each round of 200 calls: {string.Join(", ", rounds)}");
        }
    }

    private static long[] Row(long[] values, int row, int length) => values.AsSpan(row * length, length).ToArray();

    private static float[] RunLanguageModel(LoadedModel model, int window) =>
        (float[])model.Run(Row(Data.LmInputIds, window, FortunesData.LmContext))[0];

    private static float[] RunClassifier(LoadedModel model, int example) =>
        (float[])model.Run(Row(Data.ClassifierInputIds, example, FortunesData.ClassifierLength), Row(Data.ClassifierAttentionMask, example, FortunesData.ClassifierLength))[0];

    /// <summary>Perplexity per character over the windows whose logits are given.</summary>
    private static double Perplexity(IReadOnlyList<float[]> logits)
    {
        const int T = FortunesData.LmContext, V = FortunesData.VocabularySize;
        double nll = 0;
        for (int w = 0; w < logits.Count; w++)
            for (int t = 0; t < T; t++)
            {
                var row = logits[w].AsSpan(t * V, V);
                float max = row[0];
                foreach (float v in row) max = Math.Max(max, v);
                double sum = 0;
                foreach (float v in row) sum += Math.Exp(v - max);
                nll += max + Math.Log(sum) - row[(int)Data.LmTargets[w * T + t]];
            }
        return Math.Exp(nll / (logits.Count * T));
    }

    private static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }

    private static double Accuracy(IReadOnlyList<float[]> logits) =>
        (double)Enumerable.Range(0, logits.Count).Count(i => ArgMax(logits[i]) == Data.ClassifierLabels[i]) / logits.Count;

    private static float[][] OnnxRuntimeLanguageModel(int windows)
    {
        using var ort = new OnnxRuntimeReference(LanguageModel.Bytes);
        var shape = new[] { new[] { 1, FortunesData.LmContext } };
        return Enumerable.Range(0, windows).Select(w => (float[])ort.Run(new Array[] { Row(Data.LmInputIds, w, FortunesData.LmContext) }, shape)[0]).ToArray();
    }

    private static float[][] OnnxRuntimeClassifier()
    {
        using var ort = new OnnxRuntimeReference(Classifier.Bytes);
        var shapes = new[] { new[] { 1, FortunesData.ClassifierLength }, new[] { 1, FortunesData.ClassifierLength } };
        return Enumerable.Range(0, Data.ClassifierExamples).Select(i => (float[])ort.Run(
            new Array[] { Row(Data.ClassifierInputIds, i, FortunesData.ClassifierLength), Row(Data.ClassifierAttentionMask, i, FortunesData.ClassifierLength) }, shapes)[0]).ToArray();
    }

    /// <summary>Asserts every logit within <paramref name="tolerance"/> of ONNX Runtime's; returns the largest difference.</summary>
    private static float AssertClose(float[][] expected, float[][] actual, float tolerance, string what)
    {
        float worst = 0;
        for (int s = 0; s < expected.Length; s++)
            for (int i = 0; i < expected[s].Length; i++)
                worst = Math.Max(worst, Math.Abs(expected[s][i] - actual[s][i]));
        Assert.True(worst <= tolerance, $"{what}: largest |generated - ONNX Runtime| is {worst}, over {tolerance}");
        return worst;
    }

    [Fact]
    public void The_language_model_in_FP32_matches_OnnxRuntime_and_INT8_stays_within_2_percent_perplexity()
    {
        int windows = Data.LmWindows;
        var ort = OnnxRuntimeLanguageModel(windows);
        float[][] fp32, int8;
        using (var model = Build(LanguageModel, int8: false, "FortuneLmFloat"))
            fp32 = ParallelRun(windows, w => RunLanguageModel(model, w));
        using (var model = Build(LanguageModel, int8: true, "FortuneLm"))
            int8 = ParallelRun(windows, w => RunLanguageModel(model, w));
        double pOrt = Perplexity(ort), pFp32 = Perplexity(fp32), pInt8 = Perplexity(int8);
        output.WriteLine($"fortune_lm, {windows} windows x {FortunesData.LmContext}: perplexity ONNX Runtime {pOrt:F5}, generated FP32 {pFp32:F5}, INT8 {pInt8:F5} ({Signed((pInt8 / pFp32 - 1) * 100)}%)");
        output.WriteLine($"largest |FP32 - ONNX Runtime| logit difference: {AssertClose(ort, fp32, 1e-3f, "fortune_lm FP32"):G3}");
        Assert.True(pInt8 <= pFp32 * 1.02, $"INT8 perplexity {pInt8:F4} is more than 2% above FP32's {pFp32:F4}");
    }

    [Fact]
    public void The_classifier_in_FP32_matches_OnnxRuntime_and_INT8_stays_within_half_a_point()
    {
        int n = Data.ClassifierExamples;
        var ort = OnnxRuntimeClassifier();
        float[][] fp32, int8;
        using (var model = Build(Classifier, int8: false, "FortuneClassifierFloat"))
            fp32 = ParallelRun(n, i => RunClassifier(model, i));
        using (var model = Build(Classifier, int8: true, "FortuneClassifier"))
            int8 = ParallelRun(n, i => RunClassifier(model, i));
        double aOrt = Accuracy(ort), aFp32 = Accuracy(fp32), aInt8 = Accuracy(int8);
        int agree = Enumerable.Range(0, n).Count(i => ArgMax(int8[i]) == ArgMax(fp32[i]));
        output.WriteLine($"fortune_classifier, {n} test fortunes: accuracy ONNX Runtime {aOrt:P2}, generated FP32 {aFp32:P2}, INT8 {aInt8:P2} ({Signed((aInt8 - aFp32) * 100)} points; INT8 agrees with FP32 on {agree}/{n})");
        output.WriteLine($"largest |FP32 - ONNX Runtime| logit difference: {AssertClose(ort, fp32, 1e-3f, "fortune_classifier FP32"):G3}");
        Assert.True(Math.Abs(aInt8 - aFp32) <= 0.005, $"INT8 accuracy {aInt8:P2} is more than 0.5 point from FP32's {aFp32:P2}");
    }

    /// <summary>
    /// The evidence for the per-op INT8 defaults on the text models: INT8 with each kind of integer node kept in float in
    /// turn (<see cref="SensitivityGroups"/>), the rest as the default policy quantizes it. Writes
    /// samples/Fortunes/sensitivity.md and fails when it changed (commit it), as the accuracy suite does with accuracy.md.
    /// </summary>
    [Fact]
    public void INT8_sensitivity_by_kind_of_node_is_recorded()
    {
        var s = new System.Text.StringBuilder();
        s.Append("# INT8 sensitivity of the text models by kind of node\n\n");
        s.Append("<!-- Generated by tests/QuantGen.Accuracy (FortunesTests). Do not edit. -->\n\n");
        s.Append("INT8 static with one kind of integer node kept in float (`KeepFloat`), the rest as the default policy quantizes it, ")
            .Append("on the committed slices (512 windows of 64 characters for fortune_lm, 412 test fortunes for fortune_classifier); ")
            .Append("generated code, as the sample runs it. LayerNormalization, Softmax and Gelu are float in every row. ")
            .Append("The ViT's rows are in [docs/accuracy.md](../../docs/accuracy.md#int8-sensitivity-by-kind-of-node); the policy they support is in ")
            .Append("[docs/quantization.md](../../docs/quantization.md#transformers).\n\n");
        var c = System.Globalization.CultureInfo.InvariantCulture;
        foreach (var (model, lm) in new[] { (LanguageModel, true), (Classifier, false) })
        {
            int count = lm ? Data.LmWindows : Data.ClassifierExamples;
            double Measure(LoadedModel loaded) => lm
                ? Perplexity(ParallelRun(count, w => RunLanguageModel(loaded, w)))
                : 100 * Accuracy(ParallelRun(count, i => RunClassifier(loaded, i)));
            string name = Path.GetFileNameWithoutExtension(model.OnnxFile);
            string className = string.Concat(name.Split('_').Select(p => char.ToUpperInvariant(p[0]) + p.Substring(1)));
            double fp32, int8;
            using (var loaded = Build(model, int8: false, className + "SensitivityFloat")) fp32 = Measure(loaded);
            using (var loaded = Build(model, int8: true, className + "Sensitivity")) int8 = Measure(loaded);
            string Metric(double v) => lm ? v.ToString("F4", c) : v.ToString("F2", c) + "%";
            string Change(double v, double from) => lm ? Signed((v / from - 1) * 100) + "%" : Signed(v - from) + " pt";
            s.Append($"**{name}** ({(lm ? "perplexity per character, lower is better" : "accuracy")}): FP32 {Metric(fp32)}, INT8 static {Metric(int8)} ({Change(int8, fp32)}).\n\n");
            s.Append("| Kept in float | Nodes | ").Append(lm ? "Perplexity" : "Accuracy").Append(" | vs FP32 | vs INT8 static |\n|---|---|---|---|---|\n");
            var groups = SensitivityGroups.Of(model.Bytes, "Models/" + model.OnnxFile, File.ReadAllText(model.CalibrationPath), model.Dimensions);
            for (int g = 0; g < groups.Count; g++)
            {
                double v;
                using (var loaded = Build(model, int8: true, className + "Keep" + g, groups[g].Nodes)) v = Measure(loaded);
                output.WriteLine($"{name} with {groups[g].Kind} in float: {Metric(v)}");
                s.Append($"| {groups[g].Kind} | {groups[g].Nodes.Count} | {Metric(v)} | {Change(v, fp32)} | {Change(v, int8)} |\n");
            }
            s.Append('\n');
        }
        string path = Path.Combine(SampleDirectory, "sensitivity.md");
        string text = s.ToString();
        bool same = File.Exists(path) && File.ReadAllText(path).ReplaceLineEndings("\n") == text;
        if (!same)
        {
            File.WriteAllText(path, text);
            Assert.Fail("samples/Fortunes/sensitivity.md was out of date; commit it (it has been rewritten with this run's results).");
        }
    }

    /// <summary>
    /// The committed calibration files belong to the committed models. A missing or stale file is computed here, with
    /// QuantGen's in-process calibrator (float reference, the default method) over the committed calibration slices
    /// (Data/*_calib_*.npy.gz), written to samples/Fortunes/Models, and the test fails asking for a commit. A file
    /// from `quantgen calibrate` for the same model passes as it is.
    /// </summary>
    [Fact]
    public void The_calibration_files_are_current()
    {
        var stale = new List<string>();
        foreach (var (model, inputs) in new[]
        {
            (LanguageModel, new[] { "lm_calib_input_ids.npy.gz" }),
            (Classifier, new[] { "classifier_calib_input_ids.npy.gz", "classifier_calib_attention_mask.npy.gz" }),
        })
        {
            byte[] bytes = model.Bytes;
            string hash = ModelHash.Sha256Hex(bytes);
            if (File.Exists(model.CalibrationPath) && CalibrationFile.Read(File.ReadAllText(model.CalibrationPath)).Matches(hash))
                continue;
            var data = inputs.Select(f => FortunesData.ReadInt64Npy(Path.Combine(SampleDirectory, "Data", f), model.Sequence)).ToArray();
            var calibrator = new Calibrator(model.Prepare());
            for (int s = 0; s < data[0].Length / model.Sequence; s++)
                calibrator.Observe(data.Select(d => Tensor.FromLongs(DataType.Int64, new[] { 1, model.Sequence }, Row(d, s, model.Sequence))).ToArray());
            File.WriteAllText(model.CalibrationPath, calibrator.Finish(hash, model.OnnxFile).Write());
            stale.Add(model.CalibrationPath);
        }
        Assert.True(stale.Count == 0, $"{string.Join(", ", stale)} was missing or stale and has been recomputed; commit it");
    }

    // "+0.12" / "-0.12": a custom format's sections would print "-+0.00" for a small negative that rounds to zero.
    private static string Signed(double value) => (value < 0 ? "-" : "+") + Math.Abs(value).ToString("F2", System.Globalization.CultureInfo.InvariantCulture);

    private static float[][] ParallelRun(int count, Func<int, float[]> run)
    {
        var results = new float[count][];
        Parallel.For(0, count, i => results[i] = run(i));
        return results;
    }
}
