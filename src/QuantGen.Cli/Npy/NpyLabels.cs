using System;
using System.Buffers.Binary;
using System.IO;

namespace QuantGen.Cli.Npy;

/// <summary>
/// Reads a .npy file of class labels, one per sample: shape (N,) or (N, 1), int64, int32 or uint8. Labels are small
/// (8 bytes a sample), so they are read whole, unlike the samples.
/// </summary>
internal static class NpyLabels
{
    /// <exception cref="NpyFormatException">Not .npy, another dtype, more than one value per sample, truncated, or a negative label.</exception>
    public static int[] Read(Stream stream)
    {
        var header = NpyHeader.Read(stream, labels: true);
        if (header.Shape.Length > 2 || header.SampleLength != 1)
            throw new NpyFormatException($"labels hold one class index per sample, shape (N,) or (N, 1); this array is {header.FormatShape()}");
        if (header.SampleCount > Array.MaxLength)
            throw new NpyFormatException($"{header.SampleCount} labels are more than this tool reads");
        int n = (int)header.SampleCount;
        var bytes = new byte[checked(n * header.ElementBytes)];
        int read = 0;
        while (read < bytes.Length)
        {
            int got = stream.Read(bytes, read, bytes.Length - read);
            if (got == 0)
                throw new NpyFormatException($"the file is truncated: its header announces {header.DescribeType()} {header.FormatShape()}, but it ends after {read / header.ElementBytes} labels");
            read += got;
        }

        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            long label = header.Type switch
            {
                NpyDataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8 * i)),
                NpyDataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4 * i)),
                _ => bytes[i],
            };
            if (label < 0 || label > int.MaxValue)
                throw new NpyFormatException($"label {i + 1} is {label}; labels are class indices (0, 1, 2, ...)");
            labels[i] = (int)label;
        }
        return labels;
    }

    public static int[] Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return Read(stream);
    }
}
