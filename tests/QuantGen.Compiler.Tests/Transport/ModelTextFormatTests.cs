using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using QuantGen.Compiler.Transport;
using Xunit;

namespace QuantGen.Compiler.Tests.Transport;

public class ModelTextFormatTests
{
    [Fact]
    public void A_model_and_its_external_files_round_trip()
    {
        var model = new byte[1000];
        new Random(4).NextBytes(model);
        var external = new List<KeyValuePair<string, byte[]>> { new("weights/w.bin", new byte[] { 1, 2, 3 }) };
        string text = ModelTextFormat.Write(new ModelTextFormat.Payload("Models/m.onnx", "/src/app/Models/m.onnx", model, external));

        var payload = ModelTextFormat.Read(text);
        Assert.Equal("Models/m.onnx", payload.Path);
        Assert.Equal("/src/app/Models/m.onnx", payload.FullPath);
        Assert.Equal(model, payload.Model);
        Assert.Equal("weights/w.bin", Assert.Single(payload.ExternalFiles).Key);
        Assert.True(ModelTextFormat.TryReadHeader(text, out var path, out _));
        Assert.Equal("Models/m.onnx", path);
        Assert.DoesNotContain('\r', text);
    }

    [Fact]
    public void Truncated_or_edited_text_is_reported_not_misread()
    {
        string text = ModelTextFormat.Write(new ModelTextFormat.Payload("m.onnx", "/m.onnx", new byte[500], new List<KeyValuePair<string, byte[]>>()));
        Assert.Throws<FormatException>(() => ModelTextFormat.Read(text.Substring(0, text.Length / 2)));
        var truncated = Assert.Throws<FormatException>(() => ModelTextFormat.Read(text.Substring(0, text.Length - "#end\n".Length)));
        Assert.Contains("truncated", truncated.Message);
        Assert.Throws<FormatException>(() => ModelTextFormat.Read(text.Replace("#file 500", "#file 501")));
        Assert.Throws<FormatException>(() => ModelTextFormat.Read("hello"));
    }

    [Fact]
    public void The_text_is_base64_in_lines_of_120_across_the_writers_blocks()
    {
        // 200,000 bytes: past the writer's block of 1024 lines (92,160 bytes), ending in a padded line.
        var model = new byte[200_000];
        new Random(5).NextBytes(model);
        string text = ModelTextFormat.Write(new ModelTextFormat.Payload("m.onnx", "/m.onnx", model, new List<KeyValuePair<string, byte[]>>()));

        string base64 = Convert.ToBase64String(model);
        var lines = Enumerable.Range(0, (base64.Length + 119) / 120).Select(i => base64.Substring(i * 120, Math.Min(120, base64.Length - i * 120)));
        Assert.Equal("#quantgen-model 1\n#path m.onnx\n#full-path /m.onnx\n#file 200000 m.onnx\n" + string.Join("\n", lines) + "\n#end\n", text);
    }

    [Fact]
    public void Every_length_round_trips_through_a_reader_that_returns_a_few_chars_at_a_time()
    {
        for (int length = 0; length < 400; length += length < 20 ? 1 : 37)
        {
            var model = new byte[length];
            new Random(length).NextBytes(model);
            var external = new List<KeyValuePair<string, byte[]>> { new("w.bin", model.Reverse().ToArray()) };
            string text = ModelTextFormat.Write(new ModelTextFormat.Payload("m.onnx", "/m.onnx", model, external));

            var payload = ModelTextFormat.Read(new TrickleReader(text, 7));
            Assert.Equal(model, payload.Model);
            Assert.Equal(external[0].Value, Assert.Single(payload.ExternalFiles).Value);
        }
    }

    [Fact]
    public void A_character_that_is_not_base64_is_reported()
    {
        string text = ModelTextFormat.Write(new ModelTextFormat.Payload("m.onnx", "/m.onnx", new byte[300], new List<KeyValuePair<string, byte[]>>()));
        int data = text.IndexOf("#file", StringComparison.Ordinal);
        data = text.IndexOf('\n', data) + 10;
        var e = Assert.Throws<FormatException>(() => ModelTextFormat.Read(text.Substring(0, data) + "!" + text.Substring(data + 1)));
        Assert.Contains("'!'", e.Message, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => ModelTextFormat.Read(text.Replace("AAAA\n#end", "AA=A\n#end")));
    }

    /// <summary>Hands out at most a few chars per Read, as a reader over a chunked text may.</summary>
    private sealed class TrickleReader : TextReader
    {
        private readonly string _text;
        private readonly int _step;
        private int _position;

        public TrickleReader(string text, int step) { _text = text; _step = step; }

        public override int Read(char[] buffer, int index, int count)
        {
            int n = Math.Min(Math.Min(count, _step), _text.Length - _position);
            _text.CopyTo(_position, buffer, index, n);
            _position += n;
            return n;
        }
    }
}
