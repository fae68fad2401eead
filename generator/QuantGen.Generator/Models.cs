using Microsoft.CodeAnalysis.Text;

namespace QuantGen.Generator;

// The plain data passed between pipeline steps. No Compilation, ISymbol or SyntaxNode: Roslyn can cache these
// (a test checks this by reflection).

/// <summary>A source location as plain data.</summary>
internal sealed record LocationInfo(string FilePath, TextSpan Span, LinePositionSpan LineSpan);

/// <summary>One [OnnxModel] class as the user declared it.</summary>
internal sealed record ModelRequest(
    string ClassName,
    string Namespace,
    EquatableArray<string> ContainingTypes,
    string FullName,
    string ModelPath,
    int Precision,
    bool IsStaticPartial,
    LocationInfo? Location);

/// <summary>One model file carried to the compiler as text by the build targets (see ModelTextFormat).</summary>
internal sealed record ModelText(string Path, string FullPath, string TransportPath, string Text);

/// <summary>A diagnostic to report, as plain data.</summary>
internal sealed record DiagnosticInfo(string Id, string Message, LocationInfo? Location, string? ModelFullPath);

internal sealed record GeneratedSource(string HintName, string Text);

/// <summary>What the generator adds for one class.</summary>
internal sealed record GenerationResult(EquatableArray<GeneratedSource> Sources, EquatableArray<DiagnosticInfo> Diagnostics);
