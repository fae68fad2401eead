using System;
using System.IO;
using System.Linq;
using QuantGen.Cli.Npy;
using Xunit;

namespace QuantGen.Cli.Tests.Npy;

public class NpyReaderTests
{
    private static NpyReader Reader(byte[] bytes, float scale = 1f) => new(new MemoryStream(bytes), scale);

    private static float[][] ReadAll(NpyReader reader)
    {
        var samples = new System.Collections.Generic.List<float[]>();
        var sample = new float[reader.SampleLength];
        while (reader.ReadSample(sample))
            samples.Add(sample.ToArray());
        return samples.ToArray();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Reads_float32_in_every_format_version(int version)
    {
        float[] values = Enumerable.Range(0, 3 * 2 * 4).Select(i => i * 0.5f - 3.25f).ToArray();
        using var reader = Reader(NpyWriter.Float32(new long[] { 3, 2, 4 }, values, version));

        Assert.Equal(version, reader.Header.MajorVersion);
        Assert.Equal(NpyDataType.Float32, reader.Header.Type);
        Assert.Equal(new long[] { 3, 2, 4 }, reader.Header.Shape);
        Assert.Equal(3, reader.Header.SampleCount);
        Assert.Equal(8, reader.SampleLength);
        var samples = ReadAll(reader);
        Assert.Equal(3, samples.Length);
        for (int s = 0; s < 3; s++)
            Assert.Equal(values.Skip(8 * s).Take(8), samples[s]);
        Assert.Equal(3, reader.SamplesRead);
    }

    [Fact]
    public void Float32_keeps_every_bit_including_nan_infinities_and_negative_zero()
    {
        float[] values = { float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, float.Epsilon, float.MaxValue };
        using var reader = Reader(NpyWriter.Float32(new long[] { 1, 6 }, values));
        var sample = ReadAll(reader).Single();
        Assert.Equal(values.Select(BitConverter.SingleToInt32Bits), sample.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Uint8_is_divided_by_the_scale_in_float32()
    {
        byte[] pixels = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        using var reader = Reader(NpyWriter.UInt8(new long[] { 2, 128 }, pixels), scale: 255f);

        Assert.Equal(NpyDataType.UInt8, reader.Header.Type);
        var samples = ReadAll(reader);
        Assert.Equal(pixels.Select(p => p / 255f), samples.SelectMany(s => s));
        Assert.Equal(1f, samples[1][127]);
    }

    [Theory]
    [InlineData("|u1")]
    [InlineData("<u1")]
    [InlineData("u1")]
    public void Uint8_may_carry_any_byte_order_mark(string descr)
    {
        using var reader = Reader(NpyWriter.Bytes(descr, new long[] { 1, 2 }, new byte[] { 10, 20 }), scale: 10f);
        Assert.Equal(new[] { 1f, 2f }, ReadAll(reader).Single());
    }

    [Fact]
    public void A_one_dimensional_array_is_one_value_per_sample()
    {
        using var reader = Reader(NpyWriter.Float32(new long[] { 3 }, new[] { 1f, 2f, 3f }));
        Assert.Equal(1, reader.SampleLength);
        Assert.Equal(new[] { new[] { 1f }, new[] { 2f }, new[] { 3f } }, ReadAll(reader));
        Assert.Equal("(3,)", reader.Header.FormatShape());
    }

    [Theory]
    [InlineData("{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 2)}")]
    [InlineData("{'shape': (2, 2), 'fortran_order': False, 'descr': '<f4'}")]
    [InlineData("{ 'descr' : '<f4' , 'fortran_order' : False , 'shape' : ( 2 , 2 , ) , }")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 2L), }")]
    public void Header_dictionaries_are_read_as_python_literals(string header)
    {
        using var reader = Reader(NpyWriter.Bytes("<f4", new long[] { 2, 2 }, new byte[16], header: header));
        Assert.Equal(new long[] { 2, 2 }, reader.Header.Shape);
        Assert.Equal(2, ReadAll(reader).Length);
    }

    [Fact]
    public void Reads_one_sample_at_a_time_from_the_stream()
    {
        // 100 samples of 1,000 floats: after one sample the reader has asked for no more than the header and that sample.
        byte[] file = NpyWriter.Float32(new long[] { 100, 1000 }, new float[100 * 1000]);
        var stream = new CountingStream(file);
        using var reader = new NpyReader(stream);
        reader.ReadSample(new float[1000]);
        Assert.True(stream.BytesRead <= reader.Header.DataOffset + 4000, $"{stream.BytesRead} bytes read for one sample");
    }

    [Fact]
    public void Bad_magic_is_not_a_npy_file()
    {
        var e = Assert.Throws<NpyFormatException>(() => Reader(System.Text.Encoding.ASCII.GetBytes("PK\x03\x04 this is a zip, not .npy")));
        Assert.Contains("not a NumPy .npy file", e.Message, StringComparison.Ordinal);
        Assert.Throws<NpyFormatException>(() => Reader(Array.Empty<byte>()));
    }

    [Theory]
    [InlineData(4, 0)]
    [InlineData(1, 1)]
    [InlineData(0, 0)]
    public void Unknown_format_versions_are_refused(int major, int minor)
    {
        byte[] bytes = NpyWriter.Float32(new long[] { 1, 1 }, new[] { 1f });
        bytes[6] = (byte)major;
        bytes[7] = (byte)minor;
        var e = Assert.Throws<NpyFormatException>(() => Reader(bytes));
        Assert.Contains($"version {major}.{minor}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fortran_order_is_refused_with_the_fix()
    {
        var e = Assert.Throws<NpyFormatException>(() => Reader(NpyWriter.Bytes("<f4", new long[] { 2, 2 }, new byte[16], fortranOrder: true)));
        Assert.Contains("Fortran", e.Message, StringComparison.Ordinal);
        Assert.Contains("ascontiguousarray", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<f8", "float64")]
    [InlineData("<f2", "float16")]
    [InlineData(">f4", "big-endian float32")]
    [InlineData("|i1", "int8")]
    [InlineData("<i2", "int16")]
    [InlineData(">i8", "big-endian int64")]
    [InlineData("|b1", "'|b1'")]
    public void Other_dtypes_are_refused_with_what_they_are(string descr, string said)
    {
        var e = Assert.Throws<NpyFormatException>(() => Reader(NpyWriter.Bytes(descr, new long[] { 1, 1 }, new byte[8])));
        Assert.Contains(said, e.Message, StringComparison.Ordinal);
        Assert.Contains("float32 ('<f4') or uint8 ('|u1')", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Token_ids_read_as_integers_from_int64_int32_and_uint8_and_float_data_does_not()
    {
        long[] ids = { 101, -1, 0, 1L << 40 };
        var cases = new[]
        {
            (Bytes: NpyWriter.Bytes("<i8", new long[] { 2, 2 }, ids.SelectMany(BitConverter.GetBytes).ToArray()), Want: ids),
            (Bytes: NpyWriter.Bytes("<i4", new long[] { 2, 2 }, new[] { 101, -1, 0, 7 }.SelectMany(BitConverter.GetBytes).ToArray()), Want: new long[] { 101, -1, 0, 7 }),
            (Bytes: NpyWriter.Bytes("|u1", new long[] { 2, 2 }, new byte[] { 101, 255, 0, 7 }), Want: new long[] { 101, 255, 0, 7 }),
        };
        foreach (var (bytes, want) in cases)
        {
            using var reader = Reader(bytes);
            var sample = new long[2];
            Assert.True(reader.ReadSample(sample));
            Assert.Equal(want.Take(2), sample);
            Assert.True(reader.ReadSample(sample));
            Assert.Equal(want.Skip(2), sample);
            Assert.False(reader.ReadSample(sample));
        }
        using var floats = Reader(NpyWriter.Float32(new long[] { 1, 2 }, new[] { 1f, 2f }));
        Assert.Throws<InvalidOperationException>(() => floats.ReadSample(new long[2]));
    }

    [Fact]
    public void Structured_dtypes_are_refused()
    {
        string header = "{'descr': [('x', '<f4'), ('y', '<f4')], 'fortran_order': False, 'shape': (2,), }";
        var e = Assert.Throws<NpyFormatException>(() => Reader(NpyWriter.Bytes("", new long[] { 2 }, new byte[16], header: header)));
        Assert.Contains("structured", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{'descr': '<f4', 'fortran_order': False}", "no 'shape'")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': ()}", "scalar")]
    [InlineData("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", "'fortran_order' is not True or False")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "expected '}'")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", "non-negative")]
    [InlineData("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", "twice")]
    [InlineData("not a dict", "dictionary")]
    public void Malformed_headers_say_what_is_wrong(string header, string said)
    {
        var e = Assert.Throws<NpyFormatException>(() => Reader(NpyWriter.Bytes("<f4", new long[] { 1 }, new byte[4], header: header)));
        Assert.Contains(said, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_truncated_file_is_refused_when_opened()
    {
        byte[] bytes = NpyWriter.Float32(new long[] { 4, 10 }, new float[40]);
        var e = Assert.Throws<NpyFormatException>(() => Reader(bytes.AsSpan(0, bytes.Length - 1).ToArray()));
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
        Assert.Contains("(4, 10)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_truncated_stream_that_cannot_seek_fails_on_the_sample_it_ends_in()
    {
        byte[] bytes = NpyWriter.Float32(new long[] { 4, 10 }, new float[40]);
        using var reader = new NpyReader(new CountingStream(bytes.AsSpan(0, bytes.Length - 50).ToArray()));
        var sample = new float[10];
        Assert.True(reader.ReadSample(sample));
        Assert.True(reader.ReadSample(sample));
        var e = Assert.Throws<NpyFormatException>(() => reader.ReadSample(sample));
        Assert.Contains("sample 3 of 4", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(9)]
    [InlineData(30)]
    public void A_file_that_ends_inside_the_header_is_truncated(int length)
    {
        byte[] bytes = NpyWriter.Float32(new long[] { 1, 1 }, new[] { 1f });
        var e = Assert.Throws<NpyFormatException>(() => Reader(bytes.AsSpan(0, length).ToArray()));
        Assert.True(e.Message.Contains("truncated", StringComparison.Ordinal) || e.Message.Contains("not a NumPy", StringComparison.Ordinal), e.Message);
    }

    /// <summary>A read-only stream that cannot seek and counts what was read from it.</summary>
    private sealed class CountingStream : Stream
    {
        private readonly MemoryStream _inner;

        public CountingStream(byte[] bytes) => _inner = new MemoryStream(bytes);

        public long BytesRead { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = _inner.Read(buffer, offset, count);
            BytesRead += n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
