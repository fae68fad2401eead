using System;
using System.Buffers.Binary;
using System.IO;
using System.Runtime.InteropServices;

namespace QuantGen.Cli.Npy;

/// <summary>
/// Reads a .npy file one sample at a time (the first axis is the sample): as floats (float32 data as it is, uint8 data
/// divided by a scale) for float inputs, or as integers (int64, int32, uint8) for integer inputs such as token ids.
/// Only one sample's bytes are held, whatever the file's size.
/// </summary>
internal sealed class NpyReader : IDisposable
{
    private readonly Stream _stream;
    private readonly byte[] _bytes;
    private readonly float _scale;
    private long _next;

    /// <param name="stream">Positioned at the start of the .npy file; the reader owns it.</param>
    /// <param name="scale">What uint8 values are divided by (the result is <c>byte / scale</c> in float32); ignored for float32 data.</param>
    /// <exception cref="NpyFormatException">See <see cref="NpyHeader.Read"/>; also when a seekable stream is shorter than its header announces.</exception>
    public NpyReader(Stream stream, float scale = 1f)
    {
        _stream = stream ?? throw new ArgumentNullException(nameof(stream));
        if (!(scale > 0) || float.IsInfinity(scale))
        {
            stream.Dispose();
            throw new ArgumentOutOfRangeException(nameof(scale), "the scale must be a positive finite number");
        }
        try
        {
            Header = NpyHeader.Read(stream);
            long sampleBytes = checked(Header.SampleLength * Header.ElementBytes);
            if (sampleBytes > Array.MaxLength)
                throw new NpyFormatException($"one sample of shape {Header.FormatShape()} is {sampleBytes} bytes, more than this tool reads at once");
            if (stream.CanSeek)
            {
                long expected = checked(Header.DataOffset + Header.SampleCount * sampleBytes);
                if (stream.Length < expected)
                    throw new NpyFormatException(
                        $"the file is truncated: its header announces {Header.DescribeType()} {Header.FormatShape()}, {expected} bytes with the header, but it holds {stream.Length}");
            }
            _bytes = new byte[sampleBytes];
        }
        catch (OverflowException)
        {
            stream.Dispose();
            throw new NpyFormatException("the .npy shape is too large to be real; the header is damaged");
        }
        catch
        {
            stream.Dispose();
            throw;
        }
        _scale = scale;
    }

    public NpyHeader Header { get; }

    /// <summary>Elements per sample (the product of the dimensions after the first).</summary>
    public int SampleLength => (int)Header.SampleLength;

    /// <summary>Samples read so far.</summary>
    public long SamplesRead => _next;

    /// <summary>Opens <paramref name="path"/> for sequential reading.</summary>
    public static NpyReader Open(string path, float scale = 1f) =>
        new(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.SequentialScan), scale);

    /// <summary>Whether the data reads as floats (float32, or uint8 with the scale) rather than as integers.</summary>
    public bool IsFloatData => Header.Type is NpyDataType.Float32 or NpyDataType.UInt8;

    /// <summary>Whether the data reads as integers (int64, int32, uint8).</summary>
    public bool IsIntegerData => Header.Type is NpyDataType.Int64 or NpyDataType.Int32 or NpyDataType.UInt8;

    /// <summary>Reads the next sample into <paramref name="destination"/> (<see cref="SampleLength"/> floats).</summary>
    /// <returns>False when every sample has been read.</returns>
    /// <exception cref="NpyFormatException">The file ends inside a sample.</exception>
    /// <exception cref="InvalidOperationException">The file holds int64 or int32 data, which is not read as floats.</exception>
    public bool ReadSample(Span<float> destination)
    {
        if (!IsFloatData)
            throw new InvalidOperationException($"{Header.DescribeType()} data is read as integers");
        if (!ReadSampleBytes(destination.Length)) return false;

        if (Header.Type == NpyDataType.UInt8)
        {
            // Division rather than multiplication by 1/scale: pixel / 255f rounds the way NumPy's x / 255 does in float32.
            for (int i = 0; i < destination.Length; i++)
                destination[i] = _bytes[i] / _scale;
        }
        else if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.Cast<byte, float>(_bytes).CopyTo(destination);
        }
        else
        {
            for (int i = 0; i < destination.Length; i++)
                destination[i] = BinaryPrimitives.ReadSingleLittleEndian(_bytes.AsSpan(4 * i));
        }
        _next++;
        return true;
    }

    /// <summary>Reads the next sample into <paramref name="destination"/> (<see cref="SampleLength"/> integers).</summary>
    /// <returns>False when every sample has been read.</returns>
    /// <exception cref="NpyFormatException">The file ends inside a sample.</exception>
    /// <exception cref="InvalidOperationException">The file holds float32 data, which is not read as integers.</exception>
    public bool ReadSample(Span<long> destination)
    {
        if (!IsIntegerData)
            throw new InvalidOperationException($"{Header.DescribeType()} data is read as floats");
        if (!ReadSampleBytes(destination.Length)) return false;

        var bytes = _bytes.AsSpan();
        switch (Header.Type)
        {
            case NpyDataType.UInt8:
                for (int i = 0; i < destination.Length; i++) destination[i] = bytes[i];
                break;
            case NpyDataType.Int32:
                for (int i = 0; i < destination.Length; i++) destination[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes.Slice(4 * i));
                break;
            default:
                for (int i = 0; i < destination.Length; i++) destination[i] = BinaryPrimitives.ReadInt64LittleEndian(bytes.Slice(8 * i));
                break;
        }
        _next++;
        return true;
    }

    /// <summary>Reads one sample's bytes into the buffer; false at the end of the data.</summary>
    private bool ReadSampleBytes(int destinationLength)
    {
        if (destinationLength != SampleLength)
            throw new ArgumentException($"a sample has {SampleLength} elements, the destination {destinationLength}", "destination");
        if (_next >= Header.SampleCount) return false;

        int read = 0;
        while (read < _bytes.Length)
        {
            int n = _stream.Read(_bytes, read, _bytes.Length - read);
            if (n == 0)
                throw new NpyFormatException($"the file is truncated: it ends inside sample {_next + 1} of {Header.SampleCount}");
            read += n;
        }
        return true;
    }

    public void Dispose() => _stream.Dispose();
}
