using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Ops;
using QuantGen.Compiler.Ops.Quantized;
using QuantGen.Compiler.Quantization;

namespace QuantGen.Compiler.Passes;

// QuantizeGraph's per-op rules: each Try* returns null when the node became an integer kernel, or the reason it stays
// float (QG0022 lists it).
public sealed partial class QuantizeGraph
{
    /// <summary>The clamp bounds of a fused activation in the output's uint8 domain; null when it is not a clamp.</summary>
    private static (int Min, int Max)? ClampBounds(FusedActivation? activation, QuantParams output) => activation?.Kind switch
    {
        null => (0, 255),
        ActivationKind.Relu => (output.QuantizeBound(0f), 255),
        ActivationKind.Clip => (output.QuantizeBound(Math.Max(activation.Min, -1e30f)), output.QuantizeBound(Math.Min(activation.Max, 1e30f))),
        _ => null,
    };

    private string? Common(Node node, out QuantParams input, out QuantParams output, out (int Min, int Max) clamp)
    {
        input = output = default;
        clamp = default;
        var pin = ParamsOf(node.Inputs[0]);
        var pout = ParamsOf(node.Outputs[0]);
        if (pin == null || pout == null)
            return "no calibration statistics for its " + (pin == null ? "input" : "output");
        var bounds = ClampBounds(node.Activation, pout.Value);
        if (bounds == null)
            return $"its fused {node.Activation!.Kind} is not a clamp";
        input = pin.Value;
        output = pout.Value;
        clamp = bounds.Value;
        return null;
    }

    /// <summary>Conv, Gemm or MatMul with constant weights becomes QConv or QGemm.</summary>
    private string? TryWeighted(Node node)
    {
        var weights = ConstantWeights.From(node, _graph, out var reason);
        if (weights == null)
            return reason;
        if (Common(node, out var pin, out var pout, out var clamp) is { } notCalibrated)
            return notCalibrated;
        var hinted = Hinted(node, node.Inputs[1], weights.ChannelAxis, weights.HintObstacle);
        var attributes = node.OpType == "Conv" ? node.Attributes : new Dictionary<string, NodeAttribute>();
        if (node.OpType == "MatMul" && weights.Bias == null && BiasAdd(node, weights.Channels) is { } biasAdd)
        {
            // The MatMul's integer kernel adds the bias and writes the Add's output on the Add's calibrated grid.
            var (add, bias) = biasAdd;
            var withBias = new Node(node.Name, node.OpType, node.Domain, node.Inputs, add.Outputs, node.Attributes) { Activation = add.Activation };
            if (Common(withBias, out var fin, out var fout, out var fclamp) == null)
            {
                Emit(withBias, ConstantWeights.QuantizedOp(node), fin, fout, fclamp, weights.Weights, weights.Channels, weights.Shape, bias, attributes, hinted);
                _absorbed.Add(add.Name);
                _report.QuantizedNodes.Add(add.Name);
                return null;
            }
        }
        Emit(node, ConstantWeights.QuantizedOp(node), pin, pout, clamp, weights.Weights, weights.Channels, weights.Shape, weights.Bias, attributes, hinted);
        return null;
    }

    /// <summary>
    /// The Add of a bias vector that reads a MatMul with constant weights, as torch exports nn.Linear on a 3-D input
    /// (MatMul, then Add of the bias): when it is the MatMul's only reader and adds a constant of N values along the last
    /// axis, the bias goes into the integer kernel's int32 accumulator (as Gemm's does) instead of the product being
    /// requantized, dequantized, added in float and quantized again. Null when the pattern does not hold.
    /// </summary>
    private (Node Add, float[] Bias)? BiasAdd(Node matMul, int n)
    {
        string y = matMul.Outputs[0];
        if (matMul.Activation != null || _graph.IsGraphOutput(y))
            return null;
        var readers = _graph.Consumers(y).ToList();
        if (readers.Count != 1)
            return null;
        var add = readers[0];
        if (add.OpType != "Add" || add.Domain is not ("" or "ai.onnx") || add.Inputs.Count != 2 || _options.KeepFloat.Contains(add.Name))
            return null;
        string other = add.Inputs[0] == y ? add.Inputs[1] : add.Inputs[0];
        var bias = _graph[other].Constant;
        if (other == y || bias == null || bias.Type != DataType.Float || bias.Length != n || bias.Shape.Length == 0 || bias.Shape[bias.Shape.Length - 1] != n)
            return null;
        // The bias must not broadcast the product to a larger shape.
        if (!_graph[add.Outputs[0]].Shape!.SequenceEqual(_graph[y].Shape!))
            return null;
        return (add, bias.AsFloats());
    }

