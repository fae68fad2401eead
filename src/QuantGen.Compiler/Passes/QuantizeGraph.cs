using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Ops;
using QuantGen.Compiler.Ops.Quantized;
using QuantGen.Compiler.Quantization;

namespace QuantGen.Compiler.Passes;

/// <summary>
/// Static INT8 quantization. Each Conv, Gemm and MatMul with constant weights whose input and output have calibrated
/// ranges becomes an integer kernel (QConv, QGemm): per-channel symmetric int8 weights, uint8 activations, int32 bias
/// with the input zero point folded in, fixed-point requantization, and a fused Relu or Clip as clamp bounds.
/// A MatMul of two runtime tensors (attention's Q x K^T, softmax x V) becomes QMatMul, each input on its own grid.
/// Add of two same-shape tensors becomes QAdd (unless one input would vanish in the output's step: an additive mask), GlobalAveragePool and AveragePool become QGlobalAveragePool and
/// QAveragePool, Concat becomes QConcat (inputs requantized into the output's parameters where they differ), and a
/// standalone activation (Relu, Clip, LeakyRelu, HardSigmoid, HardSwish, Sigmoid, Tanh) a 256-entry QLookup table.
/// MaxPool, Transpose (attention's K^T) and view ops follow their input into uint8 (they commute with quantization). Every other node stays float;
/// Quantize/Dequantize nodes are placed wherever a tensor crosses between the two, and the graph's inputs and outputs
/// stay float so the generated API does not change.
/// <para>
/// QDQ models (unless <see cref="QuantizationOptions.FoldQdq"/> is off): what <see cref="FoldQdq"/> finds is folded.
/// An activation pair x → QuantizeLinear → DequantizeLinear → x' disappears: x' is the uint8 tensor Q(x) on the pair's
/// grid (the producer of x writes that grid directly, over calibration), and a float reader of x' gets exactly the
/// model's dequantized values. Weights that are the model's dequantized int8 values keep those values and scales.
/// </para>
/// </summary>
public sealed class QuantizeGraph
{
    private const string QuantizedSuffix = "::u8";

    private readonly Graph _graph;
    private readonly QuantizationOptions _options;
    private readonly QuantizationReport _report = new();
    private readonly List<Node> _nodes = new();
    private readonly Dictionary<string, string> _quantized = new();          // float name -> uint8 value name
    private readonly Dictionary<string, QuantParams> _params = new();         // float name -> params of its uint8 form
    private readonly HashSet<string> _floatAvailable = new();
    private readonly Dictionary<string, QuantParams> _fixed = new();
    private readonly Dictionary<string, WeightHint> _hints = new();
    private readonly Dictionary<string, (string Input, QuantParams Params)> _pairs = new();     // by QuantizeLinear node name
    private readonly Dictionary<string, (string Input, QuantParams Params)> _pending = new();   // QuantizeLinear outputs of pairs

    private QuantizeGraph(Graph graph, QuantizationOptions options)
    {
        _graph = graph;
        _options = options;
    }

    public static QuantizationReport Run(Graph graph, QuantizationOptions options)
    {
        var pass = new QuantizeGraph(graph, options);
        if (options.FoldQdq)
        {
            var facts = FoldQdq.Analyze(graph);
            foreach (var kv in facts.FixedParams) pass._fixed[kv.Key] = kv.Value;
            foreach (var kv in facts.WeightHints) pass._hints[kv.Key] = kv.Value;
            foreach (var kv in facts.Pairs) pass._pairs[kv.Key] = kv.Value;
        }
        foreach (var kv in options.FixedParams) pass._fixed[kv.Key] = kv.Value;
        foreach (var kv in options.WeightHints) pass._hints[kv.Key] = kv.Value;
        pass.Rewrite();
        return pass._report;
    }

