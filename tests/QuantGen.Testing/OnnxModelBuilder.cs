using System;
using System.Collections.Generic;
using System.Linq;
using Google.Protobuf;
using QuantGen.Compiler.Onnx.Proto;

namespace QuantGen.Testing;

/// <summary>
/// Builds small ONNX models in memory for tests, over the compiler's own protobuf classes:
/// <code>
/// byte[] model = new OnnxModelBuilder()
///     .Input("x", 1, 4)
///     .Initializer("b", new long[] { 4 }, new float[] { 1, 2, 3, 4 })
///     .Node("add0", "Add", new[] { "x", "b" }, new[] { "y" })
///     .Output("y", 1, 4)
///     .ToBytes();
/// </code>
/// Anything the fluent methods do not cover can be set on <see cref="Proto"/> directly.
/// </summary>
public sealed class OnnxModelBuilder
{
    /// <summary>ONNX TensorProto.DataType numbers, for typed inputs and initializers.</summary>
    public static class ElementType
    {
        public const int Float = 1, UInt8 = 2, Int8 = 3, Int32 = 6, Int64 = 7, String = 8, Bool = 9, Float16 = 10, Double = 11;
    }

    private NodeProto? _lastNode;

    /// <param name="opset">The ai.onnx opset the model imports.</param>
    /// <param name="irVersion">The model's IR version.</param>
    /// <param name="graphName">The graph's name (appears in generated comments).</param>
    public OnnxModelBuilder(long opset = 13, long irVersion = 8, string graphName = "test")
    {
        Proto = new ModelProto
        {
            IrVersion = irVersion,
            ProducerName = "QuantGen.Testing",
            Graph = new GraphProto { Name = graphName },
        };
        Proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
    }

    /// <summary>The model being built; tests may change it directly (e.g. to make it invalid).</summary>
    internal ModelProto Proto { get; }

    /// <summary>A float32 input of the given shape.</summary>
    public OnnxModelBuilder Input(string name, params long[] dims) => TypedInput(name, ElementType.Float, dims.Cast<object>().ToArray());

    /// <summary>
    /// An input of any element type; each dimension is a <see cref="long"/>/<see cref="int"/> (fixed), a
    /// <see cref="string"/> (a named free dimension, dim_param) or null (an unnamed free dimension).
    /// </summary>
    public OnnxModelBuilder TypedInput(string name, int elementType, params object?[] dims)
    {
        Proto.Graph.Input.Add(ValueInfo(name, elementType, dims));
        return this;
    }

    /// <summary>A float32 output; the shape is optional (QuantGen infers it).</summary>
    public OnnxModelBuilder Output(string name, params long[] dims) => TypedOutput(name, ElementType.Float, dims.Cast<object>().ToArray());

    public OnnxModelBuilder TypedOutput(string name, int elementType, params object?[] dims)
    {
        Proto.Graph.Output.Add(ValueInfo(name, elementType, dims));
        return this;
    }

    /// <summary>A float32 initializer, stored as raw little-endian bytes like exporters do.</summary>
    public OnnxModelBuilder Initializer(string name, long[] dims, float[] values)
    {
        CheckCount(name, dims, values.Length);
        var bytes = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return Initializer(Tensor(name, ElementType.Float, dims, bytes));
    }

    /// <summary>An int64 initializer (shapes, axes), stored in int64_data.</summary>
    public OnnxModelBuilder Initializer(string name, long[] dims, long[] values)
    {
        CheckCount(name, dims, values.Length);
        var t = new TensorProto { Name = name, DataType = ElementType.Int64 };
        t.Dims.AddRange(dims);
        t.Int64Data.AddRange(values);
        return Initializer(t);
    }

    /// <summary>An initializer of any element type from raw little-endian bytes.</summary>
    public OnnxModelBuilder RawInitializer(string name, int elementType, long[] dims, byte[] rawData) =>
        Initializer(Tensor(name, elementType, dims, rawData));

