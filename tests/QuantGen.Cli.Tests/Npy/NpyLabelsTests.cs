using System;
using System.IO;
using System.Linq;
using QuantGen.Cli.Npy;
using Xunit;

namespace QuantGen.Cli.Tests.Npy;

public sealed class NpyLabelsTests
{
    private static int[] Read(byte[] bytes) => NpyLabels.Read(new MemoryStream(bytes));

    [Fact]
    public void Reads_int64_int32_and_uint8_in_shape_n_or_n_by_1()
    {
        Assert.Equal(new[] { 3, 0, 9 }, Read(NpyWriter.Bytes("<i8", new long[] { 3 }, new long[] { 3, 0, 9 }.SelectMany(BitConverter.GetBytes).ToArray())));
        Assert.Equal(new[] { 3, 0, 9 }, Read(NpyWriter.Bytes("<i4", new long[] { 3, 1 }, new[] { 3, 0, 9 }.SelectMany(BitConverter.GetBytes).ToArray())));
        Assert.Equal(new[] { 3, 0, 9 }, Read(NpyWriter.Bytes("|u1", new long[] { 3 }, new byte[] { 3, 0, 9 }, version: 2)));
    }

    [Theory]
    [InlineData("<f4", "labels are class indices as int64")]
    [InlineData("<f8", "(float64)")]
    [InlineData(">i8", "(big-endian int64)")]
    public void Other_dtypes_are_refused(string descr, string said)
    {
        var e = Assert.Throws<NpyFormatException>(() => Read(NpyWriter.Bytes(descr, new long[] { 1 }, new byte[8])));
        Assert.Contains(said, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Several_values_per_sample_negative_labels_and_truncation_are_refused()
    {
        Assert.Contains("one class index per sample",
            Assert.Throws<NpyFormatException>(() => Read(NpyWriter.Bytes("|u1", new long[] { 2, 10 }, new byte[20]))).Message, StringComparison.Ordinal);
        Assert.Contains("label 2 is -1",
            Assert.Throws<NpyFormatException>(() => Read(NpyWriter.Bytes("<i8", new long[] { 2 }, new long[] { 1, -1 }.SelectMany(BitConverter.GetBytes).ToArray()))).Message, StringComparison.Ordinal);
        Assert.Contains("truncated",
            Assert.Throws<NpyFormatException>(() => Read(NpyWriter.Bytes("<i8", new long[] { 4 }, new byte[16]))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_sample_reader_reads_integer_data_only_as_integers()
    {
        using var reader = new NpyReader(new MemoryStream(NpyWriter.Bytes("<i8", new long[] { 1, 1 }, new byte[8])));
        Assert.Throws<InvalidOperationException>(() => reader.ReadSample(new float[1]));
    }
}
