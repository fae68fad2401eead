using System;
using System.Collections.Generic;
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
}