    /// <summary>An initializer whose data lives in an external file (ONNX data_location = EXTERNAL).</summary>
    public OnnxModelBuilder ExternalInitializer(string name, long[] dims, string location, long offset = 0, long? length = null, int elementType = ElementType.Float)
    {
        var t = new TensorProto { Name = name, DataType = elementType, DataLocation = 1 };
        t.Dims.AddRange(dims);
        t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        if (offset != 0)
            t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        if (length != null)
            t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        return Initializer(t);
    }

    internal OnnxModelBuilder Initializer(TensorProto tensor)
    {
        Proto.Graph.Initializer.Add(tensor);
        return this;
    }

    /// <summary>A node named <paramref name="name"/>.</summary>
    public OnnxModelBuilder Node(string name, string opType, string[] inputs, string[] outputs, params OnnxAttribute[] attributes)
    {
        var node = new NodeProto { Name = name, OpType = opType };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes.Select(a => a.Proto));
        Proto.Graph.Node.Add(node);
        _lastNode = node;
        return this;
    }

    /// <summary>An unnamed node (QuantGen names it "{OpType}_{index}").</summary>
    public OnnxModelBuilder Node(string opType, string[] inputs, string[] outputs, params OnnxAttribute[] attributes) =>
        Node("", opType, inputs, outputs, attributes);

    /// <summary>Puts the last node added in an operator domain other than ai.onnx.</summary>
    public OnnxModelBuilder InDomain(string domain)
    {
        (_lastNode ?? throw new InvalidOperationException("Add a node first.")).Domain = domain;
        return this;
    }

    /// <summary>Imports another operator set (e.g. a custom domain).</summary>
    public OnnxModelBuilder Opset(string domain, long version)
    {
        Proto.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = version });
        return this;
    }

    public byte[] ToBytes() => Proto.ToByteArray();

    /// <summary>Deterministic pseudo-random floats in [-scale, scale], for small weights.</summary>
    public static float[] RandomFloats(int count, int seed, float scale = 0.5f)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++)
            values[i] = (float)((random.NextDouble() * 2 - 1) * scale);
        return values;
    }

    private static ValueInfoProto ValueInfo(string name, int elementType, object?[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(d switch
            {
                null => new TensorShapeProto.Types.Dimension(),
                string param => new TensorShapeProto.Types.Dimension { DimParam = param },
                _ => new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture) },
            });
        }
        var tensorType = new TypeProto.Types.Tensor { ElemType = elementType, Shape = shape };
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensorType } };
    }

    internal static TensorProto Tensor(string name, int elementType, long[] dims, byte[] raw)
    {
        var t = new TensorProto { Name = name, DataType = elementType, RawData = ByteString.CopyFrom(raw) };
        t.Dims.AddRange(dims);
        return t;
    }

    private static void CheckCount(string name, long[] dims, int count)
    {
        long expected = dims.Aggregate(1L, (a, b) => a * b);
        if (expected != count)
            throw new ArgumentException($"Initializer '{name}' has shape [{string.Join(",", dims)}] ({expected} values) but {count} values were given.");
    }
}

/// <summary>A node attribute for <see cref="OnnxModelBuilder.Node(string, string, string[], string[], OnnxAttribute[])"/>.</summary>
public sealed class OnnxAttribute
{
    private OnnxAttribute(AttributeProto proto) => Proto = proto;

    internal AttributeProto Proto { get; }

    public static OnnxAttribute Int(string name, long value) =>
        new(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value });

    public static OnnxAttribute Float(string name, float value) =>
        new(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value });

    public static OnnxAttribute String(string name, string value) =>
        new(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) });

    /// <summary>A tensor attribute (ConstantOfShape's value) from raw little-endian bytes.</summary>
    public static OnnxAttribute TensorValue(string name, int elementType, long[] dims, byte[] rawData) =>
        new(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = OnnxModelBuilder.Tensor("", elementType, dims, rawData) });

    public static OnnxAttribute Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return new(a);
    }

    public static OnnxAttribute Floats(string name, params float[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Floats };
        a.Floats.AddRange(values);
        return new(a);
    }
}