    private void Rewrite()
    {
        _floatAvailable.UnionWith(_graph.Inputs);
        _floatAvailable.UnionWith(_graph.Values.Values.Where(v => v.IsConstant).Select(v => v.Name));

        foreach (var node in _graph.Nodes)
        {
            var op = OperatorRegistry.Find(node.Domain, node.OpType)!;
            if (_options.KeepFloat.Contains(node.Name))
            {
                KeepFloat(node, "listed in KeepFloat");
                continue;
            }
            bool onnx = node.Domain is "" or "ai.onnx";
            // A pair folds whole or not at all: a half listed in KeepFloat keeps both halves as float ops (exact either way).
            if (onnx && node.OpType == "QuantizeLinear" && _pairs.TryGetValue(node.Name, out var pair)
                && !_graph.Consumers(node.Outputs[0]).Any(dq => _options.KeepFloat.Contains(dq.Name)))
            {
                _pending[node.Outputs[0]] = pair;
                _report.FoldedQdqNodes.Add(node.Name);
                continue;
            }
            if (onnx && node.OpType == "DequantizeLinear" && _pending.TryGetValue(node.Inputs[0], out var pending))
            {
                FoldPair(node.Outputs[0], pending.Input, pending.Params);
                _report.FoldedQdqNodes.Add(node.Name);
                continue;
            }
            if (onnx && node.OpType is "QLinearConv" or "QLinearMatMul" or "ConvInteger" or "MatMulInteger")
            {
                // The model's own integer operators run as they are.
                KeepFloat(node, "");
                _report.QuantizedNodes.Add(node.Name);
                continue;
            }
            string? reason = node.OpType switch
            {
                "Conv" or "Gemm" => TryWeighted(node),
                "MatMul" => TryMatMul(node),
                "Add" => TryAdd(node),
                "GlobalAveragePool" => TryGlobalAveragePool(node),
                "AveragePool" => TryAveragePool(node),
                "Concat" => TryConcat(node),
                "MaxPool" or "Transpose" => TryFollowInput(node),
                _ when op.IsView => TryFollowInput(node),
                _ when op is ActivationOperator activation => TryActivation(node, activation),
                _ => "no INT8 kernel for " + node.OpType,
            };
            if (reason != null)
                KeepFloat(node, reason);
            else if (!op.IsView && node.OpType is not ("MaxPool" or "Transpose"))
                _report.QuantizedNodes.Add(node.Name);
        }

        // The generated API stays float: dequantize whatever output ended up in uint8.
        foreach (var output in _graph.Outputs)
            Float(output);

        _graph.Nodes.Clear();
        _graph.Nodes.AddRange(_nodes);
        _graph.RemoveUnusedValues();
    }

    private void KeepFloat(Node node, string reason)
    {
        for (int i = 0; i < node.Inputs.Count; i++)
            if (node.Inputs[i].Length > 0)
                node.Inputs[i] = Float(node.Inputs[i]);
        _nodes.Add(node);
        _floatAvailable.UnionWith(node.Outputs.Where(o => o.Length > 0));
        // Views, the model's own (de)quantization and its integer operators are not float computation worth reporting.
        if (reason.Length > 0 && node.OpType is not ("Reshape" or "Flatten" or "Squeeze" or "Unsqueeze" or "Identity" or "Dropout" or "QuantizeLinear" or "DequantizeLinear"))
            _report.FloatNodes.Add((node.Name, node.OpType, reason));
    }

    /// <summary>
    /// Quantization parameters of a float tensor's uint8 form: from its producer once it has one, else fixed by the model
    /// (Q/DQ) or the options, else from calibration.
    /// </summary>
    private QuantParams? ParamsOf(string name)
    {
        if (_params.TryGetValue(name, out var p)) return p;
        if (Fixed(name) is { } f) return f;
        if (_options.Ranges.TryGetValue(name, out var r) && !float.IsNaN(r.Min) && !float.IsNaN(r.Max) && !float.IsInfinity(r.Min) && !float.IsInfinity(r.Max))
            return QuantParams.FromRange(r.Min, r.Max);
        return null;
    }

    private QuantParams? Fixed(string name)
    {
        if (!_fixed.TryGetValue(name, out var f)) return null;
        if (!_report.FixedParamTensors.Contains(name)) _report.FixedParamTensors.Add(name);
        return f;
    }

