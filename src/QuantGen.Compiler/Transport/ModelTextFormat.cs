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

    /// <summary>Writes the payload as it goes: a model of hundreds of MB never becomes one string.</summary>
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

    private const int BytesPerLine = LineLength / 4 * 3;

    private static void WriteFile(TextWriter writer, string name, byte[] bytes)
    {
        writer.Write("#file " + bytes.Length.ToString(CultureInfo.InvariantCulture) + " " + name + "\n");
        // A block of whole lines at a time; only the last line of the file can be short (and padded).
        const int linesPerBlock = 1024;
        var chars = new char[linesPerBlock * LineLength];
        for (int offset = 0; offset < bytes.Length; offset += linesPerBlock * BytesPerLine)
        {
            int count = Math.Min(linesPerBlock * BytesPerLine, bytes.Length - offset);
            int length = Convert.ToBase64CharArray(bytes, offset, count, chars, 0);
            for (int i = 0; i < length; i += LineLength)
            {
                writer.Write(chars, i, Math.Min(LineLength, length - i));
                writer.Write('\n');
            }
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
    public static Payload Read(string text) => Read(new StringReader(text));

    /// <summary>
    /// Decodes the whole payload from <paramref name="text"/> as it reads it: the base64 lines go straight into each
    /// file's bytes, so decoding holds the bytes and a small buffer, never a second copy of the text.
    /// </summary>
    public static Payload Read(TextReader text)
    {
        var reader = new LineScanner(text);
        if (reader.ReadLine() != Magic)
            throw new FormatException("it does not start with '" + Magic + "'");
        string path = "", fullPath = "";
        var files = new List<KeyValuePair<string, byte[]>>();
        bool ended = false;
        string? line;
        while ((line = reader.ReadLine()) != null)
        {
            if (line.StartsWith("#path ", StringComparison.Ordinal)) path = line.Substring(6);
            else if (line.StartsWith("#full-path ", StringComparison.Ordinal)) fullPath = line.Substring(11);
            else if (line.StartsWith("#file ", StringComparison.Ordinal))
            {
                string[] parts = line.Substring(6).Split(new[] { ' ' }, 2);
                if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int length))
                    throw new FormatException("bad file header '" + line + "'");
                var bytes = new byte[length];
                long decoded = reader.DecodeBase64Lines(bytes);
                if (decoded != length)
                    throw new FormatException($"file '{parts[1]}' holds {decoded} bytes, expected {length}");
                files.Add(new KeyValuePair<string, byte[]>(parts[1], bytes));
            }
            else if (line == "#end") { ended = true; break; }
            else throw new FormatException("unexpected line '" + (line.Length > 40 ? line.Substring(0, 40) + "..." : line) + "'");
        }
        if (!ended) throw new FormatException("it is truncated (no '#end' line)");
        if (path.Length == 0 || files.Count == 0) throw new FormatException("it names no model");
        return new Payload(path, fullPath, files[0].Value, files.GetRange(1, files.Count - 1));
    }

    /// <summary>Lines of a <see cref="TextReader"/> through one buffer; base64 lines are decoded in place.</summary>
    private sealed class LineScanner
    {
        private readonly TextReader _reader;
        private readonly char[] _buffer = new char[64 * 1024];
        private int _position, _end;

        public LineScanner(TextReader reader) => _reader = reader;

        private bool Fill()
        {
            if (_position < _end) return true;
            _position = 0;
            _end = _reader.Read(_buffer, 0, _buffer.Length);
            return _end > 0;
        }

        /// <summary>The next line without its '\n' (and '\r'), or null at the end.</summary>
        public string? ReadLine()
        {
            if (!Fill()) return null;
            var line = new StringBuilder();
            while (Fill())
            {
                char c = _buffer[_position++];
                if (c == '\n') return TrimCarriageReturn(line);
                line.Append(c);
            }
            return TrimCarriageReturn(line);
        }

        private static string TrimCarriageReturn(StringBuilder line)
        {
            if (line.Length > 0 && line[line.Length - 1] == '\r') line.Length--;
            return line.ToString();
        }

        /// <summary>
        /// Decodes base64 lines into <paramref name="destination"/> up to the next line that starts with '#' (left
        /// unread) or the end; returns how many bytes the lines held, which may be more than fit.
        /// </summary>
        public long DecodeBase64Lines(byte[] destination)
        {
            long written = 0;
            int quad = 0, filled = 0, padding = 0;
            bool lineStart = true;
            var buffer = _buffer;
            while (Fill())
            {
                int i = _position, end = _end;
                for (; i < end; i++)
                {
                    char c = buffer[i];
                    if (lineStart && c == '#') { _position = i; goto Done; }
                    lineStart = c == '\n';
                    if (c == '\n' || c == '\r') continue;
                    int value = c < 128 ? Sextets[c] : -1;
                    if (c == '=' && filled >= 2) { value = 0; padding++; }
                    else if (value < 0 || padding > 0) throw new FormatException($"the base64 data holds '{c}' where a base64 digit belongs");
                    quad = quad << 6 | value;
                    if (++filled < 4) continue;
                    if (padding == 0 && written + 3 <= destination.Length)
                    {
                        destination[written] = (byte)(quad >> 16);
                        destination[written + 1] = (byte)(quad >> 8);
                        destination[written + 2] = (byte)quad;
                    }
                    else
                    {
                        for (int k = 0; k < 3 - padding; k++)
                            if (written + k < destination.Length) destination[written + k] = (byte)(quad >> (16 - 8 * k));
                    }
                    written += 3 - padding;
                    quad = filled = 0;
                }
                _position = end;
            }
        Done:
            if (filled != 0) throw new FormatException("the base64 data ends in the middle of a group of four digits");
            return written;
        }

        private static readonly sbyte[] Sextets = BuildSextets();

        private static sbyte[] BuildSextets()
        {
            var table = new sbyte[128];
            for (int i = 0; i < table.Length; i++) table[i] = -1;
            const string digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            for (int i = 0; i < digits.Length; i++) table[digits[i]] = (sbyte)i;
            return table;
        }
    }
}
