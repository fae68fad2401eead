using System;
using System.Globalization;
using System.Linq;
using QuantGen.Compiler.Calibration;
using Xunit;

namespace QuantGen.Compiler.Tests.Calibration;

public class JsonWriterTests
{
    [Fact]
    public void Writes_pretty_printed_with_two_spaces_and_newlines_only()
    {
        var root = new JsonObject();
        root.Add("name", new JsonString("conv"));
        root.Add("empty", new JsonObject());
        root.Add("none", new JsonArray());
        root.Add("flags", new JsonArray(new JsonNode[] { new JsonBoolean(true), new JsonBoolean(false), new JsonNull() }));
        var inner = new JsonObject();
        inner.Add("min", new JsonNumber(-1.5f));
        inner.Add("count", new JsonNumber(3L));
        root.Add("inner", inner);
        root.Add("objects", new JsonArray(new JsonNode[] { new JsonObject(), new JsonNumber(0.1) }));

        Assert.Equal(
            "{\n" +
            "  \"name\": \"conv\",\n" +
            "  \"empty\": {},\n" +
            "  \"none\": [],\n" +
            "  \"flags\": [true, false, null],\n" +
            "  \"inner\": {\n" +
            "    \"min\": -1.5,\n" +
            "    \"count\": 3\n" +
            "  },\n" +
            "  \"objects\": [\n" +
            "    {},\n" +
            "    0.1\n" +
            "  ]\n" +
            "}\n",
            JsonWriter.Write(root));
    }

    [Fact]
    public void Long_scalar_arrays_are_wrapped_sixteen_to_a_line()
    {
        var array = new JsonArray(Enumerable.Range(0, 35).Select(i => (JsonNode)new JsonNumber((long)i)));
        string text = JsonWriter.Write(array);
        var lines = text.Split('\n');
        Assert.Equal("[", lines[0]);
        Assert.Equal("  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,", lines[1]);
        Assert.Equal("  32, 33, 34", lines[3]);
        Assert.Equal("]", lines[4]);
        Assert.Equal(35, ((JsonArray)JsonReader.Parse(text)).Count);
    }

    [Fact]
    public void Strings_are_escaped_and_read_back_unchanged()
    {
        string s = "quote \" backslash \\ slash / controls \b\f\n\r\t \u0001 \u001f del \u007f é € \U0001F600 \u2028";
        string text = JsonWriter.Write(new JsonString(s));
        Assert.Equal("\"quote \\\" backslash \\\\ slash / controls \\b\\f\\n\\r\\t \\u0001 \\u001f del \\u007f é € \U0001F600 \u2028\"\n", text);
        Assert.Equal(s, ((JsonString)JsonReader.Parse(text)).Value);
    }

    [Fact]
    public void A_lone_surrogate_cannot_be_written()
    {
        Assert.Throws<ArgumentException>(() => JsonWriter.Write(new JsonString("a\ud800b")));
        Assert.Throws<ArgumentException>(() => JsonWriter.Write(new JsonString("\udc00")));
    }

    [Fact]
    public void Non_finite_numbers_cannot_be_represented()
    {
        Assert.Throws<ArgumentException>(() => new JsonNumber(double.NaN));
        Assert.Throws<ArgumentException>(() => new JsonNumber(float.PositiveInfinity));
        Assert.Throws<ArgumentException>(() => new JsonNumber(double.NegativeInfinity));
        Assert.Throws<ArgumentException>(() => JsonWriter.FormatSingle(float.NaN));
    }

    [Theory]
    [InlineData(0.1f, "0.1")]
    [InlineData(-1.5f, "-1.5")]
    [InlineData(1f, "1")]
    [InlineData(0f, "0")]
    [InlineData(-0f, "-0")]
    [InlineData(3.4028235e38f, "3.4028235E+38")]
    [InlineData(1e-45f, "1E-45")]
    [InlineData(16777217f, "16777216")]
    public void Floats_are_written_as_the_shortest_text_that_reads_back(float value, string expected) =>
        Assert.Equal(expected, JsonWriter.FormatSingle(value));

    [Fact]
    public void Every_float_reads_back_bit_for_bit()
    {
        var random = new Random(20240607);
        var bits = new byte[4];
        for (int i = 0; i < 200_000; i++)
        {
            random.NextBytes(bits);
            float f = BitConverter.ToSingle(bits, 0);
            if (float.IsNaN(f) || float.IsInfinity(f))
                continue;
            string s = JsonWriter.FormatSingle(f);
            float back = (float)((JsonNumber)JsonReader.Parse(s)).Value;
            Assert.True(BitConverter.SingleToInt32Bits(f) == BitConverter.SingleToInt32Bits(back), $"{f:R} written as {s} read back as {back:R}");
        }
    }

    [Fact]
    public void Every_double_reads_back_bit_for_bit()
    {
        var random = new Random(7);
        var bits = new byte[8];
        foreach (double special in new[] { double.MaxValue, double.MinValue, double.Epsilon, -double.Epsilon, 0.1, 1.0 / 3, 2.2250738585072014E-308, 5e-324, -0.0 })
            Assert.Equal(BitConverter.DoubleToInt64Bits(special), BitConverter.DoubleToInt64Bits(RoundTrip(special)));
        for (int i = 0; i < 200_000; i++)
        {
            random.NextBytes(bits);
            double d = BitConverter.ToDouble(bits, 0);
            if (double.IsNaN(d) || double.IsInfinity(d))
                continue;
            Assert.Equal(BitConverter.DoubleToInt64Bits(d), BitConverter.DoubleToInt64Bits(RoundTrip(d)));
        }

        static double RoundTrip(double d) => ((JsonNumber)JsonReader.Parse(JsonWriter.FormatDouble(d))).Value;
    }

    [Fact]
    public void Integers_are_written_with_all_their_digits()
    {
        Assert.Equal("9007199254740993\n", JsonWriter.Write(new JsonNumber(9007199254740993L)));
        Assert.Equal("-42\n", JsonWriter.Write(new JsonNumber(-42L)));
    }

    [Fact]
    public void Output_does_not_depend_on_the_current_culture()
    {
        var root = new JsonObject();
        root.Add("values", new JsonArray(new JsonNode[] { new JsonNumber(1234.5f), new JsonNumber(-0.001), new JsonNumber(1e-7f) }));
        string invariant = JsonWriter.Write(root);
        var culture = CultureInfo.CurrentCulture;
        try
        {
            foreach (string name in new[] { "de-DE", "fr-FR", "ar-SA", "fa-IR" })
            {
                CultureInfo.CurrentCulture = new CultureInfo(name);
                Assert.Equal(invariant, JsonWriter.Write(root));
            }
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
        Assert.Equal("{\n  \"values\": [1234.5, -0.001, 1E-07]\n}\n", invariant);
    }

    [Fact]
    public void Write_then_read_gives_the_same_tree()
    {
        var root = new JsonObject();
        root.Add("a", new JsonArray(Enumerable.Range(0, 40).Select(i => (JsonNode)new JsonNumber(i * 0.37))));
        var nested = new JsonObject();
        nested.Add("é \U0001F600", new JsonArray(new JsonNode[] { new JsonArray(), new JsonObject(), new JsonNull() }));
        root.Add("nested", nested);
        string once = JsonWriter.Write(root);
        string twice = JsonWriter.Write(JsonReader.Parse(once));
        Assert.Equal(once, twice.Replace("\r", ""));
    }
}
