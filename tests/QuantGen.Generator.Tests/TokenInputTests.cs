using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Testing.OnnxModelBuilder;

namespace QuantGen.Generator.Tests;

/// <summary>
/// Models whose inputs are token ids and attention masks (int64, [batch, sequence] with named free dimensions, as
/// exporters write them): the Dimensions option fixes the sequence length at build time, Predict takes
/// ReadOnlySpan&lt;long&gt; and, widened without allocating, ReadOnlySpan&lt;int&gt;; results match ONNX Runtime.
/// </summary>
public class TokenInputTests
{
    private const int Vocab = 50, Hidden = 8, Classes = 3, Sequence = 16;

    /// <summary>
    /// Masked mean pooling over a token embedding, then a linear layer:
    /// logits = (Σ_s emb[ids[s]] · mask[s]) / Σ_s mask[s] · W + b. The mask is applied with Cast/Unsqueeze/Mul
    /// (<paramref name="useWhere"/> false) or Cast to bool/Unsqueeze/Where (true).
    /// </summary>
    internal static byte[] MeanPoolingClassifier(bool useWhere = false, string sequenceName = "sequence") =>
        Classifier(useWhere, "batch", sequenceName);

    private static byte[] Classifier(bool useWhere, object batch, object sequence)
    {
        var b = new OnnxModelBuilder(opset: 13, graphName: "token_classifier")
            .TypedInput("input_ids", ElementType.Int64, batch, sequence)
            .TypedInput("attention_mask", ElementType.Int64, batch, sequence)
            .Initializer("embeddings.weight", new long[] { Vocab, Hidden }, RandomFloats(Vocab * Hidden, seed: 11, scale: 1f))
            .Initializer("classifier.weight", new long[] { Hidden, Classes }, RandomFloats(Hidden * Classes, seed: 12))
            .Initializer("classifier.bias", new long[] { Classes }, new[] { 0.1f, -0.2f, 0.3f })
            .Initializer("axis2", new long[] { 1 }, new long[] { 2 })
            .Initializer("axis1", new long[] { 1 }, new long[] { 1 })
            .Node("/embeddings/Gather", "Gather", new[] { "embeddings.weight", "input_ids" }, new[] { "tokens" }, OnnxAttribute.Int("axis", 0))
            .Node("/mask/Cast", "Cast", new[] { "attention_mask" }, new[] { "mask_f" }, OnnxAttribute.Int("to", ElementType.Float));
        if (useWhere)
        {
            b.Initializer("zero", Array.Empty<long>(), new[] { 0f })
                .Node("/mask/CastBool", "Cast", new[] { "attention_mask" }, new[] { "mask_b" }, OnnxAttribute.Int("to", ElementType.Bool))
                .Node("/mask/UnsqueezeBool", "Unsqueeze", new[] { "mask_b", "axis2" }, new[] { "mask_b3" })
                .Node("/pool/Where", "Where", new[] { "mask_b3", "tokens", "zero" }, new[] { "masked" });
        }
        else
        {
            b.Node("/mask/Unsqueeze", "Unsqueeze", new[] { "mask_f", "axis2" }, new[] { "mask_3" })
                .Node("/pool/Mul", "Mul", new[] { "tokens", "mask_3" }, new[] { "masked" });
        }
        return b
            .Node("/pool/ReduceSum", "ReduceSum", new[] { "masked", "axis1" }, new[] { "summed" }, OnnxAttribute.Int("keepdims", 0))
            .Node("/pool/Count", "ReduceSum", new[] { "mask_f", "axis1" }, new[] { "count" }, OnnxAttribute.Int("keepdims", 1))
            .Node("/pool/Div", "Div", new[] { "summed", "count" }, new[] { "pooled" })
            .Node("/classifier/MatMul", "MatMul", new[] { "pooled", "classifier.weight" }, new[] { "projected" })
            .Node("/classifier/Add", "Add", new[] { "projected", "classifier.bias" }, new[] { "logits" })
            .Output("logits")
            .ToBytes();
    }

    private const string Options = ", Precision = QuantGen.Precision.Float32, Dimensions = new[] { \"sequence=16\" }";