    /// <summary>
    /// MatMul with a constant B becomes QGemm (<see cref="TryWeighted"/>); a MatMul of two runtime tensors with calibrated
    /// ranges (attention's Q x K^T and softmax(scores) x V) becomes QMatMul: both inputs quantized on their own grids, the
    /// output requantized into its calibrated range.
    /// </summary>
    private string? TryMatMul(Node node)
    {
        if (_graph[node.Inputs[1]].IsConstant || _graph[node.Inputs[0]].IsConstant)
            return TryWeighted(node);
        var a = _graph[node.Inputs[0]];
        var b = _graph[node.Inputs[1]];
        if (a.Shape!.Length < 2 || b.Shape!.Length < 2)
            return $"an input is a vector ({Shapes.Format(a.Shape)} x {Shapes.Format(b.Shape!)}; QMatMul needs matrices)";
        int k = a.Shape[a.Shape.Length - 1];
        if (k > QMatMul.MaxK) return $"K = {k} is so large the int32 sums could overflow (QMatMul takes K up to {QMatMul.MaxK})";
        if (InputParams(node, 0, out var pa) is { } ra) return ra;
        if (InputParams(node, 1, out var pb) is { } rb) return rb;
        var py = ParamsOf(node.Outputs[0]);
        if (py == null) return "no calibration statistics for its output";
        var bounds = ClampBounds(node.Activation, py.Value);
        if (bounds == null) return $"its fused {node.Activation!.Kind} is not a clamp";
        var requant = QMatMul.Requantization(pa, pb, py.Value, out var reason);
        if (requant == null) return reason;
        var attrs = new Dictionary<string, NodeAttribute>
        {
            ["a_zero_point"] = Int("a_zero_point", pa.ZeroPoint), ["b_zero_point"] = Int("b_zero_point", pb.ZeroPoint),
            ["y_zero_point"] = Int("y_zero_point", py.Value.ZeroPoint),
            ["multiplier"] = Int("multiplier", requant.Value.Multiplier), ["shift"] = Int("shift", requant.Value.Shift),
            ["y_min"] = Int("y_min", bounds.Value.Min), ["y_max"] = Int("y_max", bounds.Value.Max),
        };
        string xa = U8(a.Name), xb = U8(b.Name);
        _nodes.Add(new Node(node.Name, "QMatMul", OperatorRegistry.QuantizedDomain, new[] { xa, xb }, new[] { QuantizedOutput(node.Outputs[0], py.Value) }, attrs));
        return null;
    }

    /// <summary>The uint8 parameters of a runtime float input of <paramref name="node"/>, or the reason it has none.</summary>
    private string? InputParams(Node node, int index, out QuantParams p)
    {
        p = default;
        var v = _graph[node.Inputs[index]];
        if (v.IsConstant) return $"its input {index} is a constant";
        if (v.Type != DataType.Float) return $"its input {index} is {v.Type}";
        var found = ParamsOf(v.Name);
        if (found == null) return $"no calibration statistics for its input {index}";
        p = found.Value;
        return null;
    }

    private string? TryAdd(Node node)
    {
        var a = _graph[node.Inputs[0]];
        var b = _graph[node.Inputs[1]];
        if (!a.Shape!.SameAs(b.Shape!))
            return $"its inputs broadcast ({Shapes.Format(a.Shape!)} and {Shapes.Format(b.Shape!)}; QAdd needs one shape)";
        if (InputParams(node, 0, out var pa) is { } ra) return ra;
        if (InputParams(node, 1, out var pb) is { } rb) return rb;
        var py = ParamsOf(node.Outputs[0]);
        if (py == null) return "no calibration statistics for its output";
        // An input whose whole uint8 range (255 steps) fits in one output step would vanish in the sum: typically an
        // additive attention mask (-10000) next to scores of a few units. Float keeps it; QAdd could only round it away.
        double smaller = Math.Min(pa.Scale, pb.Scale);
        if (py.Value.Scale >= 255.0 * smaller)
            return $"its output step {py.Value.Scale:G3} is wider than the whole range of an input (step {smaller:G3}): an additive mask?";
        var bounds = ClampBounds(node.Activation, py.Value);
        if (bounds == null) return $"its fused {node.Activation!.Kind} is not a clamp";
        var prm = QAdd.Compute(pa, pb, py.Value, bounds.Value.Min, bounds.Value.Max, out var reason);
        if (prm == null) return reason;
        var p = prm.Value;
        var attrs = new Dictionary<string, NodeAttribute>
        {
            ["a_zero_point"] = Int("a_zero_point", p.AZero), ["a_multiplier"] = Int("a_multiplier", p.AMultiplier), ["a_shift"] = Int("a_shift", p.AShift),
            ["b_zero_point"] = Int("b_zero_point", p.BZero), ["b_multiplier"] = Int("b_multiplier", p.BMultiplier), ["b_shift"] = Int("b_shift", p.BShift),
            ["y_zero_point"] = Int("y_zero_point", p.YZero), ["y_multiplier"] = Int("y_multiplier", p.YMultiplier), ["y_shift"] = Int("y_shift", p.YShift),
            ["y_min"] = Int("y_min", p.Min), ["y_max"] = Int("y_max", p.Max),
        };
        string xa = U8(a.Name), xb = U8(b.Name);
        _nodes.Add(new Node(node.Name, "QAdd", OperatorRegistry.QuantizedDomain, new[] { xa, xb }, new[] { QuantizedOutput(node.Outputs[0], py.Value) }, attrs));
        return null;
    }

