using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace QuantGen.Cli.Evaluation;

/// <summary>
/// A copy of an ONNX model whose graph also outputs some intermediate tensors, so ONNX Runtime returns their FP32
/// values next to the model's outputs (per-layer error against ONNX Runtime itself, at the cost of one run).
/// Edits the protobuf wire format directly: ModelProto.graph (field 7) gets more GraphProto.output entries (field 12),
/// each a ValueInfoProto with a name (field 1) and a float tensor type (TypeProto.tensor_type = 1, elem_type = 1
/// FLOAT), the shape left to ONNX Runtime's inference. Every other byte is copied as it is.
/// </summary>
internal static class OnnxGraphOutputs
{
    private const int ModelGraphField = 7;
    private const int GraphOutputField = 12;

    /// <exception cref="InvalidDataException">The bytes are not a protobuf message with one graph.</exception>
    public static byte[] Add(byte[] model, IEnumerable<string> names)
    {
        using var result = new MemoryStream(model.Length + 4096);
        int position = 0;
        bool found = false;
        while (position < model.Length)
        {
            int start = position;
            ulong tag = ReadVarint(model, ref position);
            int field = (int)(tag >> 3), wireType = (int)(tag & 7);
            if (field == ModelGraphField && wireType == 2)
            {
                int length = checked((int)ReadVarint(model, ref position));
                if (length < 0 || position + length > model.Length) throw new InvalidDataException("the model's graph runs past the end of the file");
                var graph = new MemoryStream();
                graph.Write(model, position, length);
                foreach (string name in names)
                    WriteLengthDelimited(graph, GraphOutputField, FloatValueInfo(name));
                WriteLengthDelimited(result, ModelGraphField, graph.ToArray());
                position += length;
                found = true;
                continue;
            }
            Skip(model, ref position, wireType);
            result.Write(model, start, position - start);
        }
        if (!found) throw new InvalidDataException("the model has no graph");
        return result.ToArray();
    }

    private static byte[] FloatValueInfo(string name)
    {
        var elemType = new MemoryStream();
        WriteVarint(elemType, 1 << 3 | 0);   // TypeProto.Tensor.elem_type = FLOAT (1)
        WriteVarint(elemType, 1);
        var type = new MemoryStream();
        WriteLengthDelimited(type, 1, elemType.ToArray());   // TypeProto.tensor_type
        var info = new MemoryStream();
        WriteLengthDelimited(info, 1, Encoding.UTF8.GetBytes(name));   // ValueInfoProto.name
        WriteLengthDelimited(info, 2, type.ToArray());                 // ValueInfoProto.type
        return info.ToArray();
    }

    private static void Skip(byte[] bytes, ref int position, int wireType)
    {
        switch (wireType)
        {
            case 0: ReadVarint(bytes, ref position); break;
            case 1: position += 8; break;
            case 2:
                // The length first: "position + ReadVarint(ref position)" would add it to the position before the varint.
                int length = checked((int)ReadVarint(bytes, ref position));
                position = checked(position + length);
                break;
            case 5: position += 4; break;
            default: throw new InvalidDataException($"protobuf wire type {wireType} at byte {position} is not one ONNX files use");
        }
        if (position > bytes.Length) throw new InvalidDataException("a field runs past the end of the file");
    }

    private static ulong ReadVarint(byte[] bytes, ref int position)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (position >= bytes.Length) throw new InvalidDataException("the file ends inside a protobuf varint");
            byte b = bytes[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw new InvalidDataException("a protobuf varint is longer than 10 bytes");
    }

    private static void WriteVarint(Stream stream, ulong value)
    {
        while (value >= 0x80)
        {
            stream.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        stream.WriteByte((byte)value);
    }

    private static void WriteLengthDelimited(Stream stream, int field, byte[] payload)
    {
        WriteVarint(stream, (ulong)field << 3 | 2);
        WriteVarint(stream, (ulong)payload.Length);
        stream.Write(payload, 0, payload.Length);
    }
}
