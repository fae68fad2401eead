using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Quantization;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Quantization.QuantTestKit;

namespace QuantGen.Compiler.Tests.Quantization;

/// <summary>
/// Static quantization of calibrated float models: which nodes become integer kernels, which stay float and why,
/// how calibrated ranges become parameters, and the whole INT8 program against its integer reference, bit for bit.
/// </summary>
public class QuantizeGraphTests
{
    private static readonly int[] ImageShape = { 1, 3, 8, 8 };

    /// <summary>
    /// x → Conv + Relu → r1 → Conv → Add(·, r1) + Relu → Concat(·, r1) → AveragePool 3x3 s2 p1 → GlobalAveragePool →
    /// Flatten → Gemm: a residual block with a concatenation, every node of which has an integer kernel.
    /// </summary>
    private static byte[] ResidualModel() => new OnnxModelBuilder(13).Input("x", 1, 3, 8, 8)
        .Initializer("w1", new long[] { 8, 3, 3, 3 }, OnnxModelBuilder.RandomFloats(216, 1, 0.4f))
        .Initializer("b1", new long[] { 8 }, OnnxModelBuilder.RandomFloats(8, 2, 0.1f))
        .Node("conv1", "Conv", new[] { "x", "w1", "b1" }, new[] { "c1" }, OnnxAttribute.Ints("pads", 1, 1, 1, 1))
        .Node("relu1", "Relu", new[] { "c1" }, new[] { "r1" })
        .Initializer("w2", new long[] { 8, 8, 3, 3 }, OnnxModelBuilder.RandomFloats(576, 3, 0.2f))
        .Initializer("b2", new long[] { 8 }, OnnxModelBuilder.RandomFloats(8, 4, 0.1f))
        .Node("conv2", "Conv", new[] { "r1", "w2", "b2" }, new[] { "c2" }, OnnxAttribute.Ints("pads", 1, 1, 1, 1))
        .Node("add", "Add", new[] { "c2", "r1" }, new[] { "sum" })
        .Node("relu2", "Relu", new[] { "sum" }, new[] { "s" })
        .Node("cat", "Concat", new[] { "s", "r1" }, new[] { "cat" }, OnnxAttribute.Int("axis", 1))
        .Node("avg", "AveragePool", new[] { "cat" }, new[] { "avg" }, OnnxAttribute.Ints("kernel_shape", 3, 3), OnnxAttribute.Ints("strides", 2, 2), OnnxAttribute.Ints("pads", 1, 1, 1, 1))
        .Node("gap", "GlobalAveragePool", new[] { "avg" }, new[] { "gap" })
        .Node("flat", "Flatten", new[] { "gap" }, new[] { "flat" })
        .Initializer("w3", new long[] { 5, 16 }, OnnxModelBuilder.RandomFloats(80, 5, 0.5f))
        .Initializer("b3", new long[] { 5 }, OnnxModelBuilder.RandomFloats(5, 6, 0.1f))
        .Node("fc", "Gemm", new[] { "flat", "w3", "b3" }, new[] { "y" }, OnnxAttribute.Int("transB", 1))
        .Output("y", 1, 5)
        .ToBytes();

    private static IEnumerable<float[]> Samples(int count, int seed0 = 100, float scale = 1f) =>
        Enumerable.Range(seed0, count).Select(s => OnnxModelBuilder.RandomFloats(3 * 64, s, scale));

    private static (Graph Float, Graph Int8, QuantizationReport Report, Dictionary<string, (float, float)> Ranges) Quantized(byte[] model, IEnumerable<float[]> calibration, IReadOnlyCollection<string>? keepFloat = null)
    {
        var floatGraph = ModelCompiler.Prepare(model, "model.onnx");
        var ranges = Ranges(floatGraph, calibration);
        var graph = ModelCompiler.Prepare(model, "model.onnx");
        var report = ModelCompiler.Quantize(graph, GeneratedModel.Options(Precision.Int8, ranges) with { KeepFloat = (keepFloat ?? Array.Empty<string>()).ToList() });
        return (floatGraph, graph, report, ranges);
    }

