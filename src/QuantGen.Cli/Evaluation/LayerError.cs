namespace QuantGen.Cli.Evaluation;

/// <summary>
/// One row of the per-layer table: a tensor INT8 holds in uint8 (or computes with an integer kernel), the node of the
/// model that produces it, and its SQNR against FP32 over every sample.
/// </summary>
/// <param name="Tensor">The ONNX tensor name.</param>
/// <param name="Node">The ONNX node that produces it (what KeepFloat takes); null for a graph input.</param>
/// <param name="OpType">The node's operator; "input" for a graph input.</param>
/// <param name="How">How INT8 computes it: "integer kernel", "passes uint8 through" (MaxPool, views), "float, quantized after".</param>
/// <param name="Quantized">Whether <paramref name="Node"/> runs as an integer kernel (so keeping it float can help).</param>
internal sealed record LayerError(string Tensor, string? Node, string OpType, string How, bool Quantized, double Sqnr, long Elements);
