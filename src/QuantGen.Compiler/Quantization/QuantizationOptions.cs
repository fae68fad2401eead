using System.Collections.Generic;
using System.Linq;

namespace QuantGen.Compiler.Quantization;

/// <summary>What the quantization pass needs to know beyond the graph.</summary>
public sealed class QuantizationOptions
{
    /// <summary>Calibrated [min, max] of float tensors by name (names of the optimized graph).</summary>
    public IReadOnlyDictionary<string, (float Min, float Max)> Ranges { get; init; } = new Dictionary<string, (float, float)>();

    /// <summary>Nodes to leave in float (mixed precision), by ONNX node name.</summary>
    public IReadOnlyCollection<string> KeepFloat { get; init; } = System.Array.Empty<string>();

    /// <summary>
    /// Parameters fixed for tensors by name, overriding <see cref="Ranges"/> (a QAT model's QuantizeLinear/DequantizeLinear
    /// pairs, whose int8 parameters are already converted to uint8 by z + 128). Tensors listed here need no calibration.
    /// </summary>
    public IReadOnlyDictionary<string, QuantParams> FixedParams { get; init; } = new Dictionary<string, QuantParams>();

    /// <summary>
    /// The model's own int8 weights for float constants by value name (what a DequantizeLinear of int8 weights folded
    /// to). A hint is used only when the constant still equals its dequantized values exactly; then the integer kernel
    /// takes these values and scales instead of quantizing the float weights again.
    /// </summary>
    public IReadOnlyDictionary<string, WeightHint> WeightHints { get; init; } = new Dictionary<string, WeightHint>();

    /// <summary>
    /// Whether the pass folds the model's own Q/DQ (see <see cref="Passes.FoldQdq"/>): activation QuantizeLinear →
    /// DequantizeLinear pairs become uint8 tensors with the pair's parameters and dequantized int8 weights are used as
    /// they are. Entries of <see cref="FixedParams"/> and <see cref="WeightHints"/> win over what the model says.
    /// </summary>
    public bool FoldQdq { get; init; } = true;
}

/// <summary>
/// int8 weights as a model stores them (DequantizeLinear of an int8 initializer with zero points 0): real =
/// Values[i] * Scales[channel of i], in the float tensor's own layout, one scale per index of <see cref="Axis"/>
/// (or a single scale when <see cref="Axis"/> is -1).
/// </summary>
public sealed class WeightHint
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Ir.Tensor, WeightHint> Provenance = new();

    public WeightHint(int[] shape, sbyte[] values, float[] scales, int axis)
    {
        if (values.Length != Ir.Shapes.ElementCount(shape))
            throw new System.ArgumentException($"{values.Length} values for shape {Ir.Shapes.Format(shape)}");
        if (axis < -1 || axis >= shape.Length || scales.Length != (axis < 0 ? 1 : shape[axis]))
            throw new System.ArgumentException($"{scales.Length} scales for axis {axis} of shape {Ir.Shapes.Format(shape)}");
        Shape = shape;
        Values = values;
        Scales = scales;
        Axis = axis;
    }

    public int[] Shape { get; }
    public sbyte[] Values { get; }
    public float[] Scales { get; }

    /// <summary>The axis the scales run along; -1 for one scale for the whole tensor.</summary>
    public int Axis { get; }

    /// <summary>Records that <paramref name="dequantized"/> was computed from <paramref name="hint"/> (by DequantizeLinear's reference).</summary>
    public static void Record(Ir.Tensor dequantized, WeightHint hint)
    {
        lock (Provenance)
        {
            Provenance.Remove(dequantized);
            Provenance.Add(dequantized, hint);
        }
    }

    /// <summary>The int8 weights a constant tensor was dequantized from, if DequantizeLinear computed it.</summary>
    public static WeightHint? Of(Ir.Tensor tensor) => Provenance.TryGetValue(tensor, out var hint) ? hint : null;

    /// <summary>The scale of element <paramref name="i"/>.</summary>
    public float ScaleAt(int i)
    {
        if (Axis < 0) return Scales[0];
        int inner = 1;
        for (int d = Axis + 1; d < Shape.Length; d++) inner *= Shape[d];
        return Scales[i / inner % Shape[Axis]];
    }

    /// <summary>True when <paramref name="tensor"/> is exactly these weights dequantized (float q * s, as DequantizeLinear computes).</summary>
    public bool Matches(Ir.Tensor tensor)
    {
        if (tensor.Type != Ir.DataType.Float || !Ir.Shapes.SameAs(tensor.Shape, Shape)) return false;
        var f = tensor.Floats!;
        for (int i = 0; i < f.Length; i++)
            if (f[i] != Values[i] * ScaleAt(i)) return false;
        return true;
    }

    /// <summary>
    /// The weights as <see cref="PerChannelWeights"/> with channels along <paramref name="channelAxis"/>: axis 0 as stored, or
    /// axis 1 of a matrix (transposed so each channel is a row). Null when the model's scales run along another axis.
    /// </summary>
    public PerChannelWeights? ToPerChannel(int channelAxis)
    {
        if (Axis >= 0 && Axis != channelAxis) return null;
        if (channelAxis == 0)
        {
            int channels = Shape.Length == 0 ? 1 : Shape[0];
            var scales = Axis < 0 ? Enumerable.Repeat(Scales[0], channels).ToArray() : (float[])Scales.Clone();
            return new PerChannelWeights((sbyte[])Values.Clone(), scales);
        }
        if (channelAxis == 1 && Shape.Length == 2)
        {
            int rows = Shape[0], cols = Shape[1];
            var t = new sbyte[Values.Length];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    t[c * rows + r] = Values[r * cols + c];
            var scales = Axis < 0 ? Enumerable.Repeat(Scales[0], cols).ToArray() : (float[])Scales.Clone();
            return new PerChannelWeights(t, scales);
        }
        return null;
    }
}

