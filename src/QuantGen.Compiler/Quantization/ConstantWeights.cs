using System;
using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Ops;

namespace QuantGen.Compiler.Quantization;

/// <summary>
/// The constant weights of a Conv, Gemm or MatMul in the layout the integer kernels read: one row per output
/// channel (Conv: M x C/group x kH x kW; Gemm/MatMul: N x K), with Gemm's alpha folded into the weights and
/// beta * C into the bias.
/// </summary>
internal sealed class ConstantWeights
{
    private ConstantWeights(float[] weights, int channels, int[] shape, float[]? bias, int channelAxis, string? hintObstacle, PerChannelWeights? modelInt8)
    {
        Weights = weights;
        Channels = channels;
        Shape = shape;
        Bias = bias;
        ChannelAxis = channelAxis;
        HintObstacle = hintObstacle;
        ModelInt8 = modelInt8;
    }

    /// <summary>The axis of the node's weight input (as the model stores it) that runs along the output channels.</summary>
    public int ChannelAxis { get; }

    /// <summary>Why the model's own int8 weights cannot be used as they are (Gemm's alpha scales them); null when they can.</summary>
    public string? HintObstacle { get; }

    /// <summary>
    /// The model's own int8 weights and scales, when the float weights are a DequantizeLinear of int8 values
    /// (a QDQ model) along the channel axis: used as they are instead of being quantized again.
    /// </summary>
    public PerChannelWeights? ModelInt8 { get; }

    private static PerChannelWeights? OwnInt8(Tensor tensor, int channelAxis)
    {
        var hint = WeightHint.Of(tensor);
        return hint != null && hint.Matches(tensor) ? hint.ToPerChannel(channelAxis) : null;
    }

    public float[] Weights { get; }
    public int Channels { get; }
    public int[] Shape { get; }
    public float[]? Bias { get; }

    /// <summary>The node's weights, or the reason it cannot run as an integer kernel.</summary>
    public static ConstantWeights? From(Node node, Graph graph, out string reason)
    {
        reason = "";
        switch (node.OpType)
        {
            case "Conv":
            {
                var w = graph[node.Inputs[1]].Constant;
                var b = node.HasInput(2) ? graph[node.Inputs[2]].Constant : null;
                if (w == null || (node.HasInput(2) && b == null)) { reason = "its weights are computed at run time"; return null; }
                return new ConstantWeights(w.AsFloats(), w.Shape[0], w.Shape, b?.AsFloats(), 0, null, OwnInt8(w, 0));
            }
            case "Gemm":
            {
                var ctx = new ShapeContext(node, graph);
                var b = graph[node.Inputs[1]].Constant;
                var c = node.HasInput(2) ? graph[node.Inputs[2]].Constant : null;
                if (b == null || (node.HasInput(2) && c == null)) { reason = "its weights are computed at run time"; return null; }
                if (ctx.Int("transA", 0) != 0) { reason = "transA is set"; return null; }
                bool transB = ctx.Int("transB", 0) != 0;
                int n = transB ? b.Shape[0] : b.Shape[1], k = transB ? b.Shape[1] : b.Shape[0];
                if (c != null && !(c.Length == 1 || (c.Length == n && c.Shape[c.Shape.Length - 1] == n))) { reason = "its C input is not a per-column bias"; return null; }
                float alpha = ctx.Float("alpha", 1f), beta = ctx.Float("beta", 1f);
                var w = transB ? b.AsFloats() : Gemm.Transpose(b, k, n).Floats!;
                if (alpha != 1f) w = Array.ConvertAll(w, v => v * alpha);
                float[]? bias = c == null ? null : Enumerable.Range(0, n).Select(j => beta * (float)c[c.Length == 1 ? 0 : j]).ToArray();
                return alpha == 1f
                    ? new ConstantWeights(w, n, new[] { n, k }, bias, transB ? 0 : 1, null, OwnInt8(b, transB ? 0 : 1))
                    : new ConstantWeights(w, n, new[] { n, k }, bias, transB ? 0 : 1, "alpha scales the weights", null);
            }
            case "MatMul":
            {
                var b = graph[node.Inputs[1]].Constant;
                if (b == null || b.Shape.Length != 2) { reason = "its B is not a constant matrix"; return null; }
                if (graph[node.Inputs[0]].Shape!.Length < 1) { reason = "its A is a scalar"; return null; }
                int k = b.Shape[0], n = b.Shape[1];
                return new ConstantWeights(Gemm.Transpose(b, k, n).Floats!, n, new[] { n, k }, null, 1, null, OwnInt8(b, 1));
            }
            default:
                reason = "no INT8 kernel for " + node.OpType;
                return null;
        }
    }

    /// <summary>The integer op that replaces the node: QConv or QGemm.</summary>
    public static string QuantizedOp(Node node) => node.OpType == "Conv" ? "QConv" : "QGemm";
}