    [Fact]
    public void The_report_records_every_uint8_tensors_parameters_and_each_integer_layers_weights()
    {
        var (_, graph, report, _) = Quantized(ResidualModel(), Samples(16));
        // Every uint8 tensor the pass created, with the parameters its Quantize/Dequantize nodes carry.
        var uint8 = graph.Values.Values.Where(v => v.Type == DataType.UInt8 && !v.IsConstant).Select(v => v.Name).ToHashSet();
        Assert.Equal(uint8.Order(StringComparer.Ordinal), report.Uint8Params.Keys.Order(StringComparer.Ordinal));
        foreach (var node in graph.Nodes.Where(n => n.OpType is "Quantize" or "Dequantize"))
        {
            var p = report.Uint8Params[node.OpType == "Quantize" ? node.Outputs[0] : node.Inputs[0]];
            Assert.Equal(node.Attributes["scale"].Float, p.Scale);
            Assert.Equal(node.Attributes["zero_point"].Int, p.ZeroPoint);
        }

        // Each QConv/QGemm: the int8 weights it reads, and the bias it adds once the input zero point is folded in.
        Assert.Equal(new[] { "conv1", "conv2", "fc" }, report.Weights.Keys.Order(StringComparer.Ordinal));
        foreach (var node in graph.Nodes.Where(n => n.OpType is "QConv" or "QGemm"))
        {
            var w = report.Weights[node.Name];
            Assert.Equal(w.Weights.Values.Select(v => (long)v), graph[node.Inputs[1]].Constant!.Longs!);
            Assert.Equal(w.Input, report.Uint8Params[node.Inputs[0]]);
            Assert.Equal(w.Output, report.Uint8Params[node.Outputs[0]]);
            var folded = graph[node.Inputs[2]].Constant!.Longs!;
            for (int c = 0; c < w.Weights.Channels; c++)
                Assert.Equal(folded[c], w.Bias![c] - (long)w.Input.ZeroPoint * w.Weights.ChannelSum(c));
        }
    }

