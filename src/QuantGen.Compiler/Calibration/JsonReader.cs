using System;
using System.Globalization;
using System.Text;

namespace QuantGen.Compiler.Calibration;

/// <summary>
/// Reads JSON (RFC 8259) into <see cref="JsonNode"/>s. Strict: no comments, no trailing commas, no duplicate member
/// names, no unpaired surrogates; numbers are doubles parsed with the invariant culture (a number outside the
/// double range is an error). One pass over the text with bounded nesting, so any input ends in a result or a
/// <see cref="JsonFormatException"/> that gives the line and column.
/// </summary>
public static class JsonReader
{
    /// <summary>Nesting limit of objects and arrays; keeps hostile input from exhausting the compiler's stack.</summary>
    public const int DefaultMaxDepth = 64;

    /// <exception cref="JsonFormatException">The text is not JSON, or nests deeper than <paramref name="maxDepth"/>.</exception>
    public static JsonNode Parse(string text, int maxDepth = DefaultMaxDepth)
    {
        if (text == null) throw new ArgumentNullException(nameof(text));
        if (maxDepth < 1) throw new ArgumentOutOfRangeException(nameof(maxDepth), "the depth limit must be at least 1");
        var parser = new Parser(text, maxDepth);
        return parser.ParseDocument();
    }

    private sealed class Parser
    {
        private readonly string _text;
        private readonly int _maxDepth;
        private readonly StringBuilder _buffer = new();
        private int _pos;
        private int _line = 1;
        private int _lineStart;

        public Parser(string text, int maxDepth)
        {
            _text = text;
            _maxDepth = maxDepth;
            if (text.Length > 0 && text[0] == '\uFEFF')
                _pos = _lineStart = 1; // a byte order mark is not part of the document, and not a column
        }

        public JsonNode ParseDocument()
        {
            var value = ParseValue(0);
            SkipWhitespace();
            if (_pos < _text.Length)
                throw Error("unexpected " + Found() + " after the end of the document");
            return value;
        }

        private JsonNode ParseValue(int depth)
        {
            SkipWhitespace();
            if (_pos >= _text.Length)
                throw Error("unexpected end of input, expected a value");
            int line = _line, column = Column;
            JsonNode value = _text[_pos] switch
            {
                '{' => ParseObject(depth + 1),
                '[' => ParseArray(depth + 1),
                '"' => new JsonString(ParseString()),
                't' => ParseLiteral("true", new JsonBoolean(true)),
                'f' => ParseLiteral("false", new JsonBoolean(false)),
                'n' => ParseLiteral("null", new JsonNull()),
                '-' or (>= '0' and <= '9') => ParseNumber(),
                _ => throw Error("unexpected " + Found() + ", expected a value (object, array, string, number, true, false or null)"),
            };
            value.Line = line;
            value.Column = column;
            return value;
        }

        private JsonObject ParseObject(int depth)
        {
            CheckDepth(depth);
            _pos++; // '{'
            var obj = new JsonObject();
            SkipWhitespace();
            if (Peek() == '}')
            {
                _pos++;
                return obj;
            }
            while (true)
            {
                SkipWhitespace();
                if (Peek() != '"')
                    throw Error(Peek() == '}' ? "trailing comma before '}'" : "expected a member name in double quotes, found " + Found());
                int nameLine = _line, nameColumn = Column;
                string name = ParseString();
                SkipWhitespace();
                if (Peek() != ':')
                    throw Error("expected ':' after the member name \"" + Shorten(name) + "\", found " + Found());
                _pos++;
                var value = ParseValue(depth);
                if (obj.Contains(name))
                    throw new JsonFormatException(nameLine, nameColumn, "duplicate member name \"" + Shorten(name) + "\"");
                obj.Add(name, value);
                SkipWhitespace();
                char c = Peek();
                _pos++;
                if (c == '}')
                    return obj;
                if (c != ',')
                {
                    _pos--;
                    throw Error("expected ',' or '}' after a member of the object, found " + Found());
                }
            }
        }

        private JsonArray ParseArray(int depth)
        {
            CheckDepth(depth);
            _pos++; // '['
            var array = new JsonArray();
            SkipWhitespace();
            if (Peek() == ']')
            {
                _pos++;
                return array;
            }
            while (true)
            {
                SkipWhitespace();
                if (Peek() == ']')
                    throw Error("trailing comma before ']'");
                array.Add(ParseValue(depth));
                SkipWhitespace();
                char c = Peek();
                _pos++;
                if (c == ']')
                    return array;
                if (c != ',')
                {
                    _pos--;
                    throw Error("expected ',' or ']' after an element of the array, found " + Found());
                }
            }
        }

        private void CheckDepth(int depth)
        {
            if (depth > _maxDepth)
                throw Error($"objects and arrays nest deeper than {_maxDepth} levels");
        }

        private string ParseString()
        {
            _pos++; // opening quote
            _buffer.Clear();
            while (true)
            {
                if (_pos >= _text.Length)
                    throw Error("unexpected end of input inside a string (missing closing '\"')");
                char c = _text[_pos];
                if (c == '"')
                {
                    _pos++;
                    return _buffer.ToString();
                }
                if (c == '\\')
                {
                    ParseEscape();
                    continue;
                }
                if (c < 0x20)
                    throw Error($"control character U+{(int)c:X4} inside a string (write it as an escape such as \\n or \\u{(int)c:X4})");
                if (char.IsHighSurrogate(c))
                {
                    if (_pos + 1 >= _text.Length || !char.IsLowSurrogate(_text[_pos + 1]))
                        throw Error($"unpaired surrogate U+{(int)c:X4} inside a string");
                    _buffer.Append(c).Append(_text[_pos + 1]);
                    _pos += 2;
                    continue;
                }
                if (char.IsLowSurrogate(c))
                    throw Error($"unpaired surrogate U+{(int)c:X4} inside a string");
                _buffer.Append(c);
                _pos++;
            }
        }

