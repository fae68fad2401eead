using System.Linq;
using QuantGen.Compiler.Calibration;
using Xunit;

namespace QuantGen.Compiler.Tests.Calibration;

public class JsonReaderTests
{
    [Fact]
    public void Reads_every_kind_of_value_and_remembers_where_each_starts()
    {
        var root = (JsonObject)JsonReader.Parse("{\n  \"a\": [1, -2.5e3, 0.125, true, false, null],\n  \"b\": {\"c\": \"d\"},\n  \"e\": {}, \"f\": []\n}");
        var a = (JsonArray)root["a"]!;
        Assert.Equal(new[] { 1, -2500, 0.125 }, a.Take(3).Select(n => ((JsonNumber)n).Value));
        Assert.True(((JsonBoolean)a[3]).Value);
        Assert.False(((JsonBoolean)a[4]).Value);
        Assert.IsType<JsonNull>(a[5]);
        Assert.Equal("d", ((JsonString)((JsonObject)root["b"]!)["c"]!).Value);
        Assert.Empty((JsonObject)root["e"]!);
        Assert.Empty((JsonArray)root["f"]!);
        Assert.Equal(new[] { "a", "b", "e", "f" }, root.Members.Select(m => m.Key));

        Assert.Equal((1, 1), (root.Line, root.Column));
        Assert.Equal((2, 8), (a.Line, a.Column));
        Assert.Equal((2, 12), (a[1].Line, a[1].Column));
        Assert.Equal((3, 14), (((JsonObject)root["b"]!)["c"]!.Line, ((JsonObject)root["b"]!)["c"]!.Column));
        Assert.Equal((4, 17), (root["f"]!.Line, root["f"]!.Column));
    }

    [Theory]
    [InlineData("\"\"", "")]
    [InlineData("\"plain\"", "plain")]
    [InlineData("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", "\" \\ / \b \f \n \r \t")]
    [InlineData("\"\\u0041\\u00e9\\u20AC\"", "Aé€")]
    [InlineData("\"\\ud83d\\ude00 and \\uD834\\uDD1E\"", "\U0001F600 and \U0001D11E")]
    [InlineData("\"raw \U0001F600 é\"", "raw \U0001F600 é")]
    [InlineData("\"\\u0000\"", "\0")]
    public void Reads_strings_with_escapes_and_surrogate_pairs(string json, string expected) =>
        Assert.Equal(expected, ((JsonString)JsonReader.Parse(json)).Value);

