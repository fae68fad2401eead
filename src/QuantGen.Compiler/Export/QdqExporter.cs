using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Google.Protobuf;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Onnx.Proto;
using QuantGen.Compiler.Ops;
using QuantGen.Compiler.Quantization;

namespace QuantGen.Compiler.Export;

/// <summary>What <see cref="QdqExporter.Export"/> produced.</summary>
public sealed class QdqExport
{
    internal QdqExport(byte[] model, Graph quantized, QuantizationReport report, IReadOnlyList<ModelDiagnostic> diagnostics, string description, long opset)
    {
        Model = model;
        Quantized = quantized;
        Report = report;
        Diagnostics = diagnostics;
        Description = description;
        Opset = opset;
    }

    /// <summary>The QDQ model: a serialized ONNX ModelProto.</summary>
    public byte[] Model { get; }

    /// <summary>The INT8 graph the build compiles (run it with the reference executor to get the generated code's numbers).</summary>
    public Graph Quantized { get; }

    /// <summary>What the quantization pass did: integer nodes, float nodes and why, every scale and zero point, the int8 weights.</summary>
    public QuantizationReport Report { get; }

    /// <summary>The build's warnings and infos for this model and calibration (QG0020, QG0022); errors are thrown instead.</summary>
    public IReadOnlyList<ModelDiagnostic> Diagnostics { get; }

    /// <summary>How activations are quantized, as the generated header says it.</summary>
    public string Description { get; }

    /// <summary>The ai.onnx opset the exported model imports.</summary>
    public long Opset { get; }
}

/// <summary>
/// Writes the INT8 model QuantGen compiles as a QDQ ONNX model (QuantizeLinear/DequantizeLinear around float ops, the
/// format ONNX Runtime's quantizer writes and its optimizer turns into integer kernels). It does not quantize anything
/// itself: it runs the build's own steps (<see cref="ModelCompiler.Prepare"/>, <see cref="QuantizationSetup.Resolve"/>,
/// <see cref="ModelCompiler.Quantize"/>) and translates the resulting INT8 graph node by node, so every scale, zero
/// point, int8 weight and int32 bias in the file is the one the generated code uses:
/// <list type="bullet">
/// <item>QuantGen's Quantize/Dequantize become QuantizeLinear/DequantizeLinear with the same uint8 scale and zero point.</item>
/// <item>QConv/QGemm become DequantizeLinear(x) → Conv/Gemm → [activation] → QuantizeLinear(y), the weights an int8
/// initializer behind a per-channel DequantizeLinear (axis 0), the bias an int32 initializer at scale s_x * s_w[c]
/// behind a DequantizeLinear: what ORT's quantizer writes and what its QDQ Conv/Gemm fusion requires, and the exact
/// int32 values QuantGen adds (before it folds the input zero point in).</item>
/// <item>QMatMul (activation x activation) becomes DequantizeLinear on both inputs → MatMul → [activation] →
/// QuantizeLinear(y), each on its own grid (what ORT fuses into QLinearMatMul).</item>
/// <item>QAdd, QConcat, the integer pools and QLookup become DequantizeLinear → the float op → QuantizeLinear on the same
/// grids; MaxPool and views on uint8 become DequantizeLinear → op → QuantizeLinear with the input's parameters.</item>
/// <item>Nodes QuantGen keeps float stay float; fused activations are written back as their own nodes.</item>
/// </list>
/// The graph written is QuantGen's optimized one (BatchNormalization folded, Identity removed), with shapes at batch 1.
/// </summary>
public static class QdqExporter
{
    /// <summary>Per-axis DequantizeLinear (the per-channel weights) needs opset 13.</summary>
    public const long MinOpset = 13;

