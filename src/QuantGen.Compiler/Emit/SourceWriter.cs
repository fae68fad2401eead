using System;
using System.Text;

namespace QuantGen.Compiler.Emit;

/// <summary>Builds C# text with four-space indentation and '\n' line ends, so output is identical on every OS.</summary>
public sealed class SourceWriter
{
    private readonly StringBuilder _sb = new();
    private int _indent;

    public void Line(string text = "")
    {
        if (text.Length > 0)
            _sb.Append(' ', _indent * 4).Append(text);
        _sb.Append('\n');
    }

    /// <summary>Writes several lines (split on '\n') at the current indentation.</summary>
    public void Lines(string text)
    {
        foreach (var line in text.Split('\n'))
            Line(line.TrimEnd('\r'));
    }

    /// <summary>Writes <paramref name="header"/> (unless empty) and an opening brace; disposing the result writes the closing brace.</summary>
    public IDisposable Block(string header, string closing = "}")
    {
        if (header.Length > 0)
            Line(header);
        Line("{");
        _indent++;
        return new Closer(this, closing);
    }

    public void Indent() => _indent++;
    public void Outdent() => _indent--;

    public override string ToString() => _sb.ToString();

    private sealed class Closer : IDisposable
    {
        private readonly SourceWriter _writer;
        private readonly string _closing;
        private bool _done;

        public Closer(SourceWriter writer, string closing)
        {
            _writer = writer;
            _closing = closing;
        }

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            _writer._indent--;
            _writer.Line(_closing);
        }
    }
}