    /// <summary>
    /// A standalone activation on a uint8 tensor becomes a 256-entry table from the input's grid to the output's (Relu and
    /// Clip keep the input's grid when the output has no parameters of its own: a clamp).
    /// </summary>
    private string? TryActivation(Node node, ActivationOperator op)
    {
        if (InputParams(node, 0, out var px) is { } reason) return reason;
        var a = op.Describe(new ShapeContext(node, _graph));
        var py = ParamsOf(node.Outputs[0]) ?? (a.Kind is ActivationKind.Relu or ActivationKind.Clip ? px : null);
        if (py == null) return "no calibration statistics for its output";
        var table = QLookup.Build(px, py.Value, a.Apply);
        var attrs = new Dictionary<string, NodeAttribute>
        {
            ["table"] = new("table", AttributeKind.Ints) { Ints = table },
            ["function"] = new("function", AttributeKind.String) { String = a.Describe() },
        };
        string x = U8(node.Inputs[0]);
        _nodes.Add(new Node(node.Name, "QLookup", OperatorRegistry.QuantizedDomain, new[] { x }, new[] { QuantizedOutput(node.Outputs[0], py.Value) }, attrs));
        return null;
    }

    /// <summary>Output parameters of an averaging node: its own (fixed or calibrated), else its input's (an average stays in range).</summary>
    private QuantParams AverageOutputParams(Node node, QuantParams input) => ParamsOf(node.Outputs[0]) ?? input;

    private string? TryGlobalAveragePool(Node node)
    {
        if (InputParams(node, 0, out var px) is { } reason) return reason;
        var shape = _graph[node.Inputs[0]].Shape!;
        if (shape.Length < 3) return "its input has no spatial dimensions";
        int nc = shape[0] * shape[1];
        int plane = nc == 0 ? 0 : Shapes.ElementCount(shape) / nc;
        if (plane > QGlobalAveragePool.MaxPlane) return $"its plane of {plane} elements could overflow an int32 sum";
        if (plane == 0) return "its input is empty";
        var py = AverageOutputParams(node, px);
        var bounds = ClampBounds(node.Activation, py);
        if (bounds == null) return $"its fused {node.Activation!.Kind} is not a clamp";
        double real = (double)px.Scale / ((double)plane * py.Scale);
        if (real >= 1 << 29) return "its output scale is too small next to its input's for 32-bit requantization";
        var (m, s) = QAdd.FixedPointOrZero(real);
        var attrs = new Dictionary<string, NodeAttribute>
        {
            ["x_zero_point"] = Int("x_zero_point", px.ZeroPoint), ["y_zero_point"] = Int("y_zero_point", py.ZeroPoint),
            ["multiplier"] = Int("multiplier", m), ["shift"] = Int("shift", s),
            ["y_min"] = Int("y_min", bounds.Value.Min), ["y_max"] = Int("y_max", bounds.Value.Max),
        };
        string x = U8(node.Inputs[0]);
        _nodes.Add(new Node(node.Name, "QGlobalAveragePool", OperatorRegistry.QuantizedDomain, new[] { x }, new[] { QuantizedOutput(node.Outputs[0], py) }, attrs));
        return null;
    }