    [Theory]
    [InlineData("0", 0)]
    [InlineData("-0", -0.0)]
    [InlineData("42", 42)]
    [InlineData("-17", -17)]
    [InlineData("3.25", 3.25)]
    [InlineData("1e3", 1000)]
    [InlineData("1E+3", 1000)]
    [InlineData("2.5e-3", 0.0025)]
    [InlineData("1.7976931348623157e308", double.MaxValue)]
    [InlineData("4.9406564584124654e-324", double.Epsilon)]
    [InlineData("1e-400", 0)]
    [InlineData("0.30000000000000004", 0.30000000000000004)]
    public void Reads_numbers_with_the_invariant_culture(string json, double expected)
    {
        var culture = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            // A culture whose decimal separator is ',' must not change anything.
            System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
            Assert.Equal(expected, ((JsonNumber)JsonReader.Parse(json)).Value);
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = culture;
        }
    }

    [Fact]
    public void Whitespace_of_every_kind_and_a_byte_order_mark_are_allowed()
    {
        var root = JsonReader.Parse("\uFEFF \t\r\n[\r\n1 ,\t2,\r3\n]\n\n");
        Assert.Equal(3, ((JsonArray)root).Count);
        Assert.Equal((2, 1), (root.Line, root.Column));
        Assert.Equal((4, 1), (((JsonArray)root)[2].Line, ((JsonArray)root)[2].Column));
    }

    [Theory]
    [InlineData("", 1, 1, "unexpected end of input")]
    [InlineData("   ", 1, 4, "unexpected end of input")]
    [InlineData("{", 1, 2, "member name")]
    [InlineData("{\"a\" 1}", 1, 6, "expected ':'")]
    [InlineData("{\"a\": 1,}", 1, 9, "trailing comma")]
    [InlineData("[1, 2,]", 1, 7, "trailing comma")]
    [InlineData("[1 2]", 1, 4, "expected ',' or ']'")]
    [InlineData("{\"a\": 1 \"b\": 2}", 1, 9, "expected ',' or '}'")]
    [InlineData("{a: 1}", 1, 2, "member name in double quotes")]
    [InlineData("{'a': 1}", 1, 2, "member name in double quotes")]
    [InlineData("{\n  \"x\": 1,\n  \"x\": 2\n}", 3, 3, "duplicate member name \"x\"")]
    [InlineData("[1]\n  x", 2, 3, "after the end of the document")]
    [InlineData("[tru]", 1, 2, "did you mean true")]
    [InlineData("nul", 1, 1, "did you mean null")]
    [InlineData("True", 1, 1, "expected a value")]
    [InlineData("01", 1, 2, "after the end of the document")]
    [InlineData("-", 1, 2, "digit after '-'")]
    [InlineData("1.", 1, 3, "digit after '.'")]
    [InlineData(".5", 1, 1, "expected a value")]
    [InlineData("+1", 1, 1, "expected a value")]
    [InlineData("1e", 1, 3, "exponent")]
    [InlineData("1e+", 1, 4, "exponent")]
    [InlineData("NaN", 1, 1, "expected a value")]
    [InlineData("Infinity", 1, 1, "expected a value")]
    [InlineData("1e400", 1, 1, "outside the range of a double")]
    [InlineData("[-1e999]", 1, 2, "outside the range of a double")]
    [InlineData("\"abc", 1, 5, "missing closing")]
    [InlineData("\"a\nb\"", 1, 3, "control character U+000A")]
    [InlineData("\"a\tb\"", 1, 3, "control character U+0009")]
    [InlineData("\"\\x\"", 1, 2, "invalid escape '\\x'")]
    [InlineData("\"\\u12G4\"", 1, 2, "four hexadecimal digits")]
    [InlineData("\"\\u12", 1, 6, "end of input")]
    [InlineData("\"\\ud800\"", 1, 2, "unpaired surrogate escape")]
    [InlineData("\"\\ud800\\u0041\"", 1, 2, "not a low surrogate")]
    [InlineData("\"\\udc00\"", 1, 2, "unpaired surrogate escape")]
    [InlineData("// comment\n1", 1, 1, "expected a value")]
    [InlineData("{\"a\":1}}", 1, 8, "after the end of the document")]
    [InlineData("[1,\r\n 2,\r\n ?]", 3, 2, "unexpected '?'")]
    [InlineData("[\0]", 1, 2, "U+0000")]
    public void Malformed_input_is_a_FormatException_that_says_what_and_where(string json, int line, int column, string problem)
    {
        var e = Assert.Throws<JsonFormatException>(() => JsonReader.Parse(json));
        Assert.IsAssignableFrom<System.FormatException>(e);
        Assert.True((line, column) == (e.Line, e.Column), $"expected {line}:{column}, got {e.Line}:{e.Column}: {e.Message}");
        Assert.Contains(problem, e.Message);
        Assert.StartsWith($"line {line}, column {column}: ", e.Message);
    }

    [Fact]
    public void Raw_unpaired_surrogates_are_refused()
    {
        // Not in [InlineData]: attribute blobs are UTF-8 and cannot carry a lone surrogate.
        foreach (var (json, code) in new[] { ("\"\ud800\"", "U+D800"), ("\"\udc00x\"", "U+DC00"), ("\"a\ud800b\"", "U+D800") })
        {
            var e = Assert.Throws<JsonFormatException>(() => JsonReader.Parse(json));
            Assert.Contains("unpaired surrogate " + code, e.Message);
        }
    }

    [Fact]
    public void Nesting_is_limited_so_hostile_input_cannot_exhaust_the_stack()
    {
        Assert.Equal(JsonKind.Array, JsonReader.Parse(new string('[', 64) + new string(']', 64)).Kind);
        var e = Assert.Throws<JsonFormatException>(() => JsonReader.Parse(new string('[', 65) + new string(']', 65)));
        Assert.Equal((1, 65), (e.Line, e.Column));
        Assert.Contains("deeper than 64", e.Message);

        // Far past any stack: still a clean error.
        Assert.Throws<JsonFormatException>(() => JsonReader.Parse(new string('[', 1_000_000)));
        Assert.Throws<JsonFormatException>(() => JsonReader.Parse(string.Concat(Enumerable.Repeat("{\"a\":", 100_000))));
        Assert.Throws<JsonFormatException>(() => JsonReader.Parse("[[[1]]]", maxDepth: 2));
    }

    [Fact]
    public void Long_inputs_parse_in_linear_time()
    {
        string numbers = "[" + string.Join(",", Enumerable.Range(0, 200_000)) + "]";
        Assert.Equal(200_000, ((JsonArray)JsonReader.Parse(numbers)).Count);
        string longString = "\"" + new string('x', 1_000_000) + "\"";
        Assert.Equal(1_000_000, ((JsonString)JsonReader.Parse(longString)).Value.Length);
        string digits = "0." + new string('1', 100_000);
        Assert.Equal(0.1111111111111111, ((JsonNumber)JsonReader.Parse(digits)).Value, 15);
    }
}
