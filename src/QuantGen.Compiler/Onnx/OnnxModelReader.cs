using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Onnx.Proto;

namespace QuantGen.Compiler.Onnx;

/// <summary>Reads ONNX protobuf bytes into the compiler's <see cref="Graph"/>.</summary>
public static class OnnxModelReader
{
    public const int MinOpset = 7, MaxOpset = 21, MinIrVersion = 3, MaxIrVersion = 10;

    /// <param name="bytes">The .onnx file.</param>
    /// <param name="modelPath">The model's path, for messages.</param>
    /// <param name="externalData">Resolves external-data locations relative to the model's folder; null when the model has none.</param>
    /// <param name="dimensions">Sizes of named free input dimensions (the Dimensions option); null for none.</param>
    public static Graph Read(byte[] bytes, string modelPath, Func<string, byte[]?>? externalData = null, DimensionBindings? dimensions = null)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (Exception e)
        {
            // Google.Protobuf reports truncation, bad wire types and invalid UTF-8 this way.
            throw Malformed(modelPath, "the protobuf data is damaged (" + e.Message.TrimEnd('.') + ")");
        }

        if (model.Graph == null)
            throw Malformed(modelPath, "it has no graph");
        if (model.IrVersion < MinIrVersion || model.IrVersion > MaxIrVersion)
            throw new ModelCompileException(DiagnosticCatalog.UnsupportedOpset.Create(modelPath, "IR version " + model.IrVersion));
        var opsetImport = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx");
        // IR version 3 models may omit the import; they mean opset 7 or later at the writer's choice, so require it.
        if (opsetImport == null)
            throw Malformed(modelPath, "it imports no ai.onnx operator set");
        if (opsetImport.Version < MinOpset || opsetImport.Version > MaxOpset)
            throw new ModelCompileException(DiagnosticCatalog.UnsupportedOpset.Create(modelPath, "ai.onnx opset " + opsetImport.Version));

        var proto = model.Graph;
        var graph = new Graph(proto.Name, opsetImport.Version, model.IrVersion);

        if (proto.SparseInitializer.Count > 0)
            throw new ModelCompileException(DiagnosticCatalog.UnsupportedDataType.Create(proto.SparseInitializer[0].Values?.Name ?? "(sparse)", "sparse tensor"));

        foreach (var init in proto.Initializer)
        {
            if (init.Name.Length == 0)
                throw Malformed(modelPath, "an initializer has no name");
            var tensor = TensorProtoReader.Read(init, modelPath, externalData);
            graph.Values[init.Name] = new Value(init.Name, tensor.Type, tensor.Shape) { Constant = tensor };
        }

        dimensions ??= DimensionBindings.None;
        var realInputs = proto.Input.Where(i => !graph.Values.ContainsKey(i.Name)).ToList(); // IR < 4 lists initializers among the inputs too.
        // Names first, so a misspelt name is reported as such rather than as the free dimension it failed to fix.
        dimensions.CheckAgainst(new HashSet<string>(realInputs
            .SelectMany(i => i.Type?.TensorType?.Shape?.Dim ?? Enumerable.Empty<TensorShapeProto.Types.Dimension>())
            .Where(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam && d.DimParam.Length > 0)
            .Select(d => d.DimParam), StringComparer.Ordinal), modelPath);
        foreach (var input in realInputs)
        {
            graph.Values[input.Name] = ReadInput(input, modelPath, dimensions);
            graph.Inputs.Add(input.Name);
        }

        var nodes = new List<Node>();
        var usedNames = new HashSet<string>();
        for (int i = 0; i < proto.Node.Count; i++)
        {
            var n = proto.Node[i];
            string name = n.Name.Length > 0 ? n.Name : $"{n.OpType}_{i}";
            while (!usedNames.Add(name))
                name += "_" + i;
            var attributes = new Dictionary<string, NodeAttribute>();
            foreach (var a in n.Attribute)
                attributes[a.Name] = ReadAttribute(a, modelPath, externalData);
            nodes.Add(new Node(name, n.OpType, n.Domain, n.Input.ToList(), n.Output.ToList(), attributes));
        }

        foreach (var node in nodes)
        {
            foreach (var output in node.Outputs.Where(o => o.Length > 0))
            {
                if (graph.Values.ContainsKey(output))
                    throw new ModelCompileException(DiagnosticCatalog.GraphStructure.Create(modelPath, $"the value '{output}' is produced twice (by node '{node.Name}' and earlier)"));
                graph.Values[output] = new Value(output, DataType.Undefined, null);
            }
        }

        graph.Nodes.AddRange(TopologicalOrder(nodes, graph, modelPath));
        graph.OriginalNodeNames.AddRange(nodes.Select(n => n.Name));

