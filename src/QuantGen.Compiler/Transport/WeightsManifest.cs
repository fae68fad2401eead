using System;
using System.Collections.Generic;
using System.IO;

namespace QuantGen.Compiler.Transport;

/// <summary>
/// The small text file (<c>model.onnx.qgw</c>, an AdditionalFile) by which the build task tells the generator that it
/// embedded a model's weights as a manifest resource, and which bytes: the generator then emits code that reads the
/// resource, and checks that the hash of the blob it computes itself is this one (QG0029 otherwise).
/// <code>
/// QuantGenWeights 1
/// model: Models/big.onnx
/// resource: QuantGen.Weights/Models/big.onnx
/// bytes: 100663552
/// sha256: 3f0a...
/// options: Float32
/// </code>
/// </summary>
public static class WeightsManifest
{
    public const string Extension = ".qgw";
    private const string Magic = "QuantGenWeights 1";

    /// <param name="ModelPath">The model's path as [OnnxModel] matches it.</param>
    /// <param name="Options">The compiler options the task used, for messages.</param>
    public sealed record Content(string ModelPath, string ResourceName, long Bytes, string Sha256Hex, string Options);

    public static string Write(Content c) =>
        $"{Magic}\nmodel: {c.ModelPath}\nresource: {c.ResourceName}\nbytes: {c.Bytes}\nsha256: {c.Sha256Hex}\noptions: {c.Options}\n";

    /// <summary>Reads a manifest; false when the text is not one.</summary>
    public static bool TryRead(string text, out Content content)
    {
        content = null!;
        var lines = text.Replace("\r", "").Split('\n');
        if (lines.Length < 6 || lines[0] != Magic) return false;
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            int colon = line.IndexOf(": ", StringComparison.Ordinal);
            if (colon > 0) fields[line.Substring(0, colon)] = line.Substring(colon + 2);
        }
        if (!fields.TryGetValue("model", out var model) || !fields.TryGetValue("resource", out var resource)
            || !fields.TryGetValue("bytes", out var bytes) || !long.TryParse(bytes, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long length)
            || !fields.TryGetValue("sha256", out var sha) || sha.Length != 64)
            return false;
        content = new Content(model, resource, length, sha, fields.TryGetValue("options", out var o) ? o : "");
        return true;
    }
}
