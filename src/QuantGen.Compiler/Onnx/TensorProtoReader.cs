using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Onnx.Proto;

namespace QuantGen.Compiler.Onnx;

/// <summary>Decodes an ONNX TensorProto (raw_data or typed fields, optionally external data) into a <see cref="Tensor"/>.</summary>
internal static class TensorProtoReader
{
    /// <param name="externalData">Resolves an external-data location (relative to the model's folder) to its bytes; null when absent.</param>
    public static Tensor Read(TensorProto proto, string modelPath, Func<string, byte[]?>? externalData)
    {
        string name = proto.Name.Length > 0 ? proto.Name : "(unnamed tensor)";
        var type = DataTypes.FromOnnx(proto.DataType)
            ?? throw new ModelCompileException(DiagnosticCatalog.UnsupportedDataType.Create(name, DataTypes.OnnxName(proto.DataType)));

        var shape = new int[proto.Dims.Count];
        for (int i = 0; i < shape.Length; i++)
        {
            long d = proto.Dims[i];
            if (d < 0 || d > int.MaxValue)
                throw Malformed(modelPath, $"tensor '{name}' has the invalid dimension {d}");
            shape[i] = (int)d;
        }
        long count = 1;
        foreach (int d in shape)
        {
            count *= d;
            if (count > int.MaxValue)
                throw new ModelCompileException(DiagnosticCatalog.TensorTooLarge.Create(name, Shapes.Format(shape)));
        }

        byte[]? raw = proto.RawData.Length > 0 ? proto.RawData.ToByteArray() : null;
        if (proto.DataLocation == 1)
            raw = ReadExternal(proto, name, modelPath, externalData);

        if (raw != null)
        {
            int size = type.ByteSize();
            if (raw.LongLength != count * size)
                throw Malformed(modelPath, $"tensor '{name}' ({Shapes.Format(shape)}, {type}) has {raw.Length} bytes of data, expected {count * size}");
            return FromRaw(type, shape, raw, (int)count);
        }

        // Typed fields.
        switch (type)
        {
            case DataType.Float:
                return Tensor.FromFloats(shape, Fill(proto.FloatData.ToArray(), count, name, modelPath));
            case DataType.Int64:
                return Tensor.FromLongs(type, shape, Fill(proto.Int64Data.ToArray(), count, name, modelPath));
            default: // int32, int8, uint8, bool all travel in int32_data
                var ints = Fill(proto.Int32Data.Select(v => (long)v).ToArray(), count, name, modelPath);
                return Tensor.FromLongs(type, shape, ints.Select(v => Narrow(type, v)).ToArray());
        }

    }

    private static T[] Fill<T>(T[] data, long count, string name, string modelPath)
    {
        if (data.Length != count)
            throw Malformed(modelPath, $"tensor '{name}' has {data.Length} values, expected {count}");
        return data;
    }

    private static long Narrow(DataType type, long v) => type switch
    {
        DataType.Int8 => (sbyte)v,
        DataType.UInt8 => (byte)v,
        DataType.Int32 => (int)v,
        DataType.Bool => v != 0 ? 1 : 0,
        _ => v,
    };

    private static Tensor FromRaw(DataType type, int[] shape, byte[] raw, int count)
    {
        // ONNX raw_data is little-endian.
        switch (type)
        {
            case DataType.Float:
            {
                var f = new float[count];
                if (BitConverter.IsLittleEndian)
                    Buffer.BlockCopy(raw, 0, f, 0, count * 4);
                else
                    for (int i = 0; i < count; i++) f[i] = BitConverter.ToSingle(Reverse(raw, i * 4, 4), 0);
                return Tensor.FromFloats(shape, f);
            }
            default:
            {
                var l = new long[count];
                for (int i = 0; i < count; i++)
                {
                    l[i] = type switch
                    {
                        DataType.Int64 => BitConverter.IsLittleEndian ? BitConverter.ToInt64(raw, i * 8) : BitConverter.ToInt64(Reverse(raw, i * 8, 8), 0),
                        DataType.Int32 => BitConverter.IsLittleEndian ? BitConverter.ToInt32(raw, i * 4) : BitConverter.ToInt32(Reverse(raw, i * 4, 4), 0),
                        DataType.Int8 => (sbyte)raw[i],
                        DataType.UInt8 => raw[i],
                        DataType.Bool => raw[i] != 0 ? 1 : 0,
                        _ => throw new InvalidOperationException(),
                    };
                }
                return Tensor.FromLongs(type, shape, l);
            }
        }
    }

    private static byte[] Reverse(byte[] raw, int offset, int length)
    {
        var b = new byte[length];
        Array.Copy(raw, offset, b, 0, length);
        Array.Reverse(b);
        return b;
    }

    private static byte[] ReadExternal(TensorProto proto, string name, string modelPath, Func<string, byte[]?>? externalData)
    {
        var entries = proto.ExternalData.ToDictionary(e => e.Key, e => e.Value);
        if (!entries.TryGetValue("location", out var location) || location.Length == 0)
            throw new ModelCompileException(DiagnosticCatalog.ExternalDataRefused.Create(name, "(none)", "the tensor has no 'location' entry"));
        string normalized = location.Replace('\\', '/');
        if (normalized.StartsWith("/", StringComparison.Ordinal) || normalized.Contains(":") || normalized.Split('/').Contains(".."))
            throw new ModelCompileException(DiagnosticCatalog.ExternalDataRefused.Create(name, location, "the path leaves the model's folder"));
        byte[] file = externalData?.Invoke(normalized)
            ?? throw new ModelCompileException(DiagnosticCatalog.ExternalDataRefused.Create(name, location, "the file was not found beside the model"));
        long offset = entries.TryGetValue("offset", out var o) && long.TryParse(o, out var ov) ? ov : 0;
        long length = entries.TryGetValue("length", out var l) && long.TryParse(l, out var lv) ? lv : file.LongLength - offset;
        if (offset < 0 || length < 0 || offset + length > file.LongLength)
            throw new ModelCompileException(DiagnosticCatalog.ExternalDataRefused.Create(name, location, $"offset {offset} and length {length} lie outside the file ({file.Length} bytes)"));
        var slice = new byte[length];
        Array.Copy(file, offset, slice, 0, length);
        return slice;
    }

    private static ModelCompileException Malformed(string modelPath, string reason) =>
        new(DiagnosticCatalog.MalformedModel.Create(modelPath, reason));

}