    // Predict with arrays of both widths, with and without a caller workspace, and allocation measured inside the
    // loaded assembly (so no reflection or delegate plumbing is counted).
    private const string Harness = """
        namespace Tests;

        public static class TokenHarness
        {
            public static void PredictLong(long[] ids, long[] mask, float[] logits) => TokenNet.Predict(ids, mask, logits);
            public static void PredictInt(int[] ids, int[] mask, float[] logits) => TokenNet.Predict(ids, mask, logits);
            public static void PredictIntIn(int[] ids, int[] mask, float[] logits, byte[] workspace) => TokenNet.Predict(ids, mask, logits, workspace);

            public static long AllocatedBytes(long[] ids, long[] mask, int[] ids32, int[] mask32, float[] logits, int width, int calls)
            {
                System.Span<byte> workspace = new byte[TokenNet.WorkspaceBytes];
                for (int round = 0; round < 2; round++)
                {
                    long before = System.GC.GetAllocatedBytesForCurrentThread();
                    for (int i = 0; i < calls; i++)
                    {
                        if (width == 64) TokenNet.Predict(ids, mask, logits);
                        else if (width == 32) TokenNet.Predict(ids32, mask32, logits);
                        else TokenNet.Predict(ids32, mask32, logits, workspace);
                    }
                    long allocated = System.GC.GetAllocatedBytesForCurrentThread() - before;
                    if (round == 1) return allocated; // the first round warms up (the thread's workspace, tiering)
                }
                return -1;
            }
        }
        """;

    private static CompiledAssembly Compile(byte[] model, string options = Options, string className = "TokenNet", params string[] harness)
    {
        var run = GeneratorHarness.RunModel(model, className: className, attributeArguments: options, modelPath: "Models/token_classifier.onnx");
        Assert.Empty(run.AllDiagnostics);
        return CompiledAssembly.Load(run, harness.Length == 0 ? new[] { Harness } : harness);
    }

