using System.Linq;
using QuantGen.Compiler.Execution;
using QuantGen.Compiler.Ir;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Compiler.Tests.Passes;

/// <summary>Shared helpers of the pass tests: build, import, and compare outputs before and after a pass.</summary>
internal static class PassTestModels
{
    /// <summary>Imports a model with shapes inferred and constants folded, but no other pass run.</summary>
    public static Graph Imported(OnnxModelBuilder builder)
    {
        var graph = Onnx.OnnxModelReader.Read(builder.ToBytes(), "test.onnx");
        Compiler.Passes.CheckSupportedOperators.Run(graph);
        Compiler.Passes.ShapeInference.Run(graph);
        return graph;
    }

    public static string[] Ops(Graph graph) => graph.Nodes.Select(n => n.OpType).ToArray();

    /// <summary>The graph's first output on a deterministic random input, through the reference executor.</summary>
    public static float[] Evaluate(Graph graph, int seed = 1)
    {
        var input = graph[graph.Inputs[0]];
        var data = OnnxModelBuilder.RandomFloats(input.Length, seed, 1f);
        return ReferenceExecutor.RunOutputs(graph, new[] { Tensor.FromFloats(input.Shape!, data) })[0].Floats!;
    }

    public static void Close(float[] expected, float[] actual, float tolerance = 1e-5f)
    {
        Assert.Equal(expected.Length, actual.Length);
        float scale = System.Math.Max(1e-6f, expected.Max(System.Math.Abs));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(System.Math.Abs(expected[i] - actual[i]) <= tolerance * scale, $"element {i}: expected {expected[i]}, got {actual[i]}");
    }
}