        private void ParseEscape()
        {
            int start = _pos;
            _pos++; // backslash
            if (_pos >= _text.Length)
                throw Error("unexpected end of input inside a string escape");
            char e = _text[_pos++];
            switch (e)
            {
                case '"': _buffer.Append('"'); return;
                case '\\': _buffer.Append('\\'); return;
                case '/': _buffer.Append('/'); return;
                case 'b': _buffer.Append('\b'); return;
                case 'f': _buffer.Append('\f'); return;
                case 'n': _buffer.Append('\n'); return;
                case 'r': _buffer.Append('\r'); return;
                case 't': _buffer.Append('\t'); return;
                case 'u':
                    char unit = ParseHex4(start);
                    if (char.IsLowSurrogate(unit))
                        throw ErrorAt(start, $"unpaired surrogate escape \\u{(int)unit:X4} (a low surrogate must follow a high one)");
                    if (char.IsHighSurrogate(unit))
                    {
                        int second = _pos;
                        if (_pos + 1 >= _text.Length || _text[_pos] != '\\' || _text[_pos + 1] != 'u')
                            throw ErrorAt(start, $"unpaired surrogate escape \\u{(int)unit:X4} (expected a \\uDC00-\\uDFFF escape after it)");
                        _pos += 2;
                        char low = ParseHex4(second);
                        if (!char.IsLowSurrogate(low))
                            throw ErrorAt(start, $"unpaired surrogate escape \\u{(int)unit:X4} (followed by \\u{(int)low:X4}, not a low surrogate)");
                        _buffer.Append(unit).Append(low);
                        return;
                    }
                    _buffer.Append(unit);
                    return;
                default:
                    _pos--;
                    throw ErrorAt(start, "invalid escape '\\" + Printable(e) + "' (valid: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
            }
        }

        private char ParseHex4(int escapeStart)
        {
            int value = 0;
            for (int i = 0; i < 4; i++)
            {
                if (_pos >= _text.Length)
                    throw Error("unexpected end of input inside a \\u escape");
                char c = _text[_pos];
                int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
                if (digit < 0)
                    throw ErrorAt(escapeStart, "a \\u escape needs four hexadecimal digits, found " + Found());
                value = value * 16 + digit;
                _pos++;
            }
            return (char)value;
        }

        private JsonNode ParseLiteral(string literal, JsonNode value)
        {
            if (string.CompareOrdinal(_text, _pos, literal, 0, literal.Length) != 0)
                throw Error("unexpected " + Found() + ", expected a value (did you mean " + literal + "?)");
            _pos += literal.Length;
            return value;
        }

        private JsonNumber ParseNumber()
        {
            int start = _pos;
            if (Peek() == '-')
                _pos++;
            if (Peek() == '0')
                _pos++;
            else if (IsDigit(Peek()))
                SkipDigits();
            else
                throw Error("a number needs a digit after '-', found " + Found());
            if (Peek() == '.')
            {
                _pos++;
                if (!IsDigit(Peek()))
                    throw Error("a number needs a digit after '.', found " + Found());
                SkipDigits();
            }
            if (Peek() == 'e' || Peek() == 'E')
            {
                _pos++;
                if (Peek() == '+' || Peek() == '-')
                    _pos++;
                if (!IsDigit(Peek()))
                    throw Error("a number needs a digit in its exponent, found " + Found());
                SkipDigits();
            }
            string token = _text.Substring(start, _pos - start);
            double value;
            try
            {
                value = double.Parse(token, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture);
            }
            catch (OverflowException)
            {
                // .NET Framework throws where .NET Core returns an infinity.
                value = double.PositiveInfinity;
            }
            if (double.IsInfinity(value) || double.IsNaN(value))
                throw ErrorAt(start, "the number " + Shorten(token) + " is outside the range of a double");
            return new JsonNumber(value);
        }

        private void SkipDigits()
        {
            while (IsDigit(Peek()))
                _pos++;
        }

        private static bool IsDigit(char c) => c >= '0' && c <= '9';

        private void SkipWhitespace()
        {
            while (_pos < _text.Length)
            {
                char c = _text[_pos];
                if (c == ' ' || c == '\t')
                {
                    _pos++;
                }
                else if (c == '\n' || c == '\r')
                {
                    _pos++;
                    if (c == '\r' && _pos < _text.Length && _text[_pos] == '\n')
                        _pos++;
                    _line++;
                    _lineStart = _pos;
                }
                else
                {
                    return;
                }
            }
        }

        /// <summary>The current character, or '\0' at the end (never a valid token start, so callers report it).</summary>
        private char Peek() => _pos < _text.Length ? _text[_pos] : '\0';

        private int Column => _pos - _lineStart + 1;

        private string Found() => _pos >= _text.Length ? "end of input" : "'" + Printable(_text[_pos]) + "'";

        private static string Printable(char c) => c < 0x20 || c == 0x7F || char.IsSurrogate(c) ? $"U+{(int)c:X4}" : c.ToString();

        private static string Shorten(string s) => s.Length <= 40 ? s : s.Substring(0, 40) + "...";

        private JsonFormatException Error(string problem) => new(_line, Column, problem);

        /// <summary>An error at an earlier position of the current line (tokens never span lines).</summary>
        private JsonFormatException ErrorAt(int pos, string problem) => new(_line, pos - _lineStart + 1, problem);
    }
}
