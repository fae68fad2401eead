using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;

namespace QuantGen.Cli.Npy;

/// <summary>The element types the CLI reads from .npy files.</summary>
internal enum NpyDataType
{
    /// <summary>'&lt;f4': little-endian IEEE float32.</summary>
    Float32,

    /// <summary>'|u1': unsigned bytes, turned into floats by dividing by a scale (or class labels).</summary>
    UInt8,

    /// <summary>'&lt;i8': little-endian int64: class labels (NumPy's default integer type) or integer inputs such as token ids.</summary>
    Int64,

    /// <summary>'&lt;i4': little-endian int32: class labels or integer inputs.</summary>
    Int32,
}

/// <summary>
/// The header of a NumPy .npy file (format versions 1.0, 2.0 and 3.0): the magic string, the version, the header
/// length (2 bytes in 1.0, 4 in 2.0 and 3.0), then a Python dict literal such as
/// <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (512, 1, 28, 28), }</c> padded with spaces to a
/// multiple of 64 bytes and ended by '\n'. The data follows, row-major when fortran_order is False.
/// </summary>
internal sealed class NpyHeader
{
    /// <summary>"\x93NUMPY": the first six bytes of every .npy file.</summary>
    private static readonly byte[] s_magic = { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y' };

    /// <summary>Headers past this are not .npy files the CLI will meet (NumPy itself refuses more than 10,000 bytes by default).</summary>
    private const int MaxHeaderLength = 1 << 20;

    private NpyHeader(int majorVersion, int minorVersion, string descr, NpyDataType type, long[] shape, long dataOffset)
    {
        MajorVersion = majorVersion;
        MinorVersion = minorVersion;
        Descr = descr;
        Type = type;
        Shape = shape;
        DataOffset = dataOffset;
    }

    public int MajorVersion { get; }
    public int MinorVersion { get; }

    /// <summary>The 'descr' as written, e.g. "&lt;f4".</summary>
    public string Descr { get; }

    public NpyDataType Type { get; }

    /// <summary>The array's shape; the first axis is the sample.</summary>
    public long[] Shape { get; }

    /// <summary>Where the data starts: the length of the magic, version, length field and header.</summary>
    public long DataOffset { get; }

    public int ElementBytes => Type switch { NpyDataType.Float32 or NpyDataType.Int32 => 4, NpyDataType.Int64 => 8, _ => 1 };

    /// <summary>The number of samples: the first dimension.</summary>
    public long SampleCount => Shape[0];

    /// <summary>Elements per sample: the product of the dimensions after the first (1 for a 1-D array).</summary>
    public long SampleLength
    {
        get
        {
            long n = 1;
            for (int i = 1; i < Shape.Length; i++) n = checked(n * Shape[i]);
            return n;
        }
    }

    /// <summary>The shape written the NumPy way, e.g. "(512, 1, 28, 28)" or "(3,)".</summary>
    public string FormatShape() => FormatShape(Shape);

    public static string FormatShape(IReadOnlyList<long> shape) =>
        shape.Count == 1 ? $"({shape[0].ToString(CultureInfo.InvariantCulture)},)" : "(" + string.Join(", ", shape) + ")";

    public string DescribeType() => Type switch
    {
        NpyDataType.Float32 => "float32",
        NpyDataType.Int64 => "int64",
        NpyDataType.Int32 => "int32",
        _ => "uint8",
    };

    /// <summary>Reads the header and leaves <paramref name="stream"/> at the first data byte.</summary>
    /// <param name="labels">
    /// True to read class labels: int64, int32 or uint8 instead of float32 or uint8 (labels are whole numbers; a float
    /// label file is more likely a mix-up of --data and --labels than something to round).
    /// </param>
    /// <exception cref="NpyFormatException">Not a .npy file, a version other than 1.0/2.0/3.0, a malformed header, Fortran order, or an element type other than float32, uint8, int64 and int32 (int64, int32 and uint8 for labels).</exception>
    public static NpyHeader Read(Stream stream, bool labels = false)
    {
        var preamble = new byte[8];
        int read = ReadFully(stream, preamble);
        if (read < s_magic.Length || !preamble.AsSpan(0, s_magic.Length).SequenceEqual(s_magic))
            throw new NpyFormatException("not a NumPy .npy file (it does not start with \"\\x93NUMPY\"); save the array with numpy.save");
        if (read < 8)
            throw new NpyFormatException("the file ends inside the .npy header (truncated?)");
        int major = preamble[6], minor = preamble[7];
        if (major is < 1 or > 3 || minor != 0)
            throw new NpyFormatException($".npy format version {major}.{minor} is not supported (1.0, 2.0 and 3.0 are)");

        int lengthBytes = major == 1 ? 2 : 4;
        var lengthField = new byte[lengthBytes];
        if (ReadFully(stream, lengthField) < lengthBytes)
            throw new NpyFormatException("the file ends inside the .npy header (truncated?)");
        long headerLength = major == 1
            ? lengthField[0] | lengthField[1] << 8
            : (uint)(lengthField[0] | lengthField[1] << 8 | lengthField[2] << 16 | lengthField[3] << 24);
        if (headerLength > MaxHeaderLength)
            throw new NpyFormatException($"the .npy header announces {headerLength} bytes, more than any array header needs; the file is damaged");
        var headerBytes = new byte[headerLength];
        if (ReadFully(stream, headerBytes) < headerLength)
            throw new NpyFormatException("the file ends inside the .npy header (truncated?)");

        // 1.0 and 2.0 headers are latin-1, 3.0 headers UTF-8 (for field names; the keys we read are ASCII either way).
        string text = major == 3 ? Encoding.UTF8.GetString(headerBytes) : Encoding.Latin1.GetString(headerBytes);
        var dict = HeaderDictionary.Parse(text);
        long dataOffset = 6 + 2 + lengthBytes + headerLength;
        return FromDictionary(major, minor, dict, dataOffset, labels);
    }

    private static NpyHeader FromDictionary(int major, int minor, IReadOnlyDictionary<string, object> dict, long dataOffset, bool labels)
    {
        foreach (string key in new[] { "descr", "fortran_order", "shape" })
            if (!dict.ContainsKey(key))
                throw new NpyFormatException($"the .npy header has no '{key}'");

        if (dict["descr"] is not string descr)
            throw new NpyFormatException("the .npy array has a structured dtype (several fields); quantgen needs a plain float32 or uint8 array");
        if (dict["fortran_order"] is not bool fortran)
            throw new NpyFormatException("the .npy header's 'fortran_order' is not True or False");
        if (fortran)
            throw new NpyFormatException("the .npy array is in Fortran (column-major) order; save it in C order: numpy.save(path, numpy.ascontiguousarray(x))");
        if (dict["shape"] is not long[] shape)
            throw new NpyFormatException("the .npy header's 'shape' is not a tuple of integers");
        if (shape.Length == 0)
            throw new NpyFormatException("the .npy array is a scalar (shape ()); quantgen needs the samples along the first axis");

        var type = labels ? ParseLabelDescr(descr) : ParseDescr(descr);
        return new NpyHeader(major, minor, descr, type, shape, dataOffset);
    }

    private static NpyDataType ParseDescr(string descr)
    {
        // One-byte types may carry any byte-order mark; NumPy writes '|'.
        if (descr is "|u1" or "<u1" or ">u1" or "=u1" or "u1")
            return NpyDataType.UInt8;
        if (descr is "<f4" || descr is "=f4" && BitConverter.IsLittleEndian)
            return NpyDataType.Float32;
        // Integer data feeds integer inputs (token ids, attention masks); which file may feed which input is checked
        // against the model (InputFiles).
        if (descr is "<i8" || descr is "=i8" && BitConverter.IsLittleEndian)
            return NpyDataType.Int64;
        if (descr is "<i4" || descr is "=i4" && BitConverter.IsLittleEndian)
            return NpyDataType.Int32;
        string hint = descr.Length > 0 && descr[0] == '>'
            ? "convert it with x.astype('<f4') (or '<i8' for token ids)"
            : "convert it with x.astype(numpy.float32) (or numpy.int64 for token ids)";
        throw new NpyFormatException($"the .npy dtype is '{descr}'{DescribeDescr(descr)}; quantgen reads float32 ('<f4') or uint8 ('|u1') data for float inputs and int64 ('<i8') or int32 ('<i4') for integer inputs: {hint}");
    }

    private static NpyDataType ParseLabelDescr(string descr)
    {
        if (descr is "|u1" or "<u1" or ">u1" or "=u1" or "u1")
            return NpyDataType.UInt8;
        if (descr is "<i8" || descr is "=i8" && BitConverter.IsLittleEndian)
            return NpyDataType.Int64;
        if (descr is "<i4" || descr is "=i4" && BitConverter.IsLittleEndian)
            return NpyDataType.Int32;
        throw new NpyFormatException($"the .npy dtype is '{descr}'{DescribeDescr(descr)}; labels are class indices as int64 ('<i8'), int32 ('<i4') or uint8 ('|u1'): convert them with y.astype(numpy.int64)");
    }

    /// <summary>" (float64)", " (big-endian float32)" and the like, for messages; empty when not recognized.</summary>
    private static string DescribeDescr(string descr)
    {
        string body = descr.Length > 0 && descr[0] is '<' or '>' or '|' or '=' ? descr.Substring(1) : descr;
        if (body.Length < 2 || !int.TryParse(body.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out int bytes))
            return "";
        string? kind = body[0] switch { 'f' => "float", 'i' => "int", 'u' => "uint", 'c' => "complex", _ => null };
        if (kind == null) return "";
        string order = descr[0] == '>' && bytes > 1 ? "big-endian " : "";
        return $" ({order}{kind}{bytes * 8})";
    }

    private static int ReadFully(Stream stream, byte[] buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = stream.Read(buffer, total, buffer.Length - total);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    /// <summary>
    /// The subset of Python literal syntax NumPy writes in headers: a dict of string keys whose values are strings,
    /// True/False, integers (Python 2 wrote a trailing 'L') and tuples of integers; or a list (structured dtype),
    /// which is reported as unsupported.
    /// </summary>
    private sealed class HeaderDictionary
    {
        private readonly string _text;
        private int _pos;

        private HeaderDictionary(string text) => _text = text;

        public static Dictionary<string, object> Parse(string text)
        {
            var parser = new HeaderDictionary(text);
            var dict = parser.ParseDict();
            parser.SkipSpace();
            if (parser._pos != text.Length)
                throw parser.Error("unexpected text after the dictionary");
            return dict;
        }

        private Dictionary<string, object> ParseDict()
        {
            SkipSpace();
            Expect('{');
            var dict = new Dictionary<string, object>(StringComparer.Ordinal);
            while (true)
            {
                SkipSpace();
                if (TryConsume('}')) return dict;
                string key = ParseString();
                SkipSpace();
                Expect(':');
                SkipSpace();
                object value = ParseValue();
                if (!dict.TryAdd(key, value))
                    throw Error($"'{key}' is given twice");
                SkipSpace();
                if (TryConsume(',')) continue;
                SkipSpace();
                Expect('}');
                return dict;
            }
        }

        private object ParseValue()
        {
            char c = Peek();
            if (c is '\'' or '"') return ParseString();
            if (c == '(') return ParseTuple();
            if (c == '[') return SkipList();
            if (c == '{') return ParseDict();
            if (char.IsDigit(c)) return ParseInteger();
            string word = ParseWord();
            return word switch
            {
                "True" => true,
                "False" => false,
                _ => throw Error($"unexpected value '{word}'"),
            };
        }

        private long[] ParseTuple()
        {
            Expect('(');
            var items = new List<long>();
            while (true)
            {
                SkipSpace();
                if (TryConsume(')')) return items.ToArray();
                if (!char.IsDigit(Peek())) throw Error("a shape holds non-negative integers");
                items.Add(ParseInteger());
                SkipSpace();
                if (TryConsume(',')) continue;
                SkipSpace();
                Expect(')');
                return items.ToArray();
            }
        }

        /// <summary>A structured dtype's list of fields: skipped (brackets balanced), reported by the caller.</summary>
        private object[] SkipList()
        {
            int depth = 0;
            do
            {
                char c = Peek();
                if (c is '\'' or '"')
                {
                    ParseString();
                    continue;
                }
                if (c is '[' or '(') depth++;
                else if (c is ']' or ')') depth--;
                _pos++;
            }
            while (depth > 0);
            return Array.Empty<object>();
        }

        private long ParseInteger()
        {
            int start = _pos;
            while (_pos < _text.Length && char.IsDigit(_text[_pos])) _pos++;
            if (!long.TryParse(_text.AsSpan(start, _pos - start), NumberStyles.None, CultureInfo.InvariantCulture, out long value))
                throw Error("an integer too large");
            if (_pos < _text.Length && _text[_pos] is 'L' or 'l') _pos++;
            return value;
        }

        private string ParseString()
        {
            char quote = Peek();
            if (quote is not ('\'' or '"')) throw Error("expected a quoted string");
            _pos++;
            var sb = new StringBuilder();
            while (true)
            {
                if (_pos >= _text.Length) throw Error("a string is not closed");
                char c = _text[_pos++];
                if (c == quote) return sb.ToString();
                if (c == '\\' && _pos < _text.Length) c = _text[_pos++];
                sb.Append(c);
            }
        }

        private string ParseWord()
        {
            int start = _pos;
            while (_pos < _text.Length && char.IsLetter(_text[_pos])) _pos++;
            if (_pos == start) throw Error($"unexpected '{Peek()}'");
            return _text.Substring(start, _pos - start);
        }

        private void SkipSpace()
        {
            while (_pos < _text.Length && char.IsWhiteSpace(_text[_pos])) _pos++;
        }

        private char Peek() => _pos < _text.Length ? _text[_pos] : throw Error("the header ends too early");

        private bool TryConsume(char c)
        {
            if (_pos < _text.Length && _text[_pos] == c)
            {
                _pos++;
                return true;
            }
            return false;
        }

        private void Expect(char c)
        {
            if (!TryConsume(c))
                throw Error(_pos < _text.Length ? $"expected '{c}', found '{_text[_pos]}'" : $"expected '{c}', found the end");
        }

        private NpyFormatException Error(string problem) =>
            new($"the .npy header is not a valid dictionary at character {_pos + 1}: {problem}");
    }
}

/// <summary>A .npy file the CLI cannot use: not .npy, damaged, or of a dtype, order or shape it does not read. The message says which.</summary>
internal sealed class NpyFormatException : Exception
{
    public NpyFormatException(string message)
        : base(message)
    {
    }
}
