using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;

namespace QuantGen.Compiler.Transport;

/// <summary>
/// The text form in which the build step hands a binary .onnx file to the generator.
/// The C# compiler refuses binary AdditionalFiles (CS2015), so the QuantGen build targets replace each
/// <c>*.onnx</c> AdditionalFile with a <c>*.onnx.qgm</c> file in obj/ written by <see cref="Write"/>:
/// <code>
/// #quantgen-model 1
/// #path Models/fashion.onnx          (as listed in the project, '/' separators: matched against [OnnxModel])
/// #full-path /src/app/Models/fashion.onnx   (for diagnostic locations)
/// #file fashion.onnx 123456          (the model itself, then any external-data files, each followed by its base64 lines)
/// AAECAwQF...
/// #end
/// </code>
/// This file is compiled into both the generator (QuantGen.Compiler) and the MSBuild task (linked source),
/// so the two sides cannot disagree on the format.
/// </summary>
public static class ModelTextFormat
{
    public const string Extension = ".qgm";
    public const string Magic = "#quantgen-model 1";
    private const int LineLength = 120;

    /// <summary>A model and the files its tensors reference, as carried to the generator.</summary>
    public sealed class Payload
    {
        public Payload(string path, string fullPath, byte[] model, IReadOnlyList<KeyValuePair<string, byte[]>> externalFiles)
        {
            Path = path;
            FullPath = fullPath;
            Model = model;
            ExternalFiles = externalFiles;
        }

        /// <summary>Path as listed in the project (relative to the project folder, '/' separators).</summary>
        public string Path { get; }

        /// <summary>Absolute path of the original .onnx file.</summary>
        public string FullPath { get; }

        public byte[] Model { get; }

        /// <summary>External-data files by location relative to the model's folder ('/' separators).</summary>
        public IReadOnlyList<KeyValuePair<string, byte[]>> ExternalFiles { get; }
    }

    public static void Write(TextWriter writer, Payload payload)
    {
        writer.Write(Magic + "\n");
        writer.Write("#path " + payload.Path + "\n");
        writer.Write("#full-path " + payload.FullPath + "\n");
        WriteFile(writer, System.IO.Path.GetFileName(payload.FullPath), payload.Model);
        foreach (var file in payload.ExternalFiles)
            WriteFile(writer, file.Key, file.Value);
        writer.Write("#end\n");
    }

    public static string Write(Payload payload)
    {
        var sb = new StringWriter(CultureInfo.InvariantCulture);
        Write(sb, payload);
        return sb.ToString();
    }

    private static void WriteFile(TextWriter writer, string name, byte[] bytes)
    {
        writer.Write("#file " + bytes.Length.ToString(CultureInfo.InvariantCulture) + " " + name + "\n");
        string base64 = Convert.ToBase64String(bytes);
        for (int i = 0; i < base64.Length; i += LineLength)
        {
            writer.Write(base64.Substring(i, Math.Min(LineLength, base64.Length - i)));
            writer.Write('\n');
        }
    }

    /// <summary>Reads only the header (path and full path), without decoding the data.</summary>
    public static bool TryReadHeader(string text, out string path, out string fullPath)
    {
        path = fullPath = "";
        using var reader = new StringReader(text);
        if (reader.ReadLine() != Magic) return false;
        string? line;
        while ((line = reader.ReadLine()) != null && line.StartsWith("#", StringComparison.Ordinal))
        {
            if (line.StartsWith("#path ", StringComparison.Ordinal)) path = line.Substring(6);
            else if (line.StartsWith("#full-path ", StringComparison.Ordinal)) fullPath = line.Substring(11);
            else if (line.StartsWith("#file ", StringComparison.Ordinal)) break;
        }
        return path.Length > 0;
    }

    /// <summary>Decodes the whole payload; throws <see cref="FormatException"/> with a readable reason when it is damaged.</summary>
    public static Payload Read(string text)
    {
        using var reader = new StringReader(text);
        if (reader.ReadLine() != Magic)
            throw new FormatException("it does not start with '" + Magic + "'");
        string path = "", fullPath = "";
        var files = new List<KeyValuePair<string, byte[]>>();
        string? line = reader.ReadLine();
        bool ended = false;
        while (line != null)
        {
            if (line.StartsWith("#path ", StringComparison.Ordinal)) { path = line.Substring(6); line = reader.ReadLine(); }
            else if (line.StartsWith("#full-path ", StringComparison.Ordinal)) { fullPath = line.Substring(11); line = reader.ReadLine(); }
            else if (line.StartsWith("#file ", StringComparison.Ordinal))
            {
                string[] parts = line.Substring(6).Split(new[] { ' ' }, 2);
                if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int length))
                    throw new FormatException("bad file header '" + line + "'");
                var base64 = new StringBuilder((length + 2) / 3 * 4);
                while ((line = reader.ReadLine()) != null && !line.StartsWith("#", StringComparison.Ordinal))
                    base64.Append(line);
                byte[] bytes = Convert.FromBase64String(base64.ToString());
                if (bytes.Length != length)
                    throw new FormatException($"file '{parts[1]}' holds {bytes.Length} bytes, expected {length}");
                files.Add(new KeyValuePair<string, byte[]>(parts[1], bytes));
            }
            else if (line == "#end") { ended = true; break; }
            else throw new FormatException("unexpected line '" + (line.Length > 40 ? line.Substring(0, 40) + "..." : line) + "'");
        }
        if (!ended) throw new FormatException("it is truncated (no '#end' line)");
        if (path.Length == 0 || files.Count == 0) throw new FormatException("it names no model");
        return new Payload(path, fullPath, files[0].Value, files.GetRange(1, files.Count - 1));
    }
}
