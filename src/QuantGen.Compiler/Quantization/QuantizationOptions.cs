using System.Collections.Generic;

namespace QuantGen.Compiler.Quantization;

/// <summary>What the quantization pass needs to know beyond the graph.</summary>
public sealed class QuantizationOptions
{
    /// <summary>Calibrated [min, max] of float tensors by name (names of the optimized graph).</summary>
    public IReadOnlyDictionary<string, (float Min, float Max)> Ranges { get; init; } = new Dictionary<string, (float, float)>();

    /// <summary>Nodes to leave in float (mixed precision), by ONNX node name.</summary>
    public IReadOnlyCollection<string> KeepFloat { get; init; } = System.Array.Empty<string>();
}

/// <summary>What the quantization pass did, for diagnostics and the generated header.</summary>
public sealed class QuantizationReport
{
    /// <summary>Nodes that stayed float, with the reason (user's choice, no INT8 kernel, no statistics...).</summary>
    public List<(string Node, string OpType, string Reason)> FloatNodes { get; } = new();

    /// <summary>Nodes now running in INT8.</summary>
    public List<string> QuantizedNodes { get; } = new();
}