        foreach (var output in proto.Output)
        {
            if (!graph.Values.ContainsKey(output.Name))
                throw new ModelCompileException(DiagnosticCatalog.GraphStructure.Create(modelPath, $"the graph output '{output.Name}' is never produced"));
            graph.Outputs.Add(output.Name);
        }
        if (graph.Outputs.Count == 0)
            throw Malformed(modelPath, "the graph has no outputs");
        return graph;
    }

    private static Value ReadInput(ValueInfoProto input, string modelPath, DimensionBindings dimensions)
    {
        var tensorType = input.Type?.TensorType
            ?? throw new ModelCompileException(DiagnosticCatalog.UnsupportedDataType.Create(input.Name, input.Type == null ? "no type" : "a non-tensor type"));
        var type = DataTypes.FromOnnx(tensorType.ElemType)
            ?? throw new ModelCompileException(DiagnosticCatalog.UnsupportedDataType.Create(input.Name, DataTypes.OnnxName(tensorType.ElemType)));
        if (tensorType.Shape == null)
            throw new ModelCompileException(DiagnosticCatalog.FreeDimension.Create(input.Name, "(no shape at all)", 0, "; the file gives it no shape, so only a re-export can fix it"));
        var dims = tensorType.Shape.Dim;
        var shape = new int[dims.Count];
        for (int i = 0; i < dims.Count; i++)
        {
            var d = dims[i];
            bool named = d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam && d.DimParam.Length > 0;
            if (named && dimensions.TryGetSize(d.DimParam, out int bound))
            {
                shape[i] = bound; // fixed at build time by the Dimensions option
            }
            else if (d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue >= 0)
            {
                if (d.DimValue > int.MaxValue)
                    throw Malformed(modelPath, $"input '{input.Name}' has the dimension {d.DimValue}");
                shape[i] = (int)d.DimValue;
            }
            else if (i == 0 && dims.Count > 1)
            {
                shape[i] = 1; // A free leading batch dimension: compiled for batch size 1.
            }
            else
            {
                string fix = named
                    ? $"; set its size with the [OnnxModel] option Dimensions = new[] {{ \"{d.DimParam}=N\" }}"
                    : "; it has no name (dim_param), so only a re-export can fix its size";
                throw new ModelCompileException(DiagnosticCatalog.FreeDimension.Create(input.Name, named ? d.DimParam : "?", i, fix));
            }
        }
        // Generated code indexes with int: an input past that would overflow every length computed from it.
        long count = 1;
        foreach (int d in shape)
        {
            count *= d;
            if (count > int.MaxValue)
                throw new ModelCompileException(DiagnosticCatalog.TensorTooLarge.Create(input.Name, Shapes.Format(shape)));
        }
        return new Value(input.Name, type, shape);
    }

    private static NodeAttribute ReadAttribute(AttributeProto a, string modelPath, Func<string, byte[]?>? externalData)
    {
        var type = a.Type;
        if (type == AttributeProto.Types.AttributeType.Undefined)
        {
            // Old writers leave the type out; infer it from the field that is set.
            type = a.Floats.Count > 0 ? AttributeProto.Types.AttributeType.Floats
                : a.Ints.Count > 0 ? AttributeProto.Types.AttributeType.Ints
                : a.Strings.Count > 0 ? AttributeProto.Types.AttributeType.Strings
                : a.T != null ? AttributeProto.Types.AttributeType.Tensor
                : a.G != null ? AttributeProto.Types.AttributeType.Graph
                : a.S.Length > 0 ? AttributeProto.Types.AttributeType.String
                : a.F != 0 ? AttributeProto.Types.AttributeType.Float
                : AttributeProto.Types.AttributeType.Int;
        }
        return type switch
        {
            AttributeProto.Types.AttributeType.Float => new NodeAttribute(a.Name, AttributeKind.Float) { Float = a.F },
            AttributeProto.Types.AttributeType.Int => new NodeAttribute(a.Name, AttributeKind.Int) { Int = a.I },
            AttributeProto.Types.AttributeType.String => new NodeAttribute(a.Name, AttributeKind.String) { String = a.S.ToStringUtf8() },
            AttributeProto.Types.AttributeType.Floats => new NodeAttribute(a.Name, AttributeKind.Floats) { Floats = a.Floats.ToArray() },
            AttributeProto.Types.AttributeType.Ints => new NodeAttribute(a.Name, AttributeKind.Ints) { Ints = a.Ints.ToArray() },
            AttributeProto.Types.AttributeType.Strings => new NodeAttribute(a.Name, AttributeKind.Strings) { Strings = a.Strings.Select(s => s.ToStringUtf8()).ToArray() },
            AttributeProto.Types.AttributeType.Tensor when a.T != null => new NodeAttribute(a.Name, AttributeKind.Tensor) { Tensor = TensorProtoReader.Read(a.T, modelPath, externalData) },
            _ => new NodeAttribute(a.Name, AttributeKind.Unsupported) { UnsupportedKind = type.ToString().ToUpperInvariant() },
        };
    }

    /// <summary>Kahn's algorithm; keeps the file's order where it is already valid. Reports undefined inputs and cycles.</summary>
    private static List<Node> TopologicalOrder(List<Node> nodes, Graph graph, string modelPath)
    {
        var available = new HashSet<string>(graph.Values.Where(v => v.Value.IsConstant).Select(v => v.Key).Concat(graph.Inputs)) { "" };
        var produced = new HashSet<string>(nodes.SelectMany(n => n.Outputs));
        foreach (var node in nodes)
            foreach (var input in node.Inputs)
                if (!available.Contains(input) && !produced.Contains(input))
                    throw new ModelCompileException(DiagnosticCatalog.GraphStructure.Create(modelPath, $"node '{node.Name}' ({node.OpType}) reads '{input}', which nothing produces"));

        var order = new List<Node>(nodes.Count);
        var pending = new List<Node>(nodes);
        while (pending.Count > 0)
        {
            int before = pending.Count;
            for (int i = 0; i < pending.Count; i++)
            {
                var node = pending[i];
                if (node.Inputs.All(available.Contains))
                {
                    order.Add(node);
                    available.UnionWith(node.Outputs);
                    pending.RemoveAt(i);
                    i = -1; // restart from the first pending node to keep file order
                }
            }
            if (pending.Count == before)
                throw new ModelCompileException(DiagnosticCatalog.GraphStructure.Create(modelPath, $"the nodes form a cycle through '{pending[0].Name}'"));
        }
        return order;
    }

    private static ModelCompileException Malformed(string modelPath, string reason) =>
        new(DiagnosticCatalog.MalformedModel.Create(modelPath, reason));
}
