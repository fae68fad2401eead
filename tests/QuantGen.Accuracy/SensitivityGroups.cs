using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Quantization;

namespace QuantGen.Accuracy;

/// <summary>A kind of node the INT8 build computes on integers, and the nodes of that kind in one model.</summary>
/// <param name="Kind">What the nodes are, e.g. "attention MatMuls (activation x activation)".</param>
/// <param name="Nodes">Their names, as KeepFloat takes them.</param>
public sealed record SensitivityGroup(string Kind, IReadOnlyList<string> Nodes);

/// <summary>
/// The nodes an INT8 build quantizes, grouped the way a per-op INT8 policy decides (the evidence behind what stays float
/// by default): layers with constant weights, attention's activation x activation MatMuls, residual and bias Adds,
/// convolutions (a ViT's patch embedding), and the first and last weighted layers, which the literature calls sensitive.
/// Each group, kept in float on its own while the rest stays INT8, shows what quantizing it costs.
/// </summary>
public static class SensitivityGroups
{
    /// <summary>The attribute argument that keeps <paramref name="nodes"/> in float: <c>, KeepFloat = new[] { "a", "b" }</c> (empty for none).</summary>
    public static string KeepFloatArgument(IReadOnlyList<string>? nodes) =>
        nodes is { Count: > 0 } ? ", KeepFloat = new[] { " + string.Join(", ", nodes.Select(Compiler.Emit.CSharp.StringLiteral)) + " }" : "";

    public static IReadOnlyList<SensitivityGroup> Of(byte[] model, string modelPath, string calibrationJson, IReadOnlyList<string>? dimensions = null)
    {
        dimensions ??= Array.Empty<string>();
        var options = new CompilerOptions
        {
            ModelPath = modelPath,
            CalibrationJson = calibrationJson,
            CalibrationPath = Compiler.Calibration.CalibrationFile.DefaultPathFor(modelPath),
            Dimensions = dimensions,
        };
        var floatGraph = ModelCompiler.Prepare(model, modelPath, dimensions: dimensions);
        var graph = ModelCompiler.Prepare(model, modelPath, dimensions: dimensions);
        var setup = QuantizationSetup.Resolve(graph, model, options, new List<ModelDiagnostic>());
        var report = ModelCompiler.Quantize(graph, options with { CalibrationRanges = setup.Ranges, KeepFloat = setup.KeepFloat.ToList() });

        var nodes = floatGraph.Nodes.GroupBy(n => n.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var quantized = report.QuantizedNodes.Where(nodes.ContainsKey).Select(n => nodes[n]).ToList();
        bool ConstantB(Node n) => n.Inputs.Count > 1 && floatGraph.Find(n.Inputs[1]) is { IsConstant: true };
        var weighted = quantized.Where(n => n.OpType is "Conv" or "Gemm" || n.OpType == "MatMul" && ConstantB(n)).ToList();

        var groups = new List<SensitivityGroup>
        {
            new("Linear layers (MatMul/Gemm with constant weights)", weighted.Where(n => n.OpType != "Conv").Select(n => n.Name).ToList()),
            new("attention MatMuls (activation x activation)", quantized.Where(n => n.OpType == "MatMul" && !ConstantB(n)).Select(n => n.Name).ToList()),
            new("Adds (residuals)", quantized.Where(n => n.OpType == "Add").Select(n => n.Name).ToList()),
            new("Convs (patch embedding)", weighted.Where(n => n.OpType == "Conv").Select(n => n.Name).ToList()),
            new("first and last weighted layers", weighted.Count == 0 ? new List<string>() : new[] { weighted[0].Name, weighted[^1].Name }.Distinct().ToList()),
        };
        var grouped = new HashSet<string>(groups.SelectMany(g => g.Nodes), StringComparer.Ordinal);
        groups.Add(new("other integer nodes", quantized.Where(n => !grouped.Contains(n.Name)).Select(n => n.Name).ToList()));
        return groups.Where(g => g.Nodes.Count > 0).ToList();
    }
}
