using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using QuantGen.Compiler.Calibration;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Compiler.Tests.Calibration;

public class CalibrationFileTests
{
    internal static readonly string Sha = ModelHash.Sha256Hex(Encoding.UTF8.GetBytes("tiny model"));

    internal static CalibrationFile Sample(bool histogram = true) => new(
        Sha, "tiny.onnx", histogram ? CalibrationMethod.Percentile : CalibrationMethod.MinMax, 3,
        new Dictionary<string, TensorStatistics>
        {
            ["y"] = new(-2.5f, 7.25f),
            ["x"] = new(0f, 1f),
            ["/conv/Conv_output_0"] = new(0f, 3.3f, histogram ? new Histogram(HistogramDomain.Abs, 0, 4, Enumerable.Range(0, 20).Select(i => (long)i * i).ToArray()) : null, nonFinite: 2),
        },
        "QuantGen 0.1.0");

    [Fact]
    public void Writes_the_documented_layout_with_tensors_sorted_by_name()
    {
        Assert.Equal(
            "{\n" +
            "  \"format\": \"quantgen-calibration\",\n" +
            "  \"version\": 1,\n" +
            "  \"producer\": \"QuantGen 0.1.0\",\n" +
            "  \"model\": {\n" +
            "    \"sha256\": \"" + Sha + "\",\n" +
            "    \"name\": \"tiny.onnx\"\n" +
            "  },\n" +
            "  \"method\": \"minmax\",\n" +
            "  \"samples\": 3,\n" +
            "  \"tensors\": {\n" +
            "    \"/conv/Conv_output_0\": {\n" +
            "      \"min\": 0,\n" +
            "      \"max\": 3.3,\n" +
            "      \"nonFinite\": 2\n" +
            "    },\n" +
            "    \"x\": {\n" +
            "      \"min\": 0,\n" +
            "      \"max\": 1\n" +
            "    },\n" +
            "    \"y\": {\n" +
            "      \"min\": -2.5,\n" +
            "      \"max\": 7.25\n" +
            "    }\n" +
            "  }\n" +
            "}\n",
            Sample(histogram: false).Write());
    }

    [Fact]
    public void Round_trips_through_text()
    {
        foreach (var file in new[] { Sample(), Sample(histogram: false) })
        {
            string text = file.Write();
            var back = CalibrationFile.Read(text);
            Assert.Equal(file, back);
            Assert.Equal(text, back.Write());
            Assert.Equal(new[] { "/conv/Conv_output_0", "x", "y" }, back.Tensors.Keys);
        }
        var h = CalibrationFile.Read(Sample().Write()).Tensors["/conv/Conv_output_0"].Histogram!;
        Assert.Equal(HistogramDomain.Abs, h.Domain);
        Assert.Equal((0.0, 4.0), (h.Min, h.Max));
        Assert.Equal(361, h.Bins[19]);
    }