    /// <summary>The uint8 form of a tensor, quantizing it if it only exists in float.</summary>
    private string U8(string name)
    {
        if (_quantized.TryGetValue(name, out var q)) return q;
        var p = ParamsOf(name) ?? throw new InvalidOperationException($"no quantization parameters for '{name}'");
        string qName = Unique(name + QuantizedSuffix);
        var value = _graph[name];
        _graph.Values[qName] = new Value(qName, DataType.UInt8, value.Shape);
        _nodes.Add(new Node(Unique("Quantize " + name, nodeName: true), "Quantize", OperatorRegistry.QuantizedDomain, new[] { name }, new[] { qName }, QuantAttributes(p)));
        _quantized[name] = qName;
        _params[name] = p;
        _report.QuantizedTensors[name] = new QuantizedTensor(qName, p);
        _report.Uint8Params[qName] = p;
        return qName;
    }

    /// <summary>The float form of a tensor, dequantizing it if it only exists in uint8.</summary>
    private string Float(string name)
    {
        if (_floatAvailable.Contains(name)) return name;
        var p = _params[name];
        _nodes.Add(new Node(Unique("Dequantize " + name, nodeName: true), "Dequantize", OperatorRegistry.QuantizedDomain, new[] { _quantized[name] }, new[] { name }, QuantAttributes(p)));
        _floatAvailable.Add(name);
        return name;
    }

    /// <summary>Declares the uint8 output of a quantized node (the float name stays free for a Dequantize).</summary>
    private string QuantizedOutput(string name, QuantParams p)
    {
        string qName = Unique(name + QuantizedSuffix);
        _graph.Values[qName] = new Value(qName, DataType.UInt8, _graph[name].Shape);
        _quantized[name] = qName;
        _params[name] = p;
        _report.QuantizedTensors[name] = new QuantizedTensor(qName, p);
        _report.Uint8Params[qName] = p;
        return qName;
    }

    /// <summary>
    /// The dequantized tensor <paramref name="dequantized"/> of a folded pair is x quantized with the pair's parameters:
    /// x's own uint8 form when it is on that grid already (its producer wrote it), else a Quantize of x's float form.
    /// </summary>
    private void FoldPair(string dequantized, string x, QuantParams p)
    {
        if (!_report.FixedParamTensors.Contains(dequantized)) _report.FixedParamTensors.Add(dequantized);
        if (_quantized.TryGetValue(x, out var qx) && _params[x] == p)
        {
            _quantized[dequantized] = qx;
            _params[dequantized] = p;
            _report.QuantizedTensors[dequantized] = new QuantizedTensor(qx, p);
            return;
        }
        string qName = Unique(dequantized + QuantizedSuffix);
        _graph.Values[qName] = new Value(qName, DataType.UInt8, _graph[x].Shape);
        if (_floatAvailable.Contains(x) || !_quantized.ContainsKey(x))
        {
            _nodes.Add(new Node(Unique("Quantize " + dequantized, nodeName: true), "Quantize", OperatorRegistry.QuantizedDomain, new[] { Float(x) }, new[] { qName }, QuantAttributes(p)));
        }
        else
        {
            // x exists only in uint8 on another grid: a table maps it to the pair's grid (what Dequantize then Quantize would compute).
            var table = QLookup.Build(_params[x], p, v => v);
            _nodes.Add(new Node(Unique("Requantize " + dequantized, nodeName: true), "QLookup", OperatorRegistry.QuantizedDomain, new[] { qx! }, new[] { qName },
                new Dictionary<string, NodeAttribute> { ["table"] = new("table", AttributeKind.Ints) { Ints = table }, ["function"] = new("function", AttributeKind.String) { String = "a change of grid" } }));
        }
        _quantized[dequantized] = qName;
        _params[dequantized] = p;
        _report.QuantizedTensors[dequantized] = new QuantizedTensor(qName, p);
        _report.Uint8Params[qName] = p;
    }

    /// <summary>MaxPool and views run on whatever form their input has; uint8 when it exists.</summary>
    private string? TryFollowInput(Node node)
    {
        string input = node.Inputs[0];
        if (!_quantized.ContainsKey(input) || node.Activation != null)
            return "its input is float";
        var p = _params[input];
        var inputs = node.Inputs.ToList();
        inputs[0] = _quantized[input];
        _nodes.Add(new Node(node.Name, node.OpType, node.Domain, inputs, new[] { QuantizedOutput(node.Outputs[0], p) }, node.Attributes));
        return null;
    }

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
        Emit(node, ConstantWeights.QuantizedOp(node), pin, pout, clamp, weights.Weights, weights.Channels, weights.Shape, weights.Bias, attributes, hinted);
        return null;
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

