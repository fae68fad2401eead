using System;
using System.Globalization;
using System.Text;

namespace QuantGen.Compiler.Calibration;

/// <summary>
/// Writes <see cref="JsonNode"/>s as text that is the same byte for byte on every machine: invariant culture,
/// 2-space indentation, '\n' line ends and a final newline, members in the order they were added, non-ASCII
/// characters as themselves (the file is UTF-8). Numbers are written as the shortest text that reads back to the same
/// value (see <see cref="JsonNumberStyle"/>). Arrays of scalars are written compactly, <see cref="ScalarsPerLine"/>
/// to a line, so a 2048-bin histogram is 128 lines, not 2048.
/// </summary>
public static class JsonWriter
{
    public const int ScalarsPerLine = 16;

    public static string Write(JsonNode value)
    {
        if (value == null) throw new ArgumentNullException(nameof(value));
        var sb = new StringBuilder();
        WriteValue(sb, value, 0);
        sb.Append('\n');
        return sb.ToString();
    }

    /// <summary>A float as the shortest text that <see cref="JsonReader"/> reads back (as a double, then converted to float) to the same float.</summary>
    public static string FormatSingle(float value)
    {
        if (float.IsNaN(value) || float.IsInfinity(value))
            throw new ArgumentException($"JSON has no representation for {value}", nameof(value));
        // "R" is the shortest round trip on .NET Core 3.0+, but not on .NET Framework, and the reader goes through
        // double, where double rounding could in principle land elsewhere: verify, and fall back to more digits.
        foreach (string format in new[] { "R", "G9" })
        {
            string s = value.ToString(format, CultureInfo.InvariantCulture);
            if (ReadsBackAs(s, out double d) && (float)d == value && IsNegative(d) == IsNegative(value))
                return s;
        }
        return FormatDouble(value);
    }

    /// <summary>A double as the shortest text that reads back to the same double ("R" if it does, else "G17").</summary>
    public static string FormatDouble(double value)
    {
        if (double.IsNaN(value) || double.IsInfinity(value))
            throw new ArgumentException($"JSON has no representation for {value}", nameof(value));
        string s = value.ToString("R", CultureInfo.InvariantCulture);
        if (ReadsBackAs(s, out double d) && d == value && IsNegative(d) == IsNegative(value))
            return s;
        return value.ToString("G17", CultureInfo.InvariantCulture);
    }

    private static bool ReadsBackAs(string s, out double value) =>
        double.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out value);

    private static bool IsNegative(double d) => d < 0 || (d == 0 && 1 / d < 0);

    private static void WriteValue(StringBuilder sb, JsonNode value, int indent)
    {
        switch (value)
        {
            case JsonObject obj:
                WriteObject(sb, obj, indent);
                break;
            case JsonArray array:
                WriteArray(sb, array, indent);
                break;
            default:
                WriteScalar(sb, value);
                break;
        }
    }

    private static void WriteObject(StringBuilder sb, JsonObject obj, int indent)
    {
        if (obj.Count == 0)
        {
            sb.Append("{}");
            return;
        }
        sb.Append("{\n");
        for (int i = 0; i < obj.Count; i++)
        {
            var member = obj.Members[i];
            Indent(sb, indent + 1);
            WriteString(sb, member.Key);
            sb.Append(": ");
            WriteValue(sb, member.Value, indent + 1);
            sb.Append(i + 1 < obj.Count ? ",\n" : "\n");
        }
        Indent(sb, indent);
        sb.Append('}');
    }

    private static void WriteArray(StringBuilder sb, JsonArray array, int indent)
    {
        if (array.Count == 0)
        {
            sb.Append("[]");
            return;
        }
        bool scalars = true;
        foreach (var item in array)
            scalars &= item.Kind is not JsonKind.Object and not JsonKind.Array;
        if (scalars && array.Count <= ScalarsPerLine)
        {
            sb.Append('[');
            for (int i = 0; i < array.Count; i++)
            {
                if (i > 0) sb.Append(", ");
                WriteScalar(sb, array[i]);
            }
            sb.Append(']');
            return;
        }
        sb.Append("[\n");
        int perLine = scalars ? ScalarsPerLine : 1;
        for (int i = 0; i < array.Count; i++)
        {
            if (i % perLine == 0)
                Indent(sb, indent + 1);
            WriteValue(sb, array[i], indent + 1);
            if (i + 1 == array.Count)
                sb.Append('\n');
            else
                sb.Append((i + 1) % perLine == 0 ? ",\n" : ", ");
        }
        Indent(sb, indent);
        sb.Append(']');
    }

    private static void WriteScalar(StringBuilder sb, JsonNode value)
    {
        switch (value)
        {
            case JsonString s:
                WriteString(sb, s.Value);
                break;
            case JsonNumber n:
                sb.Append(n.Style switch
                {
                    JsonNumberStyle.Integer => n.IntegerValue.ToString(CultureInfo.InvariantCulture),
                    JsonNumberStyle.Single => FormatSingle((float)n.Value),
                    _ => FormatDouble(n.Value),
                });
                break;
            case JsonBoolean b:
                sb.Append(b.Value ? "true" : "false");
                break;
            case JsonNull:
                sb.Append("null");
                break;
            default:
                throw new ArgumentException("unknown JSON node " + value.GetType().Name);
        }
    }

    private static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || c == 0x7F)
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else if (char.IsSurrogate(c))
                    {
                        // A lone surrogate cannot be written as UTF-8, and our reader would refuse its escape.
                        if (!char.IsHighSurrogate(c) || i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1]))
                            throw new ArgumentException($"the string contains an unpaired surrogate U+{(int)c:X4} at index {i}");
                        sb.Append(c).Append(s[++i]);
                    }
                    else
                    {
                        sb.Append(c);
                    }
                    break;
            }
        }
        sb.Append('"');
    }

    private static void Indent(StringBuilder sb, int level) => sb.Append(' ', 2 * level);
}
