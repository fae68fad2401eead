using System;
using System.Collections.Generic;
using System.Text;

namespace QuantGen.Build;

/// <summary>
/// Finds the external-data files an ONNX model refers to, by walking the protobuf wire format directly:
/// the task must stay free of dependencies, and it needs only a handful of fields.
/// <code>
/// ModelProto      7 graph (GraphProto)
/// GraphProto      1 node (NodeProto), 5 initializer (TensorProto)
/// NodeProto       5 attribute (AttributeProto)
/// AttributeProto  5 t (TensorProto), 6 g (GraphProto), 10 tensors, 11 graphs
/// TensorProto     13 external_data (StringStringEntryProto {1 key, 2 value}), 14 data_location (1 = EXTERNAL)
/// </code>
/// Attribute tensors and subgraphs are walked too because onnx.save_model moves those to external
/// files as well. The scan is bounded (nesting depth, every step moves forward) and answers
/// "nothing" for input that is not well-formed protobuf: the generator reports a broken model.
/// </summary>
internal static class ExternalDataScanner
{
    private const int MaxDepth = 64;
    private const int DataLocationExternal = 1;

    /// <summary>The distinct <c>location</c> values of tensors stored externally, in order of appearance.</summary>
    public static IReadOnlyList<string> FindLocations(byte[] model)
    {
        if (model is null) throw new ArgumentNullException(nameof(model));
        var locations = new List<string>();
        try
        {
            if (!ScanModel(new Segment(model, 0, model.Length), locations))
                return Array.Empty<string>();
        }
        catch (DecoderFallbackException)
        {
            return Array.Empty<string>();
        }
        return locations;
    }

    private static bool ScanModel(Segment model, List<string> locations)
    {
        var reader = new WireReader(model);
        while (reader.Next(out int field, out WireType type, out Segment payload))
        {
            if (field == 7 && type == WireType.LengthDelimited && !ScanGraph(payload, locations, 1))
                return false;
        }
        return !reader.Failed;
    }

    private static bool ScanGraph(Segment graph, List<string> locations, int depth)
    {
        if (depth > MaxDepth) return false;
        var reader = new WireReader(graph);
        while (reader.Next(out int field, out WireType type, out Segment payload))
        {
            if (type != WireType.LengthDelimited) continue;
            bool ok = field switch
            {
                1 => ScanNode(payload, locations, depth + 1),
                5 => ScanTensor(payload, locations),
                _ => true,
            };
            if (!ok) return false;
        }
        return !reader.Failed;
    }

    private static bool ScanNode(Segment node, List<string> locations, int depth)
    {
        if (depth > MaxDepth) return false;
        var reader = new WireReader(node);
        while (reader.Next(out int field, out WireType type, out Segment payload))
        {
            if (field == 5 && type == WireType.LengthDelimited && !ScanAttribute(payload, locations, depth + 1))
                return false;
        }
        return !reader.Failed;
    }

    private static bool ScanAttribute(Segment attribute, List<string> locations, int depth)
    {
        if (depth > MaxDepth) return false;
        var reader = new WireReader(attribute);
        while (reader.Next(out int field, out WireType type, out Segment payload))
        {
            if (type != WireType.LengthDelimited) continue;
            bool ok = field switch
            {
                5 or 10 => ScanTensor(payload, locations),
                6 or 11 => ScanGraph(payload, locations, depth + 1),
                _ => true,
            };
            if (!ok) return false;
        }
        return !reader.Failed;
    }

    private static bool ScanTensor(Segment tensor, List<string> locations)
    {
        var reader = new WireReader(tensor);
        ulong dataLocation = 0;
        string? location = null;
        while (reader.Next(out int field, out WireType type, out Segment payload))
        {
            if (field == 14 && type == WireType.Varint)
                dataLocation = reader.LastVarint;
            else if (field == 13 && type == WireType.LengthDelimited)
            {
                if (!ReadEntry(payload, out string? key, out string? value)) return false;
                if (key == "location") location = value;
            }
        }
        if (reader.Failed) return false;
        if (dataLocation == DataLocationExternal && !string.IsNullOrEmpty(location) && !locations.Contains(location!))
            locations.Add(location!);
        return true;
    }

    private static bool ReadEntry(Segment entry, out string? key, out string? value)
    {
        key = value = null;
        var reader = new WireReader(entry);
        while (reader.Next(out int field, out WireType type, out Segment payload))
        {
            if (type != WireType.LengthDelimited) continue;
            if (field == 1) key = payload.ToUtf8();
            else if (field == 2) value = payload.ToUtf8();
        }
        return !reader.Failed;
    }

    private enum WireType
    {
        Varint = 0,
        Fixed64 = 1,
        LengthDelimited = 2,
        Fixed32 = 5,
    }

    private readonly struct Segment
    {
        private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

        public Segment(byte[] bytes, int start, int end)
        {
            Bytes = bytes;
            Start = start;
            End = end;
        }

        public byte[] Bytes { get; }
        public int Start { get; }
        public int End { get; }

        public string ToUtf8() => StrictUtf8.GetString(Bytes, Start, End - Start);
    }

    /// <summary>Reads one field at a time; on anything malformed it stops and sets <see cref="Failed"/>.</summary>
    private struct WireReader
    {
        private readonly byte[] _bytes;
        private readonly int _end;
        private int _position;

        public WireReader(Segment segment)
        {
            _bytes = segment.Bytes;
            _position = segment.Start;
            _end = segment.End;
            Failed = false;
            LastVarint = 0;
        }

        public bool Failed { get; private set; }

        /// <summary>The value of the last varint field returned by <see cref="Next"/>.</summary>
        public ulong LastVarint { get; private set; }

        public bool Next(out int field, out WireType type, out Segment payload)
        {
            field = 0;
            type = WireType.Varint;
            payload = default;
            if (Failed || _position >= _end) return false;
            if (!ReadVarint(out ulong tag) || tag >> 3 == 0 || tag >> 3 > int.MaxValue) return Fail();
            field = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    type = WireType.Varint;
                    if (!ReadVarint(out ulong value)) return Fail();
                    LastVarint = value;
                    return true;
                case 1:
                    type = WireType.Fixed64;
                    return Skip(8);
                case 2:
                    type = WireType.LengthDelimited;
                    if (!ReadVarint(out ulong length) || length > (ulong)(_end - _position)) return Fail();
                    payload = new Segment(_bytes, _position, _position + (int)length);
                    _position += (int)length;
                    return true;
                case 5:
                    type = WireType.Fixed32;
                    return Skip(4);
                default:
                    // Groups (3, 4) are not used by ONNX; 6 and 7 do not exist.
                    return Fail();
            }
        }

        private bool Skip(int count)
        {
            if (_end - _position < count) return Fail();
            _position += count;
            return true;
        }

        private bool ReadVarint(out ulong value)
        {
            value = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                if (_position >= _end) return false;
                byte b = _bytes[_position++];
                value |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0) return true;
            }
            return false;
        }

        private bool Fail()
        {
            Failed = true;
            return false;
        }
    }
}
