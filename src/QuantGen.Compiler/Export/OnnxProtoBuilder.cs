using System;
using System.Collections.Generic;
using System.Linq;
using Google.Protobuf;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Onnx.Proto;

namespace QuantGen.Compiler.Export;

/// <summary>
/// Turns IR pieces (tensors, attributes, value types) into the compiler's own ONNX protobuf messages, and keeps the
/// node list and initializers of the graph being written, with names made unique. Only the mechanics of writing;
/// what to write is <see cref="QdqExporter"/>'s job.
/// </summary>
internal sealed class OnnxProtoBuilder
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TensorProto> _initializers = new(StringComparer.Ordinal);

    public GraphProto Graph { get; } = new();

    /// <summary>Reserves names already taken (the graph's own values) so generated names never collide with them.</summary>
    public void Reserve(IEnumerable<string> names) => _names.UnionWith(names);

    /// <summary>A fresh name starting with <paramref name="name"/>.</summary>
    public string Unique(string name)
    {
        string candidate = name;
        for (int i = 2; !_names.Add(candidate); i++) candidate = name + "_" + i;
        return candidate;
    }

    public bool HasInitializer(string name) => _initializers.ContainsKey(name);

    /// <summary>Adds an initializer under exactly <paramref name="name"/> (once; later calls with the same name are ignored).</summary>
    public string Initializer(string name, Tensor tensor)
    {
        if (_initializers.ContainsKey(name)) return name;
        var proto = ToProto(name, tensor);
        _initializers[name] = proto;
        Graph.Initializer.Add(proto);
        _names.Add(name);
        return name;
    }

    public NodeProto Node(string opType, string name, IEnumerable<string> inputs, IEnumerable<string> outputs, IEnumerable<AttributeProto>? attributes = null)
    {
        var node = new NodeProto { OpType = opType, Name = Unique(name) };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        if (attributes != null) node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return node;
    }

    public static ValueInfoProto ValueInfo(string name, DataType type, int[]? shape)
    {
        var tensorType = new TypeProto.Types.Tensor { ElemType = (int)type };
        if (shape != null)
        {
            tensorType.Shape = new TensorShapeProto();
            foreach (int d in shape)
                tensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensorType } };
    }

    /// <summary>A tensor as ONNX stores it: raw little-endian bytes (the layout every ONNX reader accepts).</summary>
    public static TensorProto ToProto(string name, Tensor tensor)
    {
        var proto = new TensorProto { Name = name, DataType = (int)tensor.Type };
        proto.Dims.AddRange(tensor.Shape.Select(d => (long)d));
        int n = tensor.Length;
        byte[] raw;
        switch (tensor.Type)
        {
            case DataType.Float:
            {
                var f = tensor.AsFloats();
                raw = new byte[n * 4];
                for (int i = 0; i < n; i++) WriteLittleEndian(raw, i * 4, BitConverter.ToInt32(BitConverter.GetBytes(f[i]), 0), 4);
                break;
            }
            case DataType.UInt8 or DataType.Int8 or DataType.Bool:
            {
                var l = tensor.AsLongs();
                raw = new byte[n];
                for (int i = 0; i < n; i++) raw[i] = unchecked((byte)l[i]);
                break;
            }
            case DataType.Int32:
            {
                var l = tensor.AsLongs();
                raw = new byte[n * 4];
                for (int i = 0; i < n; i++) WriteLittleEndian(raw, i * 4, l[i], 4);
                break;
            }
            case DataType.Int64:
            {
                var l = tensor.AsLongs();
                raw = new byte[n * 8];
                for (int i = 0; i < n; i++) WriteLittleEndian(raw, i * 8, l[i], 8);
                break;
            }
            default:
                throw new NotSupportedException($"tensor '{name}' has element type {tensor.Type}, which the exporter cannot write");
        }
        proto.RawData = ByteString.CopyFrom(raw);
        return proto;
    }

    // ONNX raw_data is little-endian whatever the machine is, so bytes are written one by one.
    private static void WriteLittleEndian(byte[] target, int offset, long value, int bytes)
    {
        for (int b = 0; b < bytes; b++) target[offset + b] = unchecked((byte)(value >> (8 * b)));
    }

    public static AttributeProto Attribute(NodeAttribute a)
    {
        var proto = new AttributeProto { Name = a.Name };
        switch (a.Kind)
        {
            case AttributeKind.Float: proto.Type = AttributeProto.Types.AttributeType.Float; proto.F = a.Float; break;
            case AttributeKind.Int: proto.Type = AttributeProto.Types.AttributeType.Int; proto.I = a.Int; break;
            case AttributeKind.String: proto.Type = AttributeProto.Types.AttributeType.String; proto.S = ByteString.CopyFromUtf8(a.String); break;
            case AttributeKind.Floats: proto.Type = AttributeProto.Types.AttributeType.Floats; proto.Floats.AddRange(a.Floats); break;
            case AttributeKind.Ints: proto.Type = AttributeProto.Types.AttributeType.Ints; proto.Ints.AddRange(a.Ints); break;
            case AttributeKind.Strings: proto.Type = AttributeProto.Types.AttributeType.Strings; proto.Strings.AddRange(a.Strings.Select(ByteString.CopyFromUtf8)); break;
            case AttributeKind.Tensor: proto.Type = AttributeProto.Types.AttributeType.Tensor; proto.T = ToProto("", a.Tensor!); break;
            default: throw new NotSupportedException($"attribute '{a.Name}' has a kind ({a.UnsupportedKind}) the exporter cannot write");
        }
        return proto;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };
}
