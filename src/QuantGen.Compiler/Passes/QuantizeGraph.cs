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
/// with the input zero point folded in, fixed-point requantization, and a fused Relu or Clip as clamp bounds. A MatMul's
/// bias Add (torch's nn.Linear on 3-D input) goes into its QGemm's bias.
/// A MatMul of two runtime tensors (attention's Q x K^T, softmax x V) becomes QMatMul, each input on its own grid.
/// Add of two same-shape tensors becomes QAdd (unless one input would vanish in the output's step: an additive mask), GlobalAveragePool and AveragePool become QGlobalAveragePool and
/// QAveragePool, Concat becomes QConcat (inputs requantized into the output's parameters where they differ), and a
/// standalone activation (Relu, Clip, LeakyRelu, HardSigmoid, HardSwish, Sigmoid, Tanh) a 256-entry QLookup table.
/// MaxPool, Transpose (attention's K^T), Split (attention's fused QKV) and view ops follow their input into uint8 (they commute with quantization). Every other node stays float;
/// Quantize/Dequantize nodes are placed wherever a tensor crosses between the two, and the graph's inputs and outputs
/// stay float so the generated API does not change.
/// <para>
/// QDQ models (unless <see cref="QuantizationOptions.FoldQdq"/> is off): what <see cref="FoldQdq"/> finds is folded.
/// An activation pair x → QuantizeLinear → DequantizeLinear → x' disappears: x' is the uint8 tensor Q(x) on the pair's
/// grid (the producer of x writes that grid directly, over calibration), and a float reader of x' gets exactly the
/// model's dequantized values. Weights that are the model's dequantized int8 values keep those values and scales.
/// </para>
/// The per-op rules (which node becomes which integer kernel, or why it stays float) are in QuantizeGraph.Rules.cs;
/// this file walks the graph and places the Quantize/Dequantize nodes.
/// </summary>
public sealed partial class QuantizeGraph
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
    private readonly HashSet<string> _absorbed = new();                        // nodes an integer kernel took over (a MatMul's bias Add)

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
            if (_absorbed.Contains(node.Name))
                continue;
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
                "MaxPool" or "Transpose" or "Split" => TryFollowInput(node),
                _ when op.IsView => TryFollowInput(node),
                _ when op is ActivationOperator activation => TryActivation(node, activation),
                _ => "no INT8 kernel for " + node.OpType,
            };
            if (reason != null)
                KeepFloat(node, reason);
            else if (!op.IsView && node.OpType is not ("MaxPool" or "Transpose" or "Split"))
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

    /// <summary>
    /// MaxPool, Transpose, Split and views run on whatever form their input has; uint8 when it exists, every output on the
    /// input's grid (they move values, and Split's parts of attention's fused QKV product go on to QMatMul as they are).
    /// </summary>
    private string? TryFollowInput(Node node)
    {
        string input = node.Inputs[0];
        if (!_quantized.ContainsKey(input) || node.Activation != null)
            return "its input is float";
        var p = _params[input];
        var inputs = node.Inputs.ToList();
        inputs[0] = _quantized[input];
        var outputs = node.Outputs.Select(o => o.Length > 0 ? QuantizedOutput(o, p) : o).ToList();
        _nodes.Add(new Node(node.Name, node.OpType, node.Domain, inputs, outputs, node.Attributes));
        return null;
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