    /// <summary>Token ids in [-Vocab, Vocab) (negative ones count from the end, as ONNX Gather allows) and a mask with padding at the end.</summary>
    private static (long[] Ids, long[] Mask) Tokens(int seed, int length = Sequence, int padding = 5)
    {
        var random = new Random(seed);
        var ids = Enumerable.Range(0, length).Select(_ => (long)random.Next(-Vocab, Vocab)).ToArray();
        var mask = Enumerable.Range(0, length).Select(i => i < length - padding ? 1L : 0L).ToArray();
        return (ids, mask);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Long_and_int_token_spans_match_onnx_runtime(bool useWhere)
    {
        var model = MeanPoolingClassifier(useWhere);
        using var assembly = Compile(model);
        var predictLong = assembly.Method<Action<long[], long[], float[]>>("Tests.TokenHarness", "PredictLong");
        var predictInt = assembly.Method<Action<int[], int[], float[]>>("Tests.TokenHarness", "PredictInt");
        using var reference = new OnnxRuntimeReference(model);

        for (int seed = 0; seed < 5; seed++)
        {
            var (ids, mask) = Tokens(seed, padding: seed);
            var expected = (float[])reference.Run(new Array[] { ids, mask }, new[] { new[] { 1, Sequence }, new[] { 1, Sequence } })[0];

            var fromLong = new float[Classes];
            predictLong(ids, mask, fromLong);
            var fromInt = new float[Classes];
            predictInt(ids.Select(i => (int)i).ToArray(), mask.Select(m => (int)m).ToArray(), fromInt);

            TensorAssert.Close(expected, fromLong, 1e-5f);
            Assert.Equal(fromLong, fromInt); // the same int64 values reach the same kernels
        }
    }

    [Fact]
    public void Dimensions_can_also_fix_the_batch()
    {
        var model = MeanPoolingClassifier();
        const string harness = """
            namespace Tests;

            public static class BatchHarness
            {
                public static void Predict(long[] ids, long[] mask, float[] logits) => BatchNet.Predict(ids, mask, logits);
            }
            """;
        using var assembly = Compile(model, ", Precision = QuantGen.Precision.Float32, Dimensions = new[] { \"batch=2\", \" sequence = 4 \" }", "BatchNet", harness);
        Assert.Equal(8, assembly.Constant("Tests.BatchNet", "Input_idsLength"));
        Assert.Equal(6, assembly.Constant("Tests.BatchNet", "OutputLength"));

        var ids = new long[] { 1, 2, 3, 4, 49, -1, 0, 7 };
        var mask = new long[] { 1, 1, 1, 0, 1, 1, 0, 0 };
        var expected = (float[])new OnnxRuntimeReference(model).Run(new Array[] { ids, mask }, new[] { new[] { 2, 4 }, new[] { 2, 4 } })[0];
        var actual = new float[6];
        assembly.Method<Action<long[], long[], float[]>>("Tests.BatchHarness", "Predict")(ids, mask, actual);
        TensorAssert.Close(expected, actual, 1e-5f);
    }

    [Fact]
    public void Predict_overloads_take_long_and_int_spans_named_after_the_onnx_inputs()
    {
        using var assembly = Compile(MeanPoolingClassifier());
        var overloads = assembly.Assembly.GetType("Tests.TokenNet")!.GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Where(m => m.Name == "Predict")
            .Select(m => string.Join(", ", m.GetParameters().Select(p => $"{Short(p.ParameterType)} {p.Name}")))
            .OrderBy(s => s, StringComparer.Ordinal);
        Assert.Equal(new[]
        {
            "ReadOnlySpan<Int32> input_ids, ReadOnlySpan<Int32> attention_mask, Span<Single> output",
            "ReadOnlySpan<Int32> input_ids, ReadOnlySpan<Int32> attention_mask, Span<Single> output, Span<Byte> workspace",
            "ReadOnlySpan<Int64> input_ids, ReadOnlySpan<Int64> attention_mask, Span<Single> output",
            "ReadOnlySpan<Int64> input_ids, ReadOnlySpan<Int64> attention_mask, Span<Single> output, Span<Byte> workspace",
        }, overloads);
        Assert.Equal(Sequence, assembly.Constant("Tests.TokenNet", "Input_idsLength"));
        Assert.Equal(Sequence, assembly.Constant("Tests.TokenNet", "Attention_maskLength"));
        Assert.Equal(Classes, assembly.Constant("Tests.TokenNet", "OutputLength"));
        Assert.Null(assembly.Constant("Tests.TokenNet", "InputLength"));

        static string Short(Type t) => t.IsGenericType ? $"{t.Name.Substring(0, t.Name.IndexOf('`'))}<{t.GetGenericArguments()[0].Name}>" : t.Name;
    }

    [Theory]
    [InlineData(15, 16, 3, "input_ids", 16)]
    [InlineData(17, 16, 3, "input_ids", 16)]
    [InlineData(16, 0, 3, "attention_mask", 16)]
    [InlineData(16, 16, 4, "output", 3)]
    public void Wrong_lengths_throw_naming_the_parameter_and_the_expected_length_in_both_widths(int ids, int mask, int logits, string parameter, int expected)
    {
        using var assembly = Compile(MeanPoolingClassifier());
        var predictLong = assembly.Method<Action<long[], long[], float[]>>("Tests.TokenHarness", "PredictLong");
        var predictInt = assembly.Method<Action<int[], int[], float[]>>("Tests.TokenHarness", "PredictInt");

        foreach (var e in new[]
        {
            Assert.Throws<ArgumentException>(() => predictLong(new long[ids], new long[mask], new float[logits])),
            Assert.Throws<ArgumentException>(() => predictInt(new int[ids], new int[mask], new float[logits])),
        })
        {
            Assert.Equal(parameter, e.ParamName);
            Assert.Contains($"Expected {expected} elements", e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(Vocab)]
    [InlineData(Vocab + 1000)]
    [InlineData(-Vocab - 1)]
    [InlineData(int.MaxValue)]
    public void A_token_id_outside_the_embedding_table_throws_and_never_reads_past_it(int badId)
    {
        using var assembly = Compile(MeanPoolingClassifier());
        var predictLong = assembly.Method<Action<long[], long[], float[]>>("Tests.TokenHarness", "PredictLong");
        var predictInt = assembly.Method<Action<int[], int[], float[]>>("Tests.TokenHarness", "PredictInt");
        var (ids, mask) = Tokens(seed: 7);
        ids[3] = badId;

        foreach (var e in new[]
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => predictLong(ids, mask, new float[Classes])),
            Assert.Throws<ArgumentOutOfRangeException>(() => predictInt(ids.Select(i => (int)i).ToArray(), mask.Select(m => (int)m).ToArray(), new float[Classes])),
        })
        {
            Assert.Equal("input_ids", e.ParamName);
            Assert.Equal((long)badId, e.ActualValue);
            Assert.Contains($"index {badId} at element 3 of 'input_ids' is outside [-{Vocab}, {Vocab - 1}]", e.Message, StringComparison.Ordinal);
            Assert.Contains("'/embeddings/Gather'", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_int_overload_widens_into_the_workspace_past_the_model_arena()
    {
        using var assembly = Compile(MeanPoolingClassifier());
        var predictInt = assembly.Method<Action<int[], int[], float[]>>("Tests.TokenHarness", "PredictInt");
        var predictIntIn = assembly.Method<Action<int[], int[], float[], byte[]>>("Tests.TokenHarness", "PredictIntIn");
        int workspaceBytes = (int)assembly.Constant("Tests.TokenNet", "WorkspaceBytes")!;
        var (ids, mask) = Tokens(seed: 3);
        var ids32 = ids.Select(i => (int)i).ToArray();
        var mask32 = mask.Select(m => (int)m).ToArray();

        var expected = new float[Classes];
        predictInt(ids32, mask32, expected);
        var actual = new float[Classes];
        predictIntIn(ids32, mask32, actual, Enumerable.Repeat((byte)0xCD, workspaceBytes).ToArray()); // dirty, exact size
        Assert.Equal(expected, actual);

        // Room for both int64 copies (16 ids x 8 bytes each, 64-byte aligned) is part of WorkspaceBytes.
        Assert.True(workspaceBytes >= 2 * Sequence * sizeof(long), $"WorkspaceBytes = {workspaceBytes}");
        var e = Assert.Throws<ArgumentException>(() => predictIntIn(ids32, mask32, actual, new byte[workspaceBytes - 1]));
        Assert.Equal("workspace", e.ParamName);
    }

    [Theory]
    [InlineData(64)]
    [InlineData(32)]
    [InlineData(0)] // int32 with a caller workspace
    public void Predict_allocates_nothing_per_call(int width)
    {
        using var assembly = Compile(MeanPoolingClassifier());
        var measure = assembly.Method<Func<long[], long[], int[], int[], float[], int, int, long>>("Tests.TokenHarness", "AllocatedBytes");
        var (ids, mask) = Tokens(seed: 5);
        var rounds = new List<long>();
        // A round may see the runtime allocate while tiered compilation swaps code in; Predict allocating shows in every round.
        for (int i = 0; i < 5 && (rounds.Count == 0 || rounds[^1] != 0); i++)
            rounds.Add(measure(ids, mask, ids.Select(x => (int)x).ToArray(), mask.Select(x => (int)x).ToArray(), new float[Classes], width, 1000));
        Assert.True(rounds[^1] == 0, "bytes allocated by each round of 1000 calls: " + string.Join(", ", rounds));
    }

    [Fact]
    public void Int8_build_of_a_token_model_runs_both_widths_alike()
    {
        // Default precision without calibration: dynamic INT8 (QG0021 says so); the token path is the same.
        var run = GeneratorHarness.RunModel(MeanPoolingClassifier(), className: "TokenNet", attributeArguments: ", Dimensions = new[] { \"sequence=16\" }", modelPath: "Models/token_classifier.onnx");
        Assert.Equal(new[] { "QG0021" }, run.AllDiagnostics.Select(d => d.Id));
        using var assembly = CompiledAssembly.Load(run, Harness);
        var (ids, mask) = Tokens(seed: 9);
        var fromLong = new float[Classes];
        assembly.Method<Action<long[], long[], float[]>>("Tests.TokenHarness", "PredictLong")(ids, mask, fromLong);
        var fromInt = new float[Classes];
        assembly.Method<Action<int[], int[], float[]>>("Tests.TokenHarness", "PredictInt")(ids.Select(i => (int)i).ToArray(), mask.Select(m => (int)m).ToArray(), fromInt);
        Assert.Equal(fromLong, fromInt);
        var expected = (float[])new OnnxRuntimeReference(MeanPoolingClassifier()).Run(new Array[] { ids, mask }, new[] { new[] { 1, Sequence }, new[] { 1, Sequence } })[0];
        TensorAssert.Close(expected, fromLong, 0.05f);
    }

    [Fact]
    public void Token_model_main_file_snapshot()
    {
        var run = GeneratorHarness.RunModel(MeanPoolingClassifier(), className: "TokenNet", attributeArguments: Options, modelPath: "Models/token_classifier.onnx");
        Assert.Empty(run.AllDiagnostics);
        SnapshotAssert.Matches("Tests.TokenNet.g", run.Sources["Tests.TokenNet.g.cs"].Replace(
            "// QuantGen " + typeof(QuantGen.Compiler.ModelCompiler).Assembly.GetName().Version!.ToString(3) + ":", "// QuantGen {version}:", StringComparison.Ordinal));
    }
}