    [Fact]
    public void A_residual_block_runs_entirely_in_INT8()
    {
        var (floatGraph, graph, report, _) = Quantized(ResidualModel(), Samples(16));
        Assert.True(report.FloatNodes.Count == 0, "float nodes: " + string.Join(", ", report.FloatNodes));
        Assert.Equal(new[] { "Quantize", "QConv", "QConv", "QAdd", "QConcat", "QAveragePool", "QGlobalAveragePool", "Flatten", "QGemm", "Dequantize" },
            graph.Nodes.Select(n => n.OpType));
        Assert.Equal(new[] { "add", "avg", "cat", "conv1", "conv2", "fc", "gap" }, report.QuantizedNodes.OrderBy(n => n, StringComparer.Ordinal));
        // The Add's fused Relu is its clamp: y_min is the output's zero point.
        var add = graph.Nodes.Single(n => n.OpType == "QAdd");
        Assert.Equal(add.Attributes["y_zero_point"].Int, add.Attributes["y_min"].Int);

        var result = ModelCompiler.Compile(ResidualModel(), GeneratedModel.Options(Precision.Int8, Ranges(floatGraph, Samples(16))));
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == Diagnostics.ModelDiagnosticSeverity.Error);
        using var model = GeneratedModel.Load(result.Files, graph);
        double worst = 0;
        foreach (var x in Samples(6, seed0: 500))
        {
            var reference = Reference(graph, x)[0];
            BitExact(reference, model.Run(x)[0], "INT8 code vs its reference");
            var exact = Reference(floatGraph, x)[0].Floats!;
            float range = exact.Max(Math.Abs);
            worst = Math.Max(worst, exact.Zip(reference.Floats!, (e, a) => Math.Abs(e - a) / range).Max());
        }
        Assert.True(worst < 0.08, $"INT8 is {worst:P1} of the output range away from float");
    }

    [Fact]
    public void Generated_INT8_matches_its_reference_with_hardware_paths_of_any_width()
    {
        // Shapes whose loops have odd tails everywhere: 1x5x7x7, 5 and 7 output channels, 7-wide Gemm.
        var model = new OnnxModelBuilder(13).Input("x", 1, 5, 7, 7)
            .Initializer("w", new long[] { 7, 5, 3, 3 }, OnnxModelBuilder.RandomFloats(315, 8, 0.3f))
            .Node("conv", "Conv", new[] { "x", "w" }, new[] { "c" }, OnnxAttribute.Ints("strides", 2, 2))
            .Node("clip", "Clip", new[] { "c", "lo", "hi" }, new[] { "r" })
            .Initializer("lo", Array.Empty<long>(), new[] { 0f }).Initializer("hi", Array.Empty<long>(), new[] { 6f })
            .Node("flat", "Flatten", new[] { "r" }, new[] { "f" })
            .Initializer("w2", new long[] { 63, 7 }, OnnxModelBuilder.RandomFloats(441, 9, 0.3f))
            .Node("mm", "MatMul", new[] { "f", "w2" }, new[] { "y" })
            .Output("y", 1, 7).ToBytes();
        var floatGraph = ModelCompiler.Prepare(model, "model.onnx");
        var samples = Enumerable.Range(0, 8).Select(s => OnnxModelBuilder.RandomFloats(245, s, 4f)).ToList();
        var ranges = Ranges(floatGraph, samples);
        var graph = ModelCompiler.Prepare(model, "model.onnx");
        var report = ModelCompiler.Quantize(graph, GeneratedModel.Options(Precision.Int8, ranges));
        Assert.Empty(report.FloatNodes);
        var conv = graph.Nodes.Single(n => n.OpType == "QConv");
        // ReLU6 as clamp bounds: 0 and 6 in the output's grid.
        var p = QuantParams.FromRange(ranges["r"].Item1, ranges["r"].Item2);
        Assert.Equal(p.QuantizeBound(0f), conv.Attributes["y_min"].Int);
        Assert.Equal(p.QuantizeBound(6f), conv.Attributes["y_max"].Int);
        using var generated = GeneratedModel.Load(ModelCompiler.Compile(model, GeneratedModel.Options(Precision.Int8, ranges)).Files, graph);
        foreach (var x in samples)
            BitExact(Reference(graph, x)[0], generated.Run(x)[0], "INT8 code vs its reference");
    }

    [Fact]
    public void What_stays_float_is_reported_with_its_reason()
    {
        var model = new OnnxModelBuilder(13).Input("x", 1, 4, 3, 3)
            .Initializer("bias", new long[] { 1, 4, 1, 1 }, new[] { 0.1f, 0.2f, 0.3f, 0.4f })
            .Node("broadcast", "Add", new[] { "x", "bias" }, new[] { "a" })
            .Initializer("k", new long[] { 1, 4, 3, 3 }, OnnxModelBuilder.RandomFloats(36, 3))
            .Node("with_constant", "Add", new[] { "a", "k" }, new[] { "b" })
            .Node("sig", "Sigmoid", new[] { "b" }, new[] { "c0" })
            .Node("mul", "Mul", new[] { "c0", "b" }, new[] { "c" })
            .Node("uncalibrated", "Add", new[] { "c", "b" }, new[] { "d" })
            .Node("cat", "Concat", new[] { "k", "d" }, new[] { "e" }, OnnxAttribute.Int("axis", 1))
            .Output("e", 1, 8, 3, 3).ToBytes();
        var floatGraph = ModelCompiler.Prepare(model, "model.onnx");
        var ranges = Ranges(floatGraph, new[] { OnnxModelBuilder.RandomFloats(36, 1, 1f) });
        ranges.Remove("d");
        var graph = ModelCompiler.Prepare(model, "model.onnx");
        var report = ModelCompiler.Quantize(graph, GeneratedModel.Options(Precision.Int8, ranges));
        string Reason(string node) => report.FloatNodes.SingleOrDefault(f => f.Node == node).Reason
            ?? throw new Xunit.Sdk.XunitException($"'{node}' is not a float node; float nodes: {string.Join(", ", report.FloatNodes)}");
        Assert.Contains("broadcast", Reason("broadcast"));
        Assert.Contains("constant", Reason("with_constant"));
        Assert.Contains("no INT8 kernel for Mul", Reason("mul"));
        Assert.Contains("no calibration statistics for its output", Reason("uncalibrated"));
        Assert.Contains("constant", Reason("cat"));
        Assert.Equal(new[] { "sig" }, report.QuantizedNodes);  // a 256-entry table
    }

    [Fact]
    public void KeepFloat_leaves_a_node_in_float_and_its_neighbours_convert_at_the_boundary()
    {
        var (_, graph, report, _) = Quantized(ResidualModel(), Samples(8), keepFloat: new[] { "add" });
        Assert.Equal("listed in KeepFloat", report.FloatNodes.Single().Reason);
        var add = graph.Nodes.Single(n => n.Name == "add");
        Assert.Equal("Add", add.OpType);
        // Both inputs come back to float through Dequantize, the output goes on in uint8 through a Quantize.
        Assert.All(add.Inputs, i => Assert.Equal("Dequantize", graph.Producer(i)!.OpType));
        Assert.Contains(graph.Consumers(add.Outputs[0]), n => n.OpType == "Quantize");
    }

    [Fact]
    public void A_calibrated_range_that_excludes_zero_is_widened_to_include_it()
    {
        // The input lives in [2, 5]: its uint8 grid starts at 0.0 (zero point 0), scale 5 / 255.
        var model = new OnnxModelBuilder(13).Input("x", 1, 1, 4, 4)
            .Initializer("w", new long[] { 2, 1, 1, 1 }, new[] { 1f, -1f })
            .Node("conv", "Conv", new[] { "x", "w" }, new[] { "y" })
            .Output("y", 1, 2, 4, 4).ToBytes();
        var graph = ModelCompiler.Prepare(model, "model.onnx");
        var ranges = new Dictionary<string, (float, float)> { ["x"] = (2f, 5f), ["y"] = (-5f, 5f) };
        ModelCompiler.Quantize(graph, GeneratedModel.Options(Precision.Int8, ranges));
        var quantize = graph.Nodes.Single(n => n.OpType == "Quantize");
        Assert.Equal(5f / 255f, quantize.Attributes["scale"].Float);
        Assert.Equal(0, quantize.Attributes["zero_point"].Int);
        var x = Enumerable.Range(0, 16).Select(i => 2f + 3f * i / 15).ToArray();
        var y = Reference(graph, x)[0].Floats!;
        for (int i = 0; i < 16; i++)
        {
            Assert.Equal(x[i], y[i], 1);
            Assert.Equal(-x[i], y[16 + i], 1);
        }
    }

    [Fact]
    public void A_constant_tensor_gets_a_grid_from_zero_to_its_value()
    {
        // Zero weights: the Conv's output is its bias everywhere: range [3, 3], widened to [0, 3].
        var model = new OnnxModelBuilder(13).Input("x", 1, 1, 3, 3)
            .Initializer("w", new long[] { 1, 1, 1, 1 }, new[] { 0f })
            .Initializer("b", new long[] { 1 }, new[] { 3f })
            .Node("conv", "Conv", new[] { "x", "w", "b" }, new[] { "c" })
            .Node("relu", "Relu", new[] { "c" }, new[] { "y" })
            .Output("y", 1, 1, 3, 3).ToBytes();
        var floatGraph = ModelCompiler.Prepare(model, "model.onnx");
        var samples = Enumerable.Range(0, 4).Select(s => OnnxModelBuilder.RandomFloats(9, s, 2f)).ToList();
        var ranges = Ranges(floatGraph, samples);
        Assert.Equal((3f, 3f), ranges["y"]);
        var graph = ModelCompiler.Prepare(model, "model.onnx");
        ModelCompiler.Quantize(graph, GeneratedModel.Options(Precision.Int8, ranges));
        var dq = graph.Nodes.Single(n => n.OpType == "Dequantize");
        Assert.Equal(3f / 255f, dq.Attributes["scale"].Float);
        Assert.Equal(0, dq.Attributes["zero_point"].Int);
        using var generated = GeneratedModel.Load(ModelCompiler.Compile(model, GeneratedModel.Options(Precision.Int8, ranges)).Files, graph);
        foreach (var x in samples)
        {
            var y = (float[])generated.Run(x)[0];
            BitExact(Reference(graph, x)[0], y, "INT8 code vs its reference");
            // The bias is an int32 at the input's scale times 1 (the all-zero channel's weight scale): within a step.
            Assert.All(y, v => Assert.InRange(v, 3f - 3f / 255f, 3f + 1e-5f));
        }

        // An all-zero tensor: range [0, 0] gives scale 1, zero point 0, and 0 stays 0.
        var zeros = new Dictionary<string, (float, float)>(ranges) { ["y"] = (0f, 0f) };
        var zeroGraph = ModelCompiler.Prepare(model, "model.onnx");
        ModelCompiler.Quantize(zeroGraph, GeneratedModel.Options(Precision.Int8, zeros));
        var zdq = zeroGraph.Nodes.Single(n => n.OpType == "Dequantize");
        Assert.Equal(1f, zdq.Attributes["scale"].Float);
        Assert.Equal(0, zdq.Attributes["zero_point"].Int);
    }

    [Fact]
    public void Concat_inputs_sharing_parameters_are_copied_and_the_output_takes_them()
    {
        // MaxPool follows its input into uint8 with the same parameters, so Concat(x_pool, x_pool2) copies.
        var model = new OnnxModelBuilder(13).Input("x", 1, 2, 4, 4)
            .Initializer("w", new long[] { 2, 2, 1, 1 }, new[] { 1f, 0.5f, -0.5f, 1f })
            .Node("conv", "Conv", new[] { "x", "w" }, new[] { "c" })
            .Node("p1", "MaxPool", new[] { "c" }, new[] { "a" }, OnnxAttribute.Ints("kernel_shape", 2, 2), OnnxAttribute.Ints("strides", 2, 2))
            .Node("p2", "MaxPool", new[] { "c" }, new[] { "b" }, OnnxAttribute.Ints("kernel_shape", 3, 3), OnnxAttribute.Ints("strides", 1, 1), OnnxAttribute.Ints("pads", 0, 0, 0, 0))
            .Node("slice_b", "MaxPool", new[] { "b" }, new[] { "b2" }, OnnxAttribute.Ints("kernel_shape", 1, 1))
            .Node("cat", "Concat", new[] { "a", "b2" }, new[] { "y" }, OnnxAttribute.Int("axis", 1))
            .Output("y", 1, 4, 2, 2).ToBytes();
        var (_, graph, report, ranges) = Quantized(model, Enumerable.Range(0, 4).Select(s => OnnxModelBuilder.RandomFloats(32, s, 1f)));
        Assert.Empty(report.FloatNodes);
        var cat = graph.Nodes.Single(n => n.OpType == "QConcat");
        Assert.All(cat.Attributes["shifts"].Ints, s => Assert.Equal(0, s));  // plain copies
        var c = QuantParams.FromRange(ranges["c"].Item1, ranges["c"].Item2);
        Assert.Equal(c.ZeroPoint, cat.Attributes["y_zero_point"].Int);
    }

    [Fact]
    public void Standalone_activations_become_tables_between_grids()
    {
        // Sigmoid and Tanh are not fused into the Conv: they run as QLookup tables; a Relu after a Concat is a clamp.
        var model = new OnnxModelBuilder(13).Input("x", 1, 2, 5, 5)
            .Initializer("w", new long[] { 4, 2, 3, 3 }, OnnxModelBuilder.RandomFloats(72, 12, 0.5f))
            .Node("conv", "Conv", new[] { "x", "w" }, new[] { "c" }, OnnxAttribute.Ints("pads", 1, 1, 1, 1))
            .Node("sig", "Sigmoid", new[] { "c" }, new[] { "s" })
            .Node("tanh", "Tanh", new[] { "c" }, new[] { "t" })
            .Node("cat", "Concat", new[] { "s", "t" }, new[] { "st" }, OnnxAttribute.Int("axis", 1))
            .Node("leaky", "LeakyRelu", new[] { "st" }, new[] { "l" }, OnnxAttribute.Float("alpha", 0.1f))
            .Node("relu", "Relu", new[] { "l" }, new[] { "y" })
            .Output("y", 1, 8, 5, 5).ToBytes();
        var samples = Enumerable.Range(0, 6).Select(s => OnnxModelBuilder.RandomFloats(50, s, 2f)).ToList();
        var (floatGraph, graph, report, ranges) = Quantized(model, samples);
        Assert.Empty(report.FloatNodes);
        Assert.Equal(new[] { "Quantize", "QConv", "QLookup", "QLookup", "QConcat", "QLookup", "QLookup", "Dequantize" }, graph.Nodes.Select(n => n.OpType));
        var relu = graph.Nodes.Single(n => n.Name == "relu");
        var pl = QuantParams.FromRange(ranges["l"].Item1, ranges["l"].Item2);
        var py = QuantParams.FromRange(ranges["y"].Item1, ranges["y"].Item2);
        Assert.Equal(QLookupTable(pl, py, v => Math.Max(v, 0f)), relu.Attributes["table"].Ints);
        using var generated = GeneratedModel.Load(ModelCompiler.Compile(model, GeneratedModel.Options(Precision.Int8, ranges)).Files, graph);
        foreach (var x in samples)
        {
            var reference = Reference(graph, x)[0];
            BitExact(reference, generated.Run(x)[0], "INT8 code vs its reference");
            var exact = Reference(floatGraph, x)[0].Floats!;
            for (int i = 0; i < exact.Length; i++)
                Assert.True(Math.Abs(exact[i] - reference.Floats![i]) < 0.05f, $"{i}: INT8 {reference.Floats![i]}, float {exact[i]}");
        }
    }

    private static long[] QLookupTable(QuantParams x, QuantParams y, Func<float, float> f) =>
        Enumerable.Range(0, 256).Select(q => (long)y.Quantize(f(x.Dequantize(q)))).ToArray();
}