/// <summary>What the quantization pass did, for diagnostics and the generated header.</summary>
public sealed class QuantizationReport
{
    /// <summary>Nodes that stayed float, with the reason (user's choice, no INT8 kernel, no statistics...).</summary>
    public List<(string Node, string OpType, string Reason)> FloatNodes { get; } = new();

    /// <summary>Nodes now running in INT8.</summary>
    public List<string> QuantizedNodes { get; } = new();

    /// <summary>Integer nodes whose weights and scales are the model's own int8 weights (QDQ models), not requantized.</summary>
    public List<string> ModelWeightNodes { get; } = new();

    /// <summary>Integer nodes that had weight hints they could not use, with the reason (their float weights were quantized again).</summary>
    public List<(string Node, string Reason)> IgnoredWeightHints { get; } = new();

    /// <summary>The model's activation QuantizeLinear/DequantizeLinear nodes folded into uint8 tensors (QDQ models).</summary>
    public List<string> FoldedQdqNodes { get; } = new();

    /// <summary>Tensors whose parameters came from the model's QuantizeLinear/DequantizeLinear (or <see cref="QuantizationOptions.FixedParams"/>).</summary>
    public List<string> FixedParamTensors { get; } = new();

    /// <summary>
    /// Every float tensor of the optimized graph that the quantized graph holds in uint8, by its float (ONNX) name: so tools
    /// (quantgen evaluate) can read the integer values from the reference executor and dequantize them to measure the error.
    /// </summary>
    public Dictionary<string, QuantizedTensor> QuantizedTensors { get; } = new();

    /// <summary>
    /// The parameters of every uint8 value the pass created, by the uint8 value's name: what the QDQ exporter writes as
    /// QuantizeLinear/DequantizeLinear scales and zero points, so they are the build's own and never derived twice.
    /// </summary>
    public Dictionary<string, QuantParams> Uint8Params { get; } = new();

    /// <summary>The int8 weights, scales and int32 bias of each QConv/QGemm, by node name (for the QDQ exporter).</summary>
    public Dictionary<string, IntegerWeights> Weights { get; } = new();
}

/// <summary>
/// Where a float tensor lives in uint8 in the quantized graph: <see cref="Values"/> is the uint8 value; it dequantizes with
/// <see cref="Params"/> (static) or, for dynamic quantization, with the float pair [scale, zero point] computed per call into
/// the value named <see cref="DynamicParams"/>.
/// </summary>
public sealed record QuantizedTensor(string Values, QuantParams? Params, string? DynamicParams = null);

/// <summary>
/// What an integer Conv/Gemm/MatMul computes with: per-channel int8 weights (rows = output channels, in
/// <see cref="Shape"/>: Conv M x C/g x kH x kW, Gemm/MatMul N x K) and the int32 bias at the accumulator's scale
/// <c>s_x * s_w[c]</c> before the input zero point is folded into it (null when the node has no bias).
/// </summary>
public sealed record IntegerWeights(PerChannelWeights Weights, int[] Shape, long[]? Bias, QuantParams Input, QuantParams Output);
