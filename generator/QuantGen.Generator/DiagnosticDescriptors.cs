using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using QuantGen.Compiler.Diagnostics;

namespace QuantGen.Generator;

/// <summary>Roslyn descriptors for the QGxxxx catalogue (QuantGen.Compiler's DiagnosticCatalog is the source of truth).</summary>
internal static class DiagnosticDescriptors
{
    private static readonly Dictionary<string, DiagnosticDescriptor> ById = DiagnosticCatalog.All.ToDictionary(
        d => d.Id,
        d => new DiagnosticDescriptor(
            d.Id,
            d.Title,
            "{0}",
            "QuantGen",
            d.Severity switch
            {
                ModelDiagnosticSeverity.Error => DiagnosticSeverity.Error,
                ModelDiagnosticSeverity.Warning => DiagnosticSeverity.Warning,
                _ => DiagnosticSeverity.Info,
            },
            isEnabledByDefault: true,
            description: d.Help,
            helpLinkUri: "https://github.com/quantgen/quantgen/blob/main/docs/diagnostics.md#" + d.Id.ToLowerInvariant()));

    /// <param name="attribute">Where the class's [OnnxModel] attribute is, for diagnostics that carry no location of their own.</param>
    public static Diagnostic ToDiagnostic(DiagnosticInfo info, LocationInfo? attribute)
    {
        var descriptor = ById[info.Id];
        Location location;
        var at = info.Location ?? attribute;
        // Problems inside the model point at the .onnx file (the user's file, not the obj/ text copy), problems in a
        // calibration file at that file.
        if (info.FilePath is { Length: > 0 } filePath)
            location = Location.Create(filePath, default, default);
        else if (at != null)
            location = Location.Create(at.FilePath, at.Span, at.LineSpan);
        else
            location = Location.None;
        return Diagnostic.Create(descriptor, location, info.Message);
    }
}
