using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using QuantGen.Compiler.Ops;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Conformance;

/// <summary>
/// The ONNX node tests of every supported operator must pass, except those in known-failures.txt. The suite runs
/// once (the first test pays for it) and writes docs/ops.md.
/// </summary>
public class NodeTestConformanceTests
{
    private static readonly Lazy<(SuiteResult Suite, IReadOnlyDictionary<string, string> Known)> Suite = new(() =>
    {
        var known = KnownFailures.Load();
        var suite = ConformanceRunner.Run(NodeTestSuite.Root);
        string docs = Path.Combine(ModelFiles.RepoRoot, "docs", "ops.md");
        File.WriteAllText(docs, OpsTableWriter.Write(suite, known));
        Console.WriteLine($"ONNX node tests: {suite.Results.Count(r => r.Outcome == Outcome.Passed)} passed of {suite.Results.Count(r => r.Outcome != Outcome.NotSupported)} run in {suite.Elapsed.TotalSeconds:F0} s; wrote {docs}");
        return (suite, known);
    });

    public static TheoryData<string> SupportedOperators => new(OperatorRegistry.SupportedOps);

    [Theory]
    [MemberData(nameof(SupportedOperators))]
    public void Operator_passes_its_node_tests(string op)
    {
        var (suite, known) = Suite.Value;
        var results = suite.Results.Where(r => r.Operator == op && r.Outcome != Outcome.NotSupported).ToList();
        var unexpected = results.Where(r => r.Outcome == Outcome.Failed && !known.ContainsKey(r.Name)).Select(r => $"{r.Name}: {r.Reason}").ToList();
        var stale = results.Where(r => r.Outcome == Outcome.Passed && known.ContainsKey(r.Name)).Select(r => r.Name).ToList();
        var problems = unexpected.Concat(stale.Select(n => $"{n} passes now: remove it from known-failures.txt")).ToList();
        Assert.True(problems.Count == 0, $"{op}: {problems.Count} problem(s) in its ONNX node tests (see docs/ops.md):\n" + string.Join("\n", problems));
    }

    [Fact]
    public void Known_failures_name_failing_tests_of_supported_operators()
    {
        var (suite, known) = Suite.Value;
        var byName = suite.Results.ToDictionary(r => r.Name);
        var wrong = known.Keys.Where(name => !byName.TryGetValue(name, out var r) || r.Outcome == Outcome.NotSupported)
            .Select(name => byName.ContainsKey(name) ? $"{name}: uses an unsupported operator, so it is not run" : $"{name}: no such node test")
            .ToList();
        Assert.True(wrong.Count == 0, "known-failures.txt lists tests that cannot fail:\n" + string.Join("\n", wrong));
    }
}
