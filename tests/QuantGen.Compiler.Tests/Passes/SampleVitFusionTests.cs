using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using QuantGen.Compiler.Ir;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Quantization.QuantTestKit;

namespace QuantGen.Compiler.Tests.Passes;

/// <summary>
/// The sample ViT as torch 1.13 really exports it (samples/FashionMnist/train/train_vit.py), not a hand-built pattern:
/// at opset 17 with LayerNormalization nodes and the GELU as Div/Erf/Add/Mul/Mul, at opset 13 with every LayerNorm
/// decomposed as well. Both must come out of the optimizing passes as the same graph of 9 LayerNormalization and 4
/// Gelu nodes, with nothing of the patterns left over, and compute what PyTorch computed.
/// </summary>
public class SampleVitFusionTests
{
    private const int Blocks = 4;
    private const int LayerNorms = 2 * Blocks + 1;   // two per encoder block and the final one

    public static TheoryData<string> Files => new() { "fashion_vit.onnx", "fashion_vit_opset13.onnx" };

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_LayerNorm_and_Gelu_of_the_export_is_fused(string file)
    {
        var graph = ModelCompiler.Prepare(SampleModel(file), file);
        var ops = graph.Nodes.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
        string found = string.Join(", ", ops.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}"));
        Assert.True(ops.GetValueOrDefault("LayerNormalization") == LayerNorms, $"{file}: {found}");
        Assert.True(ops.GetValueOrDefault("Gelu") == Blocks, $"{file}: {found}");
        foreach (var leftover in new[] { "Erf", "ReduceMean", "Pow", "Sqrt", "Div", "Sub" })
            Assert.False(ops.ContainsKey(leftover), $"{file}: {leftover} is left after fusion ({found})");
    }

    [Fact]
    public void Both_opsets_optimize_to_the_same_operators()
    {
        string Ops(string file) => string.Join(" ", ModelCompiler.Prepare(SampleModel(file), file).Nodes.Select(n => n.OpType));
        Assert.Equal(Ops("fashion_vit.onnx"), Ops("fashion_vit_opset13.onnx"));
    }

    /// <summary>The optimized graph's float reference against the logits PyTorch recorded at export (reference.json).</summary>
    [Theory]
    [MemberData(nameof(Files))]
    public void The_fused_graph_computes_the_logits_PyTorch_recorded(string file)
    {
        var graph = ModelCompiler.Prepare(SampleModel(file), file);
        string referencePath = Path.Combine(ModelFiles.RepoRoot, "samples", "FashionMnist", "Models", "fashion_vit.reference.json");
        using var reference = JsonDocument.Parse(File.ReadAllText(referencePath));
        var expected = reference.RootElement.GetProperty("first_8_test_logits").EnumerateArray()
            .Select(row => row.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray();
        var images = FashionImages(expected.Length);
        for (int i = 0; i < images.Length; i++)
        {
            var actual = Reference(graph, images[i])[0].Floats!;
            for (int c = 0; c < 10; c++)
                Assert.True(Math.Abs(actual[c] - expected[i][c]) <= 1e-4f * Math.Max(1f, Math.Abs(expected[i][c])),
                    $"{file}, image {i}, logit {c}: QuantGen's reference {actual[c]}, PyTorch {expected[i][c]}");
        }
    }
}
