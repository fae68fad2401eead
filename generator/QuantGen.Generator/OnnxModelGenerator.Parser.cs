using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace QuantGen.Generator;

public sealed partial class OnnxModelGenerator
{
    /// <summary>From the attributed class to a <see cref="ModelRequest"/>: names, attribute arguments, validity.</summary>
    private static ModelRequest Parse(GeneratorAttributeSyntaxContext ctx, CancellationToken ct)
    {
        var symbol = (INamedTypeSymbol)ctx.TargetSymbol;
        var syntax = (ClassDeclarationSyntax)ctx.TargetNode;
        var attribute = ctx.Attributes[0];

        string path = attribute.ConstructorArguments.Length == 1 && attribute.ConstructorArguments[0].Value is string p ? p : "";
        int precision = 0;
        string? calibration = null;
        var keepFloat = new List<string>();
        var dimensions = new List<string>();
        foreach (var named in attribute.NamedArguments)
        {
            if (named.Key == "Precision" && named.Value.Value is int value)
                precision = value;
            else if (named.Key == "Calibration" && named.Value.Value is string c)
                calibration = c;
            else if (named.Key == "KeepFloat" && named.Value.Kind == TypedConstantKind.Array)
                keepFloat.AddRange(named.Value.Values.Select(v => v.Value as string).Where(v => !string.IsNullOrEmpty(v))!);
            else if (named.Key == "Dimensions" && named.Value.Kind == TypedConstantKind.Array)
                dimensions.AddRange(named.Value.Values.Select(v => v.Value as string ?? "")); // empty entries are reported (QG0027)
        }

        bool isStaticPartial = symbol.IsStatic && syntax.Modifiers.Any(m => m.IsKind(SyntaxKind.PartialKeyword));
        var containing = new List<string>();
        for (var outer = symbol.ContainingType; outer != null; outer = outer.ContainingType)
        {
            string kind = outer.IsRecord ? (outer.TypeKind == TypeKind.Struct ? "record struct" : "record") : outer.TypeKind == TypeKind.Struct ? "struct" : outer.TypeKind == TypeKind.Interface ? "interface" : "class";
            string typeParameters = outer.TypeParameters.Length > 0 ? "<" + string.Join(", ", outer.TypeParameters.Select(t => t.Name)) + ">" : "";
            containing.Insert(0, $"{(outer.IsStatic ? "static " : "")}partial {kind} {outer.Name}{typeParameters}");
            // A containing type that is not partial cannot hold the generated members.
            if (!outer.DeclaringSyntaxReferences.Any(r => r.GetSyntax(ct) is TypeDeclarationSyntax t && t.Modifiers.Any(m => m.IsKind(SyntaxKind.PartialKeyword))))
                isStaticPartial = false;
        }

        string ns = symbol.ContainingNamespace.IsGlobalNamespace ? "" : symbol.ContainingNamespace.ToDisplayString();
        var location = attribute.ApplicationSyntaxReference?.GetSyntax(ct).GetLocation() ?? syntax.Identifier.GetLocation();
        return new ModelRequest(
            symbol.Name,
            ns,
            new EquatableArray<string>(containing),
            symbol.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat).Replace("global::", ""),
            path,
            precision,
            calibration,
            new EquatableArray<string>(keepFloat),
            new EquatableArray<string>(dimensions),
            isStaticPartial && symbol.TypeParameters.Length == 0,
            ToInfo(location));
    }

    private static LocationInfo? ToInfo(Location location) =>
        location.SourceTree == null ? null : new LocationInfo(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);
}