    /// <summary>Exports the model as <paramref name="options"/> would build it (calibration, KeepFloat).</summary>
    /// <exception cref="ModelCompileException">The model does not load or compile; the calibration file is unreadable (QG0019)
    /// or for another model (QG0018, an error here); there is no calibration and the model has no Q/DQ of its own (QG0021,
    /// an error here); or the model's opset is below 13 (QG0002).</exception>
    public static QdqExport Export(byte[] model, CompilerOptions options, Func<string, byte[]?>? externalData = null)
    {
        var culture = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
            var diagnostics = new List<ModelDiagnostic>();
            var graph = ModelCompiler.Prepare(model, options.ModelPath, externalData, options.Dimensions);
            if (graph.Opset < MinOpset)
                throw new ModelCompileException(new ModelDiagnostic(DiagnosticCatalog.UnsupportedOpset.Id, ModelDiagnosticSeverity.Error,
                    $"'{options.ModelPath}' uses ai.onnx opset {graph.Opset}; the QDQ export writes per-channel DequantizeLinear, which needs opset {MinOpset} or later. Convert the model with onnx.version_converter first."));

            var setup = QuantizationSetup.Resolve(graph, model, options, diagnostics);
            // A QDQ file carries fixed scales: the build's dynamic fallback has no equivalent, so what only warns there fails here.
            var noStaticScales = diagnostics.Where(d => d.Id == DiagnosticCatalog.CalibrationForAnotherModel.Id || d.Id == DiagnosticCatalog.NoCalibration.Id).ToList();
            if (setup.Ranges == null || noStaticScales.Count > 0)
                throw new ModelCompileException(noStaticScales.Select(d => d with { Severity = ModelDiagnosticSeverity.Error }).ToList());

            var original = Snapshot(graph);
            var report = ModelCompiler.Quantize(graph, options with { CalibrationRanges = setup.Ranges, KeepFloat = setup.KeepFloat.ToList() });
            QuantizationSetup.Report(report, options, diagnostics);

            long opset = Math.Max(graph.Opset, MinOpset);
            var proto = new Translation(graph, report, original, opset).Run();
            proto.ProducerName = "quantgen";
            proto.ProducerVersion = ThisAssembly.Version;
            proto.MetadataProps.Add(new StringStringEntryProto { Key = "quantgen.quantization", Value = "Int8, " + setup.Description });
            return new QdqExport(proto.ToByteArray(), graph, report, diagnostics, setup.Description, opset);
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }

