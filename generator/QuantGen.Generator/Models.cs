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
    string? CalibrationPath,
    EquatableArray<string> KeepFloat,
    EquatableArray<string> Dimensions,
    bool IsStaticPartial,
    LocationInfo? Location);

/// <summary>A JSON AdditionalFile: a calibration file candidate (path as the compiler sees it, usually absolute).</summary>
internal sealed record JsonText(string Path, string Text);

/// <summary>One model file carried to the compiler as text by the build targets (see ModelTextFormat).</summary>
/// <remarks>
/// <paramref name="Text"/> is the compiler's own SourceText of the file, not a string copy of it: for a model of
/// hundreds of MB the text is over a GB of chars, which the compiler holds anyway. Equal when the paths are and the
/// texts have the same content (the same object, in practice, unless the file changed).
/// </remarks>
internal sealed record ModelText(string Path, string FullPath, string TransportPath, SourceText Text)
{
    public bool Equals(ModelText? other) =>
        other is not null && Path == other.Path && FullPath == other.FullPath && TransportPath == other.TransportPath
        && (ReferenceEquals(Text, other.Text) || (Text.Length == other.Text.Length && Text.ContentEquals(other.Text)));

    public override int GetHashCode() => (Path, FullPath, TransportPath, Text.Length).GetHashCode();
}

/// <summary>
/// A diagnostic to report, as plain data: at the start of <paramref name="FilePath"/> (the .onnx or calibration file
/// the problem is in) when it is set, else at <paramref name="Location"/>, else at the class's [OnnxModel] attribute.
/// </summary>
internal sealed record DiagnosticInfo(string Id, string Message, LocationInfo? Location, string? FilePath);

internal sealed record GeneratedSource(string HintName, string Text);

/// <summary>
/// What one class is compiled from: its request (without location) and the files it resolved to, or the
/// <paramref name="Failure"/> that stops it before compiling.
/// </summary>
/// <remarks><paramref name="Weights"/>: set when the build task embedded the model's weights as a resource.</remarks>
internal sealed record CompileInput(ModelRequest Request, ModelText? Model, JsonText? Calibration, string CalibrationPath, DiagnosticInfo? Failure, WeightsManifestText? Weights = null);

/// <summary>A weights manifest the build task wrote (see WeightsManifest): the model it is for and the blob's hash.</summary>
internal sealed record WeightsManifestText(string ModelPath, string Sha256Hex, string Options);

/// <summary>What the generator adds for one class (<paramref name="FullName"/>, as in <see cref="ModelRequest"/>).</summary>
internal sealed record GenerationResult(string FullName, EquatableArray<GeneratedSource> Sources, EquatableArray<DiagnosticInfo> Diagnostics);

/// <summary>Where a class's [OnnxModel] attribute is, kept apart from the compiled result so moving it costs nothing.</summary>
internal sealed record RequestLocation(string FullName, LocationInfo? Location);
