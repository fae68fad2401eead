using System.Collections.Generic;
using System.Text;

namespace QuantGen.Build.Tests;

/// <summary>Writes protobuf wire format by hand, to build ONNX-shaped messages the tests need.</summary>
internal sealed class ProtoWriter
{
    private readonly List<byte> _bytes = new();

    public ProtoWriter Varint(int field, ulong value)
    {
        Tag(field, 0);
        RawVarint(value);
        return this;
    }

    public ProtoWriter Bytes(int field, byte[] payload)
    {
        Tag(field, 2);
        RawVarint((ulong)payload.Length);
        _bytes.AddRange(payload);
        return this;
    }

    public ProtoWriter Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());

    public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public ProtoWriter Fixed32(int field, uint value)
    {
        Tag(field, 5);
        for (int i = 0; i < 4; i++) _bytes.Add((byte)(value >> (8 * i)));
        return this;
    }

    public ProtoWriter Raw(params byte[] bytes)
    {
        _bytes.AddRange(bytes);
        return this;
    }

    public byte[] ToArray() => _bytes.ToArray();

    private void Tag(int field, int wireType) => RawVarint((ulong)((field << 3) | wireType));

    private void RawVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }
        _bytes.Add((byte)value);
    }

    // ONNX shapes used by the tests (field numbers from onnx.proto).

    /// <summary>A TensorProto named <paramref name="name"/> whose data is in <paramref name="location"/>.</summary>
    public static ProtoWriter ExternalTensor(string name, string location, bool markedExternal = true)
    {
        var tensor = new ProtoWriter()
            .Varint(1, 4)                 // dims
            .Varint(2, 1)                 // data_type FLOAT
            .String(8, name)
            .Message(13, Entry("location", location))
            .Message(13, Entry("offset", "0"))
            .Message(13, Entry("length", "16"));
        if (markedExternal) tensor.Varint(14, 1);  // data_location EXTERNAL
        return tensor;
    }

    public static ProtoWriter Entry(string key, string value) => new ProtoWriter().String(1, key).String(2, value);

    /// <summary>A ModelProto around <paramref name="graph"/>.</summary>
    public static byte[] Model(ProtoWriter graph) =>
        new ProtoWriter().Varint(1, 8).String(2, "tests").Message(7, graph).ToArray();
}
