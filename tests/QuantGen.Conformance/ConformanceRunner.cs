using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Testing;

namespace QuantGen.Conformance;

internal enum Outcome
{
    Passed,
    Failed,

    /// <summary>The model also uses an operator QuantGen does not support: not run, not a failure.</summary>
    NotSupported,
}

internal sealed record TestResult(NodeTest Test, Outcome Outcome, string? Reason, IReadOnlyList<string> Baked)
{
    public string Name => Test.Name;
    public string Operator => Test.Operator;
}

internal sealed record SuiteResult(string Root, IReadOnlyList<TestResult> Results, TimeSpan Elapsed);

/// <summary>
/// Runs every node test whose operators are all supported: generate through the real generator (Float32),
/// compile in batches, run on test_data_set_0 and compare each output.
/// </summary>
internal static class ConformanceRunner
{
    /// <summary>Models per Roslyn compilation: one compilation costs about a second plus a little per model.</summary>
    public const int BatchSize = 40;

    public static SuiteResult Run(string root)
    {
        var clock = Stopwatch.StartNew();
        var tests = NodeTestSuite.Discover(root);
        var results = new List<TestResult>();
        var prepared = new List<PreparedTest>();
        foreach (var test in tests)
        {
            if (!test.IsSupported)
            {
                results.Add(new TestResult(test, Outcome.NotSupported, "uses " + string.Join(", ", test.UnsupportedOps), Array.Empty<string>()));
                continue;
            }
            try
            {
                prepared.Add(PreparedTest.Create(test));
            }
            catch (ModelCompileException e)
            {
                results.Add(new TestResult(test, Outcome.Failed, string.Join(" ", e.Diagnostics.Select(d => d.Id + ": " + d.Message)), Array.Empty<string>()));
            }
            catch (Exception e)
            {
                results.Add(new TestResult(test, Outcome.Failed, "the compiler crashed: " + e.GetType().Name + ": " + e.Message, Array.Empty<string>()));
            }
        }

        // Batches compile in parallel (Roslyn's own parallelism leaves cores idle while it binds and emits).
        var batches = prepared.Select((p, i) => (p, i)).GroupBy(x => x.i / BatchSize, x => x.p).Select(g => g.ToList()).ToList();
        var batchResults = new List<TestResult>[batches.Count];
        Parallel.For(0, batches.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount) },
            b => batchResults[b] = RunBatch(batches[b]));
        results.AddRange(batchResults.SelectMany(r => r));
        results.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return new SuiteResult(root, results, clock.Elapsed);
    }

    private static List<TestResult> RunBatch(List<PreparedTest> tests)
    {
        var results = new List<TestResult>();
        using var batch = ModelBatch.Build(tests.Select(t => new BatchModel(t.ClassName, t.Model, t.Graph)).ToList());
        foreach (var test in tests)
        {
            var member = batch.Members[test.ClassName];
            string? reason = member.Error ?? Execute(test, member);
            results.Add(new TestResult(test.Test, reason == null ? Outcome.Passed : Outcome.Failed, reason, test.Baked));
        }
        return results;
    }

    private static string? Execute(PreparedTest test, BatchMember member)
    {
        Array[] outputs;
        try
        {
            outputs = member.Run(test.Inputs);
        }
        catch (Exception e)
        {
            return "Predict threw " + e.GetType().Name + ": " + e.Message;
        }
        var graph = test.Graph;
        if (graph.Outputs.Count != test.Expected.Length)
            return $"the model has {graph.Outputs.Count} outputs, the test expects {test.Expected.Length}";
        for (int i = 0; i < outputs.Length; i++)
        {
            var value = graph[graph.Outputs[i]];
            string? mismatch = OutputComparison.Compare(graph.Outputs[i], value.Shape!, value.Type, outputs[i], test.Expected[i]);
            if (mismatch != null) return mismatch;
        }
        return null;
    }
}
