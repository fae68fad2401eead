using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using QuantGen.Compiler.Onnx.Proto;
using QuantGen.Compiler.Ops;

namespace QuantGen.Conformance;

/// <summary>
/// One directory of the ONNX node test suite: model.onnx and test_data_set_0/{input,output}_N.pb.
/// <see cref="Operator"/> is the op the test is about (see <see cref="NodeTestSuite.OperatorOf"/>).
/// </summary>
internal sealed record NodeTest(string Name, string Directory, string Operator, IReadOnlyList<string> OpTypes, IReadOnlyList<string> UnsupportedOps)
{
    public string ModelPath => Path.Combine(Directory, "model.onnx");
    public string DataSetPath => Path.Combine(Directory, "test_data_set_0");
    public bool IsSupported => UnsupportedOps.Count == 0;
}

/// <summary>Finds the node tests and sorts them by operator.</summary>
internal static class NodeTestSuite
{
    public const string DefaultRoot = "/usr/share/libonnx-testdata/data/node";

    /// <summary>The suite's folder: QUANTGEN_ONNX_NODE_TESTS when set, else where libonnx-testdata installs it.</summary>
    public static string Root => Environment.GetEnvironmentVariable("QUANTGEN_ONNX_NODE_TESTS") is { Length: > 0 } root ? root : DefaultRoot;

    public static IReadOnlyList<NodeTest> Discover(string root)
    {
        if (!System.IO.Directory.Exists(root))
            throw new InvalidOperationException($"The ONNX node test suite is not installed ({root} is missing). Install it with `apt-get install libonnx-testdata`.");
        var models = new List<(string Name, string Dir, List<string> Ops)>();
        foreach (var dir in System.IO.Directory.GetDirectories(root).OrderBy(d => d, StringComparer.Ordinal))
        {
            string file = Path.Combine(dir, "model.onnx");
            if (!File.Exists(file)) continue;
            var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(file));
            var ops = model.Graph.Node.Select(OpName).Distinct().ToList();
            models.Add((Path.GetFileName(dir), dir, ops));
        }
        if (models.Count == 0)
            throw new InvalidOperationException($"{root} holds no node tests. Reinstall them with `apt-get install --reinstall libonnx-testdata`.");

        var known = new HashSet<string>(models.SelectMany(m => m.Ops).Concat(OperatorRegistry.SupportedOps), StringComparer.Ordinal);
        var byName = models.ToDictionary(m => m.Name, m => m.Ops, StringComparer.Ordinal);
        return models.Select(m => new NodeTest(
                m.Name,
                m.Dir,
                OperatorOf(m.Name, m.Ops, byName, known),
                m.Ops,
                m.Ops.Where(op => !IsSupported(op)).ToList()))
            .ToList();
    }

    /// <summary>"Conv" for the default domain, "ai.onnx.ml:LabelEncoder" for others.</summary>
    private static string OpName(NodeProto node) => node.Domain is "" or "ai.onnx" ? node.OpType : node.Domain + ":" + node.OpType;

    private static bool IsSupported(string op) => !op.Contains(':') && OperatorRegistry.Find("", op) != null;

    /// <summary>
    /// The operator a test is about. Most models hold one node; function tests ("_expanded") hold the function's body,
    /// so they belong to the op of the test without the suffix; other multi-node tests are matched by name
    /// (test_maxpool_2d_pads → MaxPool: the longest op type whose lowercase name starts the test's name).
    /// </summary>
    internal static string OperatorOf(string test, IReadOnlyList<string> ops, IReadOnlyDictionary<string, List<string>> all, ICollection<string> known)
    {
        const string expanded = "_expanded";
        if (test.EndsWith(expanded, StringComparison.Ordinal) && all.TryGetValue(test.Substring(0, test.Length - expanded.Length), out var plain))
            return OperatorOf(test.Substring(0, test.Length - expanded.Length), plain, all, known);
        string name = test.StartsWith("test_", StringComparison.Ordinal) ? test.Substring(5) : test;
        name = name.Replace("_", "").ToLowerInvariant();
        string? Match(IEnumerable<string> candidates) => candidates
            .Where(op => name.StartsWith(op.Substring(op.IndexOf(':') + 1).ToLowerInvariant(), StringComparison.Ordinal))
            .OrderByDescending(op => op.Length).ThenBy(op => op, StringComparer.Ordinal).FirstOrDefault();
        return Match(ops)
            ?? (ops.Count == 1 ? ops[0] : null)
            ?? Match(known)
            ?? (ops.Count > 0 ? ops[0] : "(no nodes)");
    }
}
