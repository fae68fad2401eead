using System;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;
using Xunit;

namespace QuantGen.Compiler.Tests.Emit;

public class WeightEmitterTests
{
    /// <summary>Decodes the ulong literals of one member back to bytes (little-endian), as the runtime reads them.</summary>
    private static byte[] Decode(string source, string member)
    {
        int start = source.IndexOf($"{member}_Data => new ulong[]", StringComparison.Ordinal);
        int end = source.IndexOf("};", start, StringComparison.Ordinal);
        return Regex.Matches(source.Substring(start, end - start), "0x([0-9A-F]{16})")
            .SelectMany(m => BitConverter.GetBytes(ulong.Parse(m.Groups[1].Value, NumberStyles.HexNumber)))
            .ToArray();
    }

    private static string Write(WeightEmitter emitter)
    {
        var w = new SourceWriter();
        foreach (var (_, write) in emitter.Files(1 << 20)) write(w);
        return w.ToString();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(17)]
    public void Float_weights_round_trip_through_the_ulong_literals(int count)
    {
        var values = Enumerable.Range(0, count).Select(i => (float)Math.Sin(i) * 1e3f).ToArray();
        if (count > 2) { values[1] = float.NaN; values[2] = -0f; }
        var emitter = new WeightEmitter();
        string member = emitter.Add("conv.weight", "'conv.weight'", Tensor.FromFloats(new[] { count }, values));
        string source = Write(emitter);

        Assert.Equal("conv_weight", member);
        Assert.Contains($"MemoryMarshal.Cast<ulong, float>({member}_Data).Slice(0, {count})", source);
        if (count == 0) return;
        var bytes = Decode(source, member);
        Assert.Equal((count * 4 + 7) / 8 * 8, bytes.Length);
        var decoded = Enumerable.Range(0, count).Select(i => BitConverter.ToSingle(bytes, i * 4)).ToArray();
        Assert.Equal(values.Select(BitConverter.SingleToInt32Bits), decoded.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Integer_weights_keep_their_own_width()
    {
        var emitter = new WeightEmitter();
        string i8 = emitter.Add("q", "q", Tensor.FromLongs(DataType.Int8, new[] { 3 }, new long[] { -128, 0, 127 }));
        string i64 = emitter.Add("s", "s", Tensor.FromLongs(DataType.Int64, new[] { 2 }, new long[] { long.MinValue, 5 }));
        string source = Write(emitter);

        Assert.Equal(new byte[] { 0x80, 0, 0x7F, 0, 0, 0, 0, 0 }, Decode(source, i8));
        var bytes = Decode(source, i64);
        Assert.Equal(long.MinValue, BitConverter.ToInt64(bytes, 0));
        Assert.Equal(5, BitConverter.ToInt64(bytes, 8));
    }

    [Fact]
    public void Names_are_unique_identifiers_and_a_key_is_embedded_once()
    {
        var emitter = new WeightEmitter();
        var t = Tensor.FromFloats(new[] { 1 }, new[] { 1f });
        Assert.Equal("onnx_Conv_12", emitter.Add("onnx::Conv_12", "", t));
        Assert.Equal("onnx_Conv_12_2", emitter.Add("onnx..Conv_12", "", t));
        Assert.Equal("_0_weight", emitter.Add("0.weight", "", t));
        Assert.Equal("onnx_Conv_12", emitter.Add("onnx::Conv_12", "", t));
        Assert.Equal(3, emitter.Count);
    }

    [Fact]
    public void Large_weights_are_split_across_files()
    {
        var emitter = new WeightEmitter();
        for (int i = 0; i < 5; i++)
            emitter.Add("w" + i, "", Tensor.FromFloats(new[] { 1000 }, new float[1000]));
        Assert.Equal(3, emitter.Files(8000).Count()); // 4000 bytes each: two per file
    }
}