    /// <summary>Quantizes weights per channel (unless the model's own are given), folds bias and zero point, and adds the integer node.</summary>
    private void Emit(Node node, string opType, QuantParams pin, QuantParams pout, (int Min, int Max) clamp,
        float[] weights, int channels, int[] weightShape, float[]? bias, IReadOnlyDictionary<string, NodeAttribute> attributes,
        PerChannelWeights? given = null)
    {
        var w = given ?? PerChannelWeights.Quantize(weights, channels);
        var biasQ = new long[channels];
        var biasAtAccumulatorScale = bias == null ? null : new long[channels];
        var multipliers = new long[channels];
        var shifts = new long[channels];
        for (int c = 0; c < channels; c++)
        {
            double accScale = (double)pin.Scale * w.Scales[c];
            // int32 bias at the accumulator's scale, minus the input zero point's contribution z_x * Σ w.
            double rounded = Math.Round((bias?[c] ?? 0f) / accScale, MidpointRounding.ToEven);
            double b = rounded - (double)pin.ZeroPoint * w.ChannelSum(c);
            biasQ[c] = (long)Math.Max(int.MinValue, Math.Min(int.MaxValue, b));
            if (biasAtAccumulatorScale != null)
                biasAtAccumulatorScale[c] = (long)Math.Max(int.MinValue, Math.Min(int.MaxValue, rounded));
            var (m, s) = QuantMath.FixedPoint(accScale / pout.Scale);
            multipliers[c] = m;
            shifts[c] = s;
        }

        _report.Weights[node.Name] = new IntegerWeights(w, weightShape, biasAtAccumulatorScale, pin, pout);
        string wName = Constant(node.Name + ".weight_int8", Tensor.FromLongs(DataType.Int8, weightShape, Array.ConvertAll(w.Values, v => (long)v)));
        string bName = Constant(node.Name + ".bias_int32", Tensor.FromLongs(DataType.Int32, new[] { channels }, biasQ));
        string mName = Constant(node.Name + ".multiplier", Tensor.FromLongs(DataType.Int32, new[] { channels }, multipliers));
        string sName = Constant(node.Name + ".shift", Tensor.FromLongs(DataType.Int32, new[] { channels }, shifts));

        var attrs = attributes.ToDictionary(a => a.Key, a => a.Value);
        attrs["x_zero_point"] = Int("x_zero_point", pin.ZeroPoint);
        attrs["y_zero_point"] = Int("y_zero_point", pout.ZeroPoint);
        attrs["y_min"] = Int("y_min", clamp.Min);
        attrs["y_max"] = Int("y_max", clamp.Max);

        string x = U8(node.Inputs[0]);
        string y = QuantizedOutput(node.Outputs[0], pout);
        _nodes.Add(new Node(node.Name, opType, OperatorRegistry.QuantizedDomain, new[] { x, wName, bName, mName, sName }, new[] { y }, attrs)
        {
            Activation = null,
        });
    }

    private string Constant(string name, Tensor tensor)
    {
        name = Unique(name);
        _graph.Values[name] = new Value(name, tensor.Type, tensor.Shape) { Constant = tensor };
        _floatAvailable.Add(name);
        return name;
    }

    private static NodeAttribute Int(string name, long value) => new(name, AttributeKind.Int) { Int = value };

    private static Dictionary<string, NodeAttribute> QuantAttributes(QuantParams p) => new()
    {
        ["scale"] = new NodeAttribute("scale", AttributeKind.Float) { Float = p.Scale },
        ["zero_point"] = Int("zero_point", p.ZeroPoint),
    };

    private readonly HashSet<string> _nodeNames = new();

    private string Unique(string name, bool nodeName = false)
    {
        if (nodeName)
        {
            if (_nodeNames.Count == 0) _nodeNames.UnionWith(_graph.Nodes.Select(n => n.Name));
            string n = name;
            for (int i = 2; !_nodeNames.Add(n); i++) n = name + " " + i;
            return n;
        }
        string v = name;
        for (int i = 2; _graph.Values.ContainsKey(v); i++) v = name + "_" + i;
        return v;
    }
}