    private string? TryAveragePool(Node node)
    {
        if (InputParams(node, 0, out var px) is { } reason) return reason;
        var g = QAveragePool.Geometry(new ShapeContext(node, _graph));
        int k = g.KH * g.KW;
        if ((long)k * 255 > int.MaxValue) return "its window is so large the int32 sum could overflow";
        var py = AverageOutputParams(node, px);
        var bounds = ClampBounds(node.Activation, py);
        if (bounds == null) return $"its fused {node.Activation!.Kind} is not a clamp";
        if ((double)px.Scale / py.Scale >= 1 << 29) return "its output scale is too small next to its input's for 32-bit requantization";
        var (mult, shifts) = QAveragePool.Tables(k, px.Scale, py.Scale);
        var attrs = node.Attributes.ToDictionary(a => a.Key, a => a.Value);
        attrs["x_zero_point"] = Int("x_zero_point", px.ZeroPoint);
        attrs["y_zero_point"] = Int("y_zero_point", py.ZeroPoint);
        attrs["y_min"] = Int("y_min", bounds.Value.Min);
        attrs["y_max"] = Int("y_max", bounds.Value.Max);
        attrs["multipliers"] = new NodeAttribute("multipliers", AttributeKind.Ints) { Ints = mult };
        attrs["shifts"] = new NodeAttribute("shifts", AttributeKind.Ints) { Ints = shifts };
        string x = U8(node.Inputs[0]);
        _nodes.Add(new Node(node.Name, "QAveragePool", OperatorRegistry.QuantizedDomain, new[] { x }, new[] { QuantizedOutput(node.Outputs[0], py) }, attrs));
        return null;
    }

    private string? TryConcat(Node node)
    {
        var inputs = new QuantParams[node.Inputs.Count];
        for (int i = 0; i < inputs.Length; i++)
            if (InputParams(node, i, out inputs[i]) is { } reason) return reason;
        if (node.Activation != null) return $"a {node.Activation.Kind} is fused into it";
        // Inputs sharing one set of parameters pass them on (plain copies); otherwise the output's own, or their union.
        QuantParams py;
        if (Fixed(node.Outputs[0]) is { } f) py = f;
        else if (inputs.All(p => p == inputs[0])) py = inputs[0];
        else py = ParamsOf(node.Outputs[0]) ?? QuantParams.FromRange(inputs.Min(p => p.Dequantize(0)), inputs.Max(p => p.Dequantize(255)));
        if (inputs.Any(p => (double)p.Scale / py.Scale >= QConcat.MaxMultiplier))
            return "an input's scale is too large next to the output's for 32-bit requantization";
        var maps = inputs.Select(p => QConcat.Mapping.Between(p, py)).ToArray();
        var attrs = new Dictionary<string, NodeAttribute>
        {
            ["axis"] = node.Attributes["axis"],
            ["y_zero_point"] = Int("y_zero_point", py.ZeroPoint),
            ["x_zero_points"] = new NodeAttribute("x_zero_points", AttributeKind.Ints) { Ints = maps.Select(m => (long)m.XZero).ToArray() },
            ["multipliers"] = new NodeAttribute("multipliers", AttributeKind.Ints) { Ints = maps.Select(m => (long)m.Multiplier).ToArray() },
            ["shifts"] = new NodeAttribute("shifts", AttributeKind.Ints) { Ints = maps.Select(m => (long)m.Shift).ToArray() },
        };
        var xs = node.Inputs.Select(U8).ToArray();
        _nodes.Add(new Node(node.Name, "QConcat", OperatorRegistry.QuantizedDomain, xs, new[] { QuantizedOutput(node.Outputs[0], py) }, attrs));
        return null;
    }

    /// <summary>
    /// The model's own int8 weights for the constant <paramref name="weightName"/> with channels along
    /// <paramref name="channelAxis"/>, when it has a usable hint; an unusable one is reported.
    /// </summary>
    private PerChannelWeights? Hinted(Node node, string weightName, int channelAxis, string? obstacle)
    {
        if (!_hints.TryGetValue(weightName, out var hint)) return null;
        string? reason = obstacle;
        PerChannelWeights? weights = null;
        if (reason == null && !hint.Matches(_graph[weightName].Constant!))
            reason = "the float weights no longer equal the model's dequantized int8 weights";
        if (reason == null)
        {
            weights = hint.ToPerChannel(channelAxis);
            if (weights == null) reason = $"the model's scales run along axis {hint.Axis}, the kernel's channels along axis {channelAxis}";
        }
        if (reason != null)
        {
            _report.IgnoredWeightHints.Add((node.Name, reason));
            return null;
        }
        _report.ModelWeightNodes.Add(node.Name);
        return weights;
    }
}
