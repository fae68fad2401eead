using System.Globalization;
using System.Text;

namespace QuantGen.Compiler.Emit;

/// <summary>C# literal and identifier formatting for generated code (invariant culture, round-trippable).</summary>
public static class CSharp
{
    public static string Float(float value)
    {
        if (float.IsNaN(value)) return "float.NaN";
        if (float.IsPositiveInfinity(value)) return "float.PositiveInfinity";
        if (float.IsNegativeInfinity(value)) return "float.NegativeInfinity";
        string r = value.ToString("R", CultureInfo.InvariantCulture);
        if (float.Parse(r, CultureInfo.InvariantCulture) != value)
            r = value.ToString("G9", CultureInfo.InvariantCulture);
        if (value == 0 && 1 / value < 0) r = "-0";
        return r + "f";
    }

    public static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Long(long value) => value == long.MinValue ? "long.MinValue" : value.ToString(CultureInfo.InvariantCulture) + "L";

    /// <summary>A valid identifier made from an ONNX name: "/features/0/Conv" becomes "features_0_Conv".</summary>
    public static string Identifier(string name, string fallback = "value")
    {
        var sb = new StringBuilder(name.Length);
        bool underscore = false;
        foreach (char c in name)
        {
            if (c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9'))
            {
                sb.Append(c);
                underscore = false;
            }
            else if (!underscore && sb.Length > 0)
            {
                sb.Append('_');
                underscore = true;
            }
        }
        string id = sb.ToString().TrimEnd('_');
        if (id.Length == 0) id = fallback;
        if (char.IsDigit(id[0])) id = "_" + id;
        if (id.Length > 64) id = id.Substring(0, 64).TrimEnd('_');
        return id;
    }

    /// <summary>camelCase parameter name from an ONNX tensor name, safe against keywords.</summary>
    public static string ParameterName(string name)
    {
        string id = Identifier(name, "input");
        if (id[0] == '_') id = "t" + id;
        id = char.ToLowerInvariant(id[0]) + id.Substring(1);
        return Keywords.Contains(id) ? "@" + id : id;
    }

    /// <summary>Text safe inside a // comment or a string literal's content (no line breaks, no quotes or backslashes).</summary>
    public static string CommentText(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (char c in text)
            sb.Append(c is '\r' or '\n' ? ' ' : c);
        return sb.ToString();
    }

    public static string StringLiteral(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in text)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '"': sb.Append("\\\""); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c < ' ' || c is '\u2028' or '\u2029' or '\u0085') sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    private static readonly System.Collections.Generic.HashSet<string> Keywords = new()
    {
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const", "continue",
        "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern", "false", "finally",
        "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface", "internal", "is", "lock",
        "long", "namespace", "new", "null", "object", "operator", "out", "override", "params", "private", "protected",
        "public", "readonly", "ref", "return", "sbyte", "sealed", "short", "sizeof", "stackalloc", "static", "string",
        "struct", "switch", "this", "throw", "true", "try", "typeof", "uint", "ulong", "unchecked", "unsafe", "ushort",
        "using", "virtual", "void", "volatile", "while",
    };
}
