using System.IO;
using System.Linq;
using System.Text;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Generator.Tests;

/// <summary>
/// docs/diagnostics.md is written from <see cref="DiagnosticCatalog.All"/>, so the page users reach from a
/// diagnostic's help link (docs/diagnostics.md#qg0005) always says what the compiler says.
/// </summary>
public class DiagnosticsDocTests
{
    private static string DocPath => Path.Combine(ModelFiles.RepoRoot, "docs", "diagnostics.md");

    [Fact]
    public void Docs_diagnostics_md_is_up_to_date()
    {
        string expected = Render();
        string actual = File.Exists(DocPath) ? File.ReadAllText(DocPath).Replace("\r\n", "\n") : "";
        if (actual == expected)
            return;
        Directory.CreateDirectory(Path.GetDirectoryName(DocPath)!);
        File.WriteAllText(DocPath, expected);
        Assert.Fail("docs/diagnostics.md was out of date; it has been rewritten from DiagnosticCatalog.All — review and commit it.");
    }

    [Fact]
    public void Ids_are_unique_sequential_and_documented_with_a_fix()
    {
        var ids = DiagnosticCatalog.All.Select(d => d.Id).ToList();
        Assert.Equal(Enumerable.Range(1, ids.Count).Select(i => $"QG{i:D4}"), ids);
        Assert.All(DiagnosticCatalog.All, d =>
        {
            Assert.False(string.IsNullOrWhiteSpace(d.Title), d.Id + " has no title");
            Assert.False(string.IsNullOrWhiteSpace(d.Help), d.Id + " says nothing about how to fix it");
            // Create formats the message and the help together: both must be valid format strings.
            string.Format(System.Globalization.CultureInfo.InvariantCulture, d.MessageFormat + " " + d.Help, Enumerable.Repeat((object)"x", 10).ToArray());
        });
    }

    internal static string Render()
    {
        var md = new StringBuilder();
        void Line(string text = "") => md.Append(text).Append('\n');

        Line("# QuantGen diagnostics");
        Line();
        Line("<!-- Generated from src/QuantGen.Compiler/Diagnostics/DiagnosticCatalog.cs by");
        Line("     tests/QuantGen.Generator.Tests/DiagnosticsDocTests.cs: edit the catalogue, run the tests, commit both. -->");
        Line();
        Line("QuantGen reports every problem it finds while compiling a model as a build diagnostic with an id `QGxxxx`.");
        Line("Problems inside the model point at the `.onnx` file and name the node, operator or tensor; problems with");
        Line("`[OnnxModel]` itself (a path that matches no AdditionalFile, a class that is not `static partial`, the");
        Line("precision asked for) point at the attribute. Every message ends with the fix it suggests, repeated below.");
        Line("In a message format, `{0}`, `{1}`... stand for the names and values of the case at hand.");
        Line();
        Line("| Id | Severity | Title |");
        Line("|----|----------|-------|");
        foreach (var d in DiagnosticCatalog.All)
            Line($"| [{d.Id}](#{d.Id.ToLowerInvariant()}) | {d.Severity} | {Cell(d.Title)} |");
        foreach (var d in DiagnosticCatalog.All)
        {
            Line();
            Line($"## {d.Id}");
            Line();
            Line($"**{Text(d.Title)}** ({d.Severity})");
            Line();
            Line("Message:");
            Line();
            Line("```text");
            Line(Unescape(d.MessageFormat));
            Line("```");
            Line();
            Line("How to fix: " + Text(Unescape(d.Help)));
        }
        return md.ToString();
    }

    /// <summary>A format string as users read it: "{{" and "}}" are the literal braces of C# code in a message.</summary>
    private static string Unescape(string format) => format.Replace("{{", "{").Replace("}}", "}");

    /// <summary>Catalogue text as Markdown prose: angle brackets would be read as HTML tags and vanish.</summary>
    private static string Text(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    private static string Cell(string text) => Text(text).Replace("|", "\\|");
}
