using System;

namespace QuantGen.Cli.Evaluation;

/// <summary>
/// One row of the per-layer table: a tensor INT8 holds in uint8 (or computes with an integer kernel), the node of the
/// model that produces it, and its SQNR against FP32 over every sample.
/// </summary>
/// <param name="Tensor">The ONNX tensor name.</param>
/// <param name="Node">The ONNX node that produces it (what KeepFloat takes); null for a graph input.</param>
/// <param name="OpType">The node's operator; "input" for a graph input.</param>
/// <param name="How">How INT8 computes it: "integer kernel", "passes uint8 through" (MaxPool, views), "float, quantized after"...</param>
/// <param name="Quantized">Whether <paramref name="Node"/> runs as an integer kernel (so keeping it float can help).</param>
/// <param name="Sqnr">The tensor's SQNR in dB: all the error it carries, its own and what its inputs brought.</param>
/// <param name="InputSqnr">The lowest SQNR among the node's measured inputs; null when none is measured (then taken as exact).</param>
internal sealed record LayerError(string Tensor, string? Node, string OpType, string How, bool Quantized, double Sqnr, long Elements, double? InputSqnr = null)
{
    /// <summary>
    /// The noise this node adds, as a share of its output's signal energy: its output's noise-to-signal ratio minus its
    /// worst input's, assuming the input's relative error passes through (about right for Conv, Gemm, pooling and ReLU
    /// on their typical range). Ranking by it, rather than by the output's SQNR, finds the layer that introduces an
    /// error and not the layers downstream that inherit it.
    /// </summary>
    public double AddedNoise => Math.Max(0, NoiseRatio(Sqnr) - (InputSqnr is double input ? NoiseRatio(input) : 0));

    /// <summary><see cref="AddedNoise"/> as dB: the SQNR the node would have if its inputs were exact; +∞ when it adds nothing.</summary>
    public double OwnSqnr => AddedNoise > 0 ? -10 * Math.Log10(AddedNoise) : double.PositiveInfinity;

    private static double NoiseRatio(double sqnr) => Math.Pow(10, -sqnr / 10);
}