    /// <summary>What the translation needs of the float nodes the quantization pass replaces (it drops them and their constants).</summary>
    private static Dictionary<string, OriginalNode> Snapshot(Graph graph)
    {
        var nodes = new Dictionary<string, OriginalNode>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            var op = OperatorRegistry.Find(node.Domain, node.OpType);
            var activation = op is ActivationOperator a ? a.Describe(new ShapeContext(node, graph)) : null;
            var inputShape = node.Inputs.Count > 0 ? graph.Find(node.Inputs[0])?.Shape : null;
            nodes[node.Name] = new OriginalNode(node.OpType, node.Attributes, node.Activation, activation, inputShape);
        }
        return nodes;
    }

    private sealed record OriginalNode(string OpType, IReadOnlyDictionary<string, NodeAttribute> Attributes, FusedActivation? Fused,
        FusedActivation? StandaloneActivation, int[]? InputShape);

    /// <summary>One export: walks the INT8 graph in order and writes each node's QDQ form.</summary>
    private sealed class Translation
    {
        private const string QuantizedSuffix = "::u8";

        private readonly Graph _graph;
        private readonly QuantizationReport _report;
        private readonly Dictionary<string, OriginalNode> _original;
        private readonly long _opset;
        private readonly OnnxProtoBuilder _b = new();

        public Translation(Graph graph, QuantizationReport report, Dictionary<string, OriginalNode> original, long opset)
        {
            _graph = graph;
            _report = report;
            _original = original;
            _opset = opset;
        }

        public ModelProto Run()
        {
            // Names the file will hold as they are: tensors, and the constants ONNX ops read. The integer ops' own
            // constants (requantization tables, folded biases) are never written, so their names stay free for the
            // exporter's initializers ("<node>.weight_int8" is the same name the build's QConv input has).
            var written = new HashSet<string>(_graph.Nodes.Where(n => n.Domain != OperatorRegistry.QuantizedDomain).SelectMany(n => n.Inputs), StringComparer.Ordinal);
            _b.Reserve(_graph.Values.Values.Where(v => !v.IsConstant || written.Contains(v.Name)).Select(v => Name(v.Name)));
            _b.Graph.Name = _graph.Name.Length > 0 ? _graph.Name : "quantgen_int8";
            foreach (var node in _graph.Nodes)
                Translate(node);
            foreach (var input in _graph.Inputs)
                _b.Graph.Input.Add(OnnxProtoBuilder.ValueInfo(Name(input), _graph[input].Type, _graph[input].Shape));
            foreach (var output in _graph.Outputs)
                _b.Graph.Output.Add(OnnxProtoBuilder.ValueInfo(Name(output), _graph[output].Type, _graph[output].Shape));

            var model = new ModelProto { IrVersion = Math.Max(_graph.IrVersion, 7), Graph = _b.Graph };
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = _opset });
            return model;
        }

        /// <summary>ONNX names: the graph's own, with the pass's "::u8" suffix of uint8 tensors spelled "_quantized".</summary>
        private static string Name(string irName) =>
            irName.EndsWith(QuantizedSuffix, StringComparison.Ordinal) ? irName.Substring(0, irName.Length - QuantizedSuffix.Length) + "_quantized" : irName;

        /// <summary>The float tensor a uint8 tensor stands for ("x" for "x::u8"), for naming the float steps around it.</summary>
        private static string FloatBase(string u8) =>
            u8.EndsWith(QuantizedSuffix, StringComparison.Ordinal) ? u8.Substring(0, u8.Length - QuantizedSuffix.Length) : u8;

        private void Translate(Node node)
        {
            if (node.Domain == OperatorRegistry.QuantizedDomain)
            {
                switch (node.OpType)
                {
                    case "Quantize": Quantize(Input(node, 0), node.Outputs[0]); return;
                    case "Dequantize": _b.Node("DequantizeLinear", node.Name, new[] { Name(node.Inputs[0]), Scale(node.Inputs[0]), ZeroPoint(node.Inputs[0]) }, new[] { Name(node.Outputs[0]) }); return;
                    case "QConv" or "QGemm": Weighted(node); return;
                    case "QMatMul": Around(node, "MatMul", node.Inputs.Select(i => Dequantized(i, node.Name)).ToArray(), Fused(node), null); return;
                    case "QAdd": Around(node, "Add", node.Inputs.Select(i => Dequantized(i, node.Name)).ToArray(), Fused(node), null); return;
                    case "QConcat": Around(node, "Concat", node.Inputs.Select(i => Dequantized(i, node.Name)).ToArray(), null, new[] { node.Attributes["axis"] }); return;
                    case "QGlobalAveragePool": Around(node, "GlobalAveragePool", new[] { Dequantized(node.Inputs[0], node.Name) }, Fused(node), null); return;
                    case "QAveragePool":
                        Around(node, "AveragePool", new[] { Dequantized(node.Inputs[0], node.Name) }, Fused(node), OriginalOf(node).Attributes.Values);
                        return;
                    case "QLookup": Lookup(node); return;
                    case "QGatherRows": GatherRows(node); return;
                    default:
                        throw new NotSupportedException($"{node.OpType} '{node.Name}' has no QDQ form (dynamic quantization cannot be exported)");
                }
            }

            var inputs = node.Inputs.Select(i => i.Length == 0 ? "" : _report.Uint8Params.ContainsKey(i) ? Dequantized(i, node.Name) : Input(i)).ToList();
            bool onUint8 = node.Outputs.Any(o => _report.Uint8Params.ContainsKey(o));
            if (onUint8)
            {
                // MaxPool, a view or Split on uint8: in QDQ form the op sits between DequantizeLinear and QuantizeLinear
                // (one per output, on the input's grid), which ORT folds back into the op on uint8 (what QuantGen runs).
                var floats = node.Outputs.Select(o => o.Length == 0 ? "" : _b.Unique(FloatBase(o) + "_float")).ToArray();
                _b.Node(node.OpType, node.Name, inputs, floats, node.Attributes.Values.Select(OnnxProtoBuilder.Attribute));
                for (int i = 0; i < floats.Length; i++)
                {
                    if (floats[i].Length > 0)
                        Quantize(floats[i], node.Outputs[i]);
                }
                return;
            }
            var outputs = node.Outputs.Select(o => o.Length == 0 ? "" : Name(o)).ToList();
            if (node.OpType == "Gelu" && _opset < 20 && node.Activation == null)
            {
                GeluDecomposed(node, inputs[0], outputs[0]);
                return;
            }
            if (node.Activation == null)
            {
                _b.Node(node.OpType, node.Name, inputs, outputs, node.Attributes.Values.Select(OnnxProtoBuilder.Attribute));
                return;
            }
            string before = _b.Unique(outputs[0] + "_before_" + node.Activation.Kind.ToString().ToLowerInvariant());
            _b.Node(node.OpType, node.Name, inputs, new[] { before }.Concat(outputs.Skip(1)), node.Attributes.Values.Select(OnnxProtoBuilder.Attribute));
            Activation(node.Activation, before, outputs[0], node.Name);
        }

        /// <summary>
        /// QGatherRows (an embedding table in int8, a scale per row) becomes a Gather from the table's dequantized float
        /// values (q * scale, as the generated code computes them): the same numbers, and ORT reads them straight
        /// rather than dequantizing the whole table on every run, which a DequantizeLinear in front of the Gather would.
        /// </summary>
        private void GatherRows(Node node)
        {
            var table = _graph[node.Inputs[0]].Constant!;
            var scales = _graph[node.Inputs[2]].Constant!.Floats!;
            int n = table.Shape[1];
            var values = new float[table.Length];
            for (int i = 0; i < values.Length; i++) values[i] = table.Longs![i] * scales[i / n];
            string name = _b.Unique(node.Name + ".table_dequantized");
            _b.Initializer(name, Tensor.FromFloats(table.Shape, values));
            _b.Node("Gather", node.Name, new[] { name, Input(node, 1) }, new[] { Name(node.Outputs[0]) }, Array.Empty<AttributeProto>());
        }

        /// <summary>
        /// Gelu is an ONNX op from opset 20; the compiler fuses the decomposed form models below 20 are exported with
        /// (FuseGelu), so for those the export writes that form back: 0.5 x (1 + erf(x / √2)), or with approximate =
        /// "tanh" 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))). ORT fuses either into its own Gelu kernel.
        /// </summary>
        private void GeluDecomposed(Node node, string x, string y)
        {
            string Constant(string suffix, float value) => _b.Initializer(_b.Unique(node.Name + "." + suffix), Tensor.FromFloats(Array.Empty<int>(), new[] { value }));
            string Step(string op, string suffix, params string[] inputs)
            {
                string output = _b.Unique(y + "_" + suffix);
                _b.Node(op, node.Name + "/" + suffix, inputs, new[] { output });
                return output;
            }
            bool tanh = node.Attributes.TryGetValue("approximate", out var a) && a.String == "tanh";
            string gate = tanh
                ? Step("Tanh", "tanh", Step("Mul", "scaled", Constant("sqrt_2_over_pi", 0.7978845608028654f),
                    Step("Add", "cubic", x, Step("Mul", "cube", Constant("coefficient", 0.044715f), Step("Mul", "x3", x, Step("Mul", "x2", x, x))))))
                : Step("Erf", "erf", Step("Div", "scaled", x, Constant("sqrt2", 1.4142135f)));
            string half = Step("Mul", "half_x", x, Constant("half", 0.5f));
            _b.Node("Mul", node.Name, new[] { half, Step("Add", "one_plus", gate, Constant("one", 1f)) }, new[] { y });
        }

        /// <summary>A float input: a constant becomes an initializer (once), anything else is referenced by name.</summary>
        private string Input(string name)
        {
            var value = _graph[name];
            if (value.IsConstant && !_b.HasInitializer(Name(name)))
                _b.Initializer(Name(name), value.Constant!);
            return Name(name);
        }

        private string Input(Node node, int index) => Input(node.Inputs[index]);

        /// <summary>
        /// A DequantizeLinear of a uint8 tensor for one consumer. One per consumer, as ORT's QDQ node units want each
        /// DequantizeLinear to feed a single node (its EnsureUniqueDQForNodeUnit would otherwise copy them).
        /// </summary>
        private string Dequantized(string u8, string consumer)
        {
            string output = _b.Unique(Name(u8) + "_dequantized");
            _b.Node("DequantizeLinear", $"{consumer}/{Name(u8)}/DequantizeLinear", new[] { Name(u8), Scale(u8), ZeroPoint(u8) }, new[] { output });
            return output;
        }

        /// <summary>QuantizeLinear of a float tensor into the uint8 tensor <paramref name="u8"/> of the INT8 graph, on its grid.</summary>
        private void Quantize(string floatName, string u8) =>
            _b.Node("QuantizeLinear", Name(u8) + "/QuantizeLinear", new[] { floatName, Scale(u8), ZeroPoint(u8) }, new[] { Name(u8) });

        private QuantParams Params(string u8) =>
            _report.Uint8Params.TryGetValue(u8, out var p) ? p : throw new InvalidOperationException($"the quantization pass recorded no parameters for '{u8}'");

        private string Scale(string u8) =>
            _b.Initializer(Name(u8) + "_scale", Tensor.FromFloats(Array.Empty<int>(), new[] { Params(u8).Scale }));

        private string ZeroPoint(string u8) =>
            _b.Initializer(Name(u8) + "_zero_point", Tensor.FromLongs(DataType.UInt8, Array.Empty<int>(), new long[] { Params(u8).ZeroPoint }));

        private OriginalNode OriginalOf(Node node) =>
            _original.TryGetValue(node.Name, out var o) ? o : throw new InvalidOperationException($"{node.OpType} '{node.Name}' replaced no node of the float graph");

        private FusedActivation? Fused(Node node) => _original.TryGetValue(node.Name, out var o) ? o.Fused : null;

        /// <summary>DequantizeLinear'd inputs → the float op → fused activation → QuantizeLinear into the node's uint8 output.</summary>
        private void Around(Node node, string opType, string[] inputs, FusedActivation? activation, IEnumerable<NodeAttribute>? attributes)
        {
            var kept = attributes?.Where(a => !IsIntegerAttribute(a.Name)).Select(OnnxProtoBuilder.Attribute);
            string y = _b.Unique(FloatBase(node.Outputs[0]) + "_float");
            _b.Node(opType, node.Name, inputs, new[] { y }, kept);
            if (activation != null)
            {
                string activated = _b.Unique(y + "_" + activation.Kind.ToString().ToLowerInvariant());
                Activation(activation, y, activated, node.Name);
                y = activated;
            }
            Quantize(y, node.Outputs[0]);
        }

        // Attributes the quantization pass added to the integer ops, which the float ONNX op does not take.
        private static bool IsIntegerAttribute(string name) =>
            name is "x_zero_point" or "y_zero_point" or "y_min" or "y_max" or "multipliers" or "shifts" or "multiplier" or "shift" or "x_zero_points";

        /// <summary>
        /// QConv/QGemm: int8 weights behind a per-channel DequantizeLinear (axis 0), the int32 bias at s_x * s_w[c]
        /// behind another, then Conv or Gemm (transB = 1: the weights are stored one row per output channel, as
        /// QuantGen keeps them). A MatMul whose input is not a matrix stays a MatMul, with the weights transposed back
        /// to K x N and the scales on axis 1.
        /// </summary>
        private void Weighted(Node node)
        {
            var w = _report.Weights.TryGetValue(node.Name, out var found) ? found
                : throw new InvalidOperationException($"the quantization pass recorded no weights for '{node.Name}'");
            var original = OriginalOf(node);
            int channels = w.Weights.Channels;
            string x = Dequantized(node.Inputs[0], node.Name);
            string baseName = node.Name;

            bool matMul = node.OpType == "QGemm" && (original.InputShape?.Length ?? 2) != 2;
            int[] shape = w.Shape;
            long[] values = Array.ConvertAll(w.Weights.Values, v => (long)v);
            int axis = 0;
            if (matMul)
            {
                int n = shape[0], k = shape[1];
                var t = new long[values.Length];
                for (int r = 0; r < n; r++)
                    for (int c = 0; c < k; c++)
                        t[c * n + r] = values[r * k + c];
                values = t;
                shape = new[] { k, n };
                axis = 1;
            }
            string wq = _b.Initializer(_b.Unique(baseName + ".weight_int8"), Tensor.FromLongs(DataType.Int8, shape, values));
            string ws = _b.Initializer(_b.Unique(baseName + ".weight_scale"), Tensor.FromFloats(new[] { channels }, (float[])w.Weights.Scales.Clone()));
            string wz = _b.Initializer(_b.Unique(baseName + ".weight_zero_point"), Tensor.FromLongs(DataType.Int8, new[] { channels }, new long[channels]));
            string wf = _b.Unique(baseName + ".weight");
            _b.Node("DequantizeLinear", baseName + "/weight/DequantizeLinear", new[] { wq, ws, wz }, new[] { wf }, new[] { OnnxProtoBuilder.Int("axis", axis) });

            var inputs = new List<string> { x, wf };
            string? bias = null;
            if (w.Bias != null)
            {
                // The scale ORT's quantizer gives an int32 bias; its integer kernels add the int32 values as they are.
                var biasScales = new float[channels];
                for (int c = 0; c < channels; c++) biasScales[c] = (float)((double)w.Input.Scale * w.Weights.Scales[c]);
                string bq = _b.Initializer(_b.Unique(baseName + ".bias_int32"), Tensor.FromLongs(DataType.Int32, new[] { channels }, (long[])w.Bias.Clone()));
                string bs = _b.Initializer(_b.Unique(baseName + ".bias_scale"), Tensor.FromFloats(new[] { channels }, biasScales));
                string bz = _b.Initializer(_b.Unique(baseName + ".bias_zero_point"), Tensor.FromLongs(DataType.Int32, new[] { channels }, new long[channels]));
                string bf = _b.Unique(baseName + ".bias");
                _b.Node("DequantizeLinear", baseName + "/bias/DequantizeLinear", new[] { bq, bs, bz }, new[] { bf }, new[] { OnnxProtoBuilder.Int("axis", 0) });
                bias = bf;
                if (!matMul) inputs.Add(bf);
            }

            IEnumerable<NodeAttribute>? attributes = null;
            string opType;
            if (node.OpType == "QConv")
            {
                opType = "Conv";
                attributes = original.Attributes.Values;
            }
            else if (matMul && bias != null)
            {
                // A MatMul over tokens whose bias Add went into the QGemm (torch's nn.Linear on 3-D input): MatMul, then
                // the Add of the int32 bias, as the model had them.
                string product = _b.Unique(FloatBase(node.Outputs[0]) + "_matmul");
                _b.Node("MatMul", node.Name + "/MatMul", inputs, new[] { product });
                inputs = new List<string> { product, bias };
                opType = "Add";
            }
            else if (matMul)
            {
                opType = "MatMul";
            }
            else
            {
                opType = "Gemm";
                attributes = new[] { new NodeAttribute("transB", AttributeKind.Int) { Int = 1 } };
            }
            Around(node, opType, inputs.ToArray(), original.Fused, attributes);
        }

        /// <summary>
        /// QLookup: the standalone activation it replaced, between DequantizeLinear and QuantizeLinear; a table the pass
        /// added to move a tensor onto a QDQ pair's grid has no op in between.
        /// </summary>
        private void Lookup(Node node)
        {
            string x = Dequantized(node.Inputs[0], node.Name);
            if (_original.TryGetValue(node.Name, out var original) && original.StandaloneActivation != null)
            {
                string y = _b.Unique(FloatBase(node.Outputs[0]) + "_float");
                Activation(original.StandaloneActivation, x, y, node.Name);
                Quantize(y, node.Outputs[0]);
            }
            else
            {
                Quantize(x, node.Outputs[0]);
            }
        }

        /// <summary>An activation as its own ONNX node (opset 13 forms: Clip bounds are inputs; HardSwish is opset 14).</summary>
        private void Activation(FusedActivation a, string input, string output, string owner)
        {
            string name = owner + "/" + a.Kind;
            switch (a.Kind)
            {
                case ActivationKind.Relu: _b.Node("Relu", name, new[] { input }, new[] { output }); break;
                case ActivationKind.Sigmoid: _b.Node("Sigmoid", name, new[] { input }, new[] { output }); break;
                case ActivationKind.Tanh: _b.Node("Tanh", name, new[] { input }, new[] { output }); break;
                case ActivationKind.LeakyRelu: _b.Node("LeakyRelu", name, new[] { input }, new[] { output }, new[] { OnnxProtoBuilder.Float("alpha", a.Alpha) }); break;
                case ActivationKind.HardSigmoid:
                    _b.Node("HardSigmoid", name, new[] { input }, new[] { output }, new[] { OnnxProtoBuilder.Float("alpha", a.Alpha), OnnxProtoBuilder.Float("beta", a.Beta) });
                    break;
                case ActivationKind.Clip:
                {
                    string min = float.IsNegativeInfinity(a.Min) ? "" : _b.Initializer(_b.Unique(owner + ".clip_min"), Tensor.FromFloats(Array.Empty<int>(), new[] { a.Min }));
                    string max = float.IsPositiveInfinity(a.Max) ? "" : _b.Initializer(_b.Unique(owner + ".clip_max"), Tensor.FromFloats(Array.Empty<int>(), new[] { a.Max }));
                    _b.Node("Clip", name, new[] { input, min, max }, new[] { output });
                    break;
                }
                case ActivationKind.HardSwish when _opset >= 14:
                    _b.Node("HardSwish", name, new[] { input }, new[] { output });
                    break;
                case ActivationKind.HardSwish:
                {
                    // x * HardSigmoid(x, 1/6, 1/2): HardSwish's definition, for opset 13.
                    string gate = _b.Unique(output + "_gate");
                    _b.Node("HardSigmoid", name + "/gate", new[] { input }, new[] { gate }, new[] { OnnxProtoBuilder.Float("alpha", 1f / 6f), OnnxProtoBuilder.Float("beta", 0.5f) });
                    _b.Node("Mul", name, new[] { input, gate }, new[] { output });
                    break;
                }
                default:
                    throw new NotSupportedException($"the activation {a.Describe()} of '{owner}' has no ONNX form in the exporter");
            }
        }
    }
}