    [Fact]
    public void Floats_round_trip_exactly_through_the_file()
    {
        var random = new Random(3);
        var tensors = Enumerable.Range(0, 500).ToDictionary(i => "t" + i, _ =>
        {
            float a = (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-30, 30)));
            float b = (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-30, 30)));
            return new TensorStatistics(Math.Min(a, b), Math.Max(a, b));
        });
        var file = new CalibrationFile(Sha, "m.onnx", CalibrationMethod.MinMax, 1, tensors);
        var back = CalibrationFile.Read(file.Write());
        foreach (var pair in tensors)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(pair.Value.Min), BitConverter.SingleToInt32Bits(back.Tensors[pair.Key].Min));
            Assert.Equal(BitConverter.SingleToInt32Bits(pair.Value.Max), BitConverter.SingleToInt32Bits(back.Tensors[pair.Key].Max));
        }
    }

    [Fact]
    public void Reads_what_other_writers_may_produce()
    {
        // Compact, CRLF, upper-case hash, members in another order, unknown members (ignored), an empty tensor list.
        string json = "{\"tensors\":{},\"samples\":1.0,\"method\":\"entropy\",\"model\":{\"name\":\"a.onnx\",\"sha256\":\"" + Sha.ToUpperInvariant() + "\",\"size\":12},\r\n"
            + "\"version\":1,\"format\":\"quantgen-calibration\",\"comment\":\"from a script\"}";
        var file = CalibrationFile.Read(json);
        Assert.Equal(Sha, file.ModelSha256);
        Assert.Equal(CalibrationMethod.Entropy, file.Method);
        Assert.Null(file.Producer);
        Assert.Empty(file.Tensors);
        Assert.True(file.Matches(Sha.ToUpperInvariant()));
    }

    [Fact]
    public void Matches_compares_the_model_hash()
    {
        var file = Sample();
        Assert.True(file.Matches(Sha));
        Assert.True(file.Matches(Sha.ToUpperInvariant()));
        Assert.False(file.Matches(ModelHash.Sha256Hex(Encoding.UTF8.GetBytes("another model"))));
        Assert.False(file.Matches(""));
        Assert.False(file.Matches(null!));
    }

    [Theory]
    [InlineData("Models/fashion.onnx", "Models/fashion.calib.json")]
    [InlineData("Models/Fashion.ONNX", "Models/Fashion.calib.json")]
    [InlineData("a.b.onnx", "a.b.calib.json")]
    [InlineData("model", "model.calib.json")]
    public void The_default_path_replaces_the_onnx_extension(string model, string expected) =>
        Assert.Equal(expected, CalibrationFile.DefaultPathFor(model));

    [Fact]
    public void ModelHash_is_lower_case_hex_SHA256()
    {
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ModelHash.Sha256Hex(Encoding.ASCII.GetBytes("abc")));
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", ModelHash.Sha256Hex(Array.Empty<byte>()));
        Assert.Equal("ba7816bf8f01", ModelHash.Short("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        Assert.True(ModelHash.IsSha256Hex(Sha));
        Assert.False(ModelHash.IsSha256Hex(Sha.Substring(1)));
        Assert.False(ModelHash.IsSha256Hex(Sha.Substring(1) + "g"));
    }

    [Fact]
    public void Invalid_statistics_cannot_be_built()
    {
        Assert.Throws<ArgumentException>(() => new TensorStatistics(2, 1));
        Assert.Throws<ArgumentException>(() => new TensorStatistics(float.NaN, 1));
        Assert.Throws<ArgumentException>(() => new TensorStatistics(0, float.PositiveInfinity));
        Assert.Throws<ArgumentException>(() => new Histogram(HistogramDomain.Abs, 1, 2, new long[] { 1 }));
        Assert.Throws<ArgumentException>(() => new Histogram(HistogramDomain.Value, 2, 2, new long[] { 1 }));
        Assert.Throws<ArgumentException>(() => new Histogram(HistogramDomain.Value, 0, 2, new long[] { -1 }));
        Assert.Throws<ArgumentException>(() => new Histogram(HistogramDomain.Value, 0, 2, Array.Empty<long>()));
        Assert.Throws<ArgumentException>(() => new CalibrationFile("abc", "m.onnx", CalibrationMethod.MinMax, 1, new Dictionary<string, TensorStatistics>()));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CalibrationFile(Sha, "m.onnx", CalibrationMethod.MinMax, 0, new Dictionary<string, TensorStatistics>()));
        Assert.Throws<ArgumentException>(() => new CalibrationFile(Sha, "m.onnx", CalibrationMethod.MinMax, 1, new Dictionary<string, TensorStatistics> { [""] = new(0, 1) }));
    }

    /// <summary>Each case edits the valid sample file and expects an error that says what is wrong, at the line of the edit.</summary>
    [Theory]
    [InlineData("\"format\": \"quantgen-calibration\"", "\"format\": \"something-else\"", "not a QuantGen calibration file", 2)]
    [InlineData("\"format\": \"quantgen-calibration\",", "", "has no \"format\" member", 1)]
    [InlineData("\"version\": 1", "\"version\": 2", "version 2, newer than this QuantGen reads (up to 1)", 3)]
    [InlineData("\"version\": 1", "\"version\": 0", "\"version\" must be 1 or more", 3)]
    [InlineData("\"version\": 1", "\"version\": 1.5", "\"version\" must be a whole number", 3)]
    [InlineData("\"version\": 1", "\"version\": \"1\"", "\"version\" must be a whole number, found the string \"1\"", 3)]
    [InlineData("\"producer\": \"QuantGen 0.1.0\"", "\"producer\": 7", "producer must be a string", 4)]
    [InlineData("\"sha256\": \"", "\"sha256\": \"zz", "model.sha256 must be 64 hexadecimal digits", 6)]
    [InlineData("\"name\": \"tiny.onnx\"", "\"nom\": \"tiny.onnx\"", "model has no \"name\" member", 5)]
    [InlineData("\"method\": \"percentile\"", "\"method\": \"kl\"", "\"method\" is \"kl\", expected minmax, percentile, entropy or mse", 9)]
    [InlineData("\"samples\": 3", "\"samples\": 0", "\"samples\" must be at least 1", 10)]
    [InlineData("\"samples\": 3", "\"samples\": -3", "must be a whole number from 0 to 2^53", 10)]
    [InlineData("\"tensors\": {", "\"tensorz\": {", "the file has no \"tensors\" member", 1)]
    [InlineData("\"min\": -2.5", "\"min\": 8", "tensors[\"y\"]: min 8 is greater than max 7.25", 31)]
    [InlineData("\"max\": 7.25", "\"max\": 1e39", "tensors[\"y\"].max is the number 1E+39, outside the range of a float", 32)]
    [InlineData("\"max\": 7.25", "\"max\": null", "tensors[\"y\"].max must be a number, found null", 32)]
    [InlineData("\"min\": -2.5,", "", "tensors[\"y\"] has no \"min\" member", 30)]
    [InlineData("\"nonFinite\": 2", "\"nonFinite\": -2", "tensors[\"/conv/Conv_output_0\"].nonFinite must be a whole number", 15)]
    [InlineData("\"of\": \"abs\"", "\"of\": \"log\"", "histogram.of is \"log\", expected \"abs\" or \"value\"", 17)]
    [InlineData("\"of\": \"abs\",", "", "histogram has no \"of\" member", 16)]
    [InlineData("\"max\": 4,", "\"max\": 0,", "the histogram range is empty", 16)]
    [InlineData("0, 1, 4,", "0, -1, 4,", "histogram.bins[1] must be a whole number", 21)]
    [InlineData("0, 1, 4,", "0, 1.5, 4,", "histogram.bins[1] must be a whole number", 21)]
    public void Schema_violations_say_what_is_wrong_and_where(string find, string replace, string problem, int line)
    {
        string valid = Sample().Write();
        int at = valid.IndexOf(find, StringComparison.Ordinal);
        Assert.True(at >= 0, "the sample has no " + find);
        string json = valid.Substring(0, at) + replace + valid.Substring(at + find.Length);
        var e = Assert.Throws<CalibrationFormatException>(() => CalibrationFile.Read(json));
        Assert.Contains(problem, e.Message);
        Assert.True(line == e.Line, $"expected line {line}, got {e.Line}: {e.Message}\n{json}");
        Assert.StartsWith($"line {e.Line}, column {e.Column}: ", e.Message);
        Assert.False(CalibrationFile.TryRead(json, out var file, out var error));
        Assert.Null(file);
        Assert.Equal(e.Message, error!.Message);
    }

    [Theory]
    [InlineData("[]", "a calibration file is a JSON object, found an array")]
    [InlineData("{\"format\": \"quantgen-calibration\", \"version\": 1,}", "invalid JSON: trailing comma")]
    [InlineData("", "invalid JSON: unexpected end of input")]
    [InlineData("{\"format\": \"quantgen-calibration\", \"version\": 1, \"model\": []}", "model must be an object, found an array")]
    [InlineData("{\"format\": \"quantgen-calibration\", \"version\": 1, \"tensors\": {\"a\": 1}}", "has no \"model\" member")]
    public void Malformed_files_are_CalibrationFormatExceptions(string json, string problem)
    {
        var e = Assert.Throws<CalibrationFormatException>(() => CalibrationFile.Read(json));
        Assert.Contains(problem, e.Message);
        Assert.True(e.Line >= 1);
    }

    [Fact]
    public void A_newer_version_is_refused_before_its_unknown_layout_is_checked()
    {
        var e = Assert.Throws<CalibrationFormatException>(() => CalibrationFile.Read("{\"format\": \"quantgen-calibration\", \"version\": 7, \"ranges\": []}"));
        Assert.Contains("version 7, newer than this QuantGen reads (up to 1): update QuantGen, or recalibrate", e.Message);
    }

    [Fact]
    public void Duplicate_tensor_names_are_refused_where_the_second_one_is()
    {
        string json = Sample(histogram: false).Write().Replace("\"y\": {", "\"x\": {");
        var e = Assert.Throws<CalibrationFormatException>(() => CalibrationFile.Read(json));
        Assert.Contains("duplicate member name \"x\"", e.Message);
        Assert.Equal(21, e.Line);
    }

    [Fact]
    public void The_example_in_docs_calibration_md_is_a_valid_file()
    {
        string doc = File.ReadAllText(Path.Combine(ModelFiles.RepoRoot, "docs", "calibration.md"));
        var blocks = Regex.Matches(doc, "```json\n(.*?)```", RegexOptions.Singleline).Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(blocks);
        var file = CalibrationFile.Read(blocks[0]);
        Assert.NotEmpty(file.Tensors);
        Assert.Contains(file.Tensors.Values, t => t.Histogram != null);
        // The example is exactly what the writer produces, so it shows the real layout.
        Assert.Equal(blocks[0], file.Write());
    }
}
