using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;
using QuantGen.Compiler.Transport;

namespace QuantGen.Generator;

/// <summary>
/// The incremental pipeline, and nothing else: [OnnxModel] classes (<see cref="Parse"/>) and the model files the
/// build targets carried as text are combined, each class is compiled (<see cref="Compile"/>), and the result is
/// added as source and diagnostics.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class OnnxModelGenerator : IIncrementalGenerator
{
    /// <summary>Tracking names of the pipeline steps, for caching tests.</summary>
    public static class Steps
    {
        public const string Requests = nameof(Requests);
        public const string ModelTexts = nameof(ModelTexts);
        public const string JsonTexts = nameof(JsonTexts);
        public const string WeightsManifests = nameof(WeightsManifests);
        public const string Inputs = nameof(Inputs);
        public const string Results = nameof(Results);
    }

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        context.RegisterPostInitializationOutput(static ctx => ctx.AddSource("QuantGen.OnnxModelAttribute.g.cs", SourceText.From(AttributeSource.Text, System.Text.Encoding.UTF8)));

        var requests = context.SyntaxProvider.ForAttributeWithMetadataName(
                AttributeSource.AttributeFullName,
                static (node, _) => node is ClassDeclarationSyntax,
                static (ctx, ct) => Parse(ctx, ct))
            .WithTrackingName(Steps.Requests);

        var modelTexts = context.AdditionalTextsProvider
            .Where(static t => t.Path.EndsWith(ModelTextFormat.Extension, System.StringComparison.OrdinalIgnoreCase))
            .Select(static (t, ct) => ReadModelText(t, ct))
            .Where(static m => m != null)
            .Select(static (m, _) => m!)
            .WithTrackingName(Steps.ModelTexts)
            .Collect();

        // Calibration files (and any other JSON AdditionalFiles: which one a class uses is decided per class).
        var jsonTexts = context.AdditionalTextsProvider
            .Where(static t => t.Path.EndsWith(".json", System.StringComparison.OrdinalIgnoreCase))
            .Select(static (t, ct) => new JsonText(t.Path, t.GetText(ct)?.ToString() ?? ""))
            .WithTrackingName(Steps.JsonTexts)
            .Collect();

        // Written by the build task for models whose weights it embedded as a manifest resource.
        var weightsManifests = context.AdditionalTextsProvider
            .Where(static t => t.Path.EndsWith(WeightsManifest.Extension, System.StringComparison.OrdinalIgnoreCase))
            .Select(static (t, ct) => WeightsManifest.TryRead(t.GetText(ct)?.ToString() ?? "", out var m) ? new WeightsManifestText(m.ModelPath, m.Sha256Hex, m.Options) : null)
            .Where(static m => m != null)
            .Select(static (m, _) => m!)
            .WithTrackingName(Steps.WeightsManifests)
            .Collect();

        // The model is compiled from the request without its location: lines added above the class move the
        // attribute, and that must not recompile the model. Diagnostics that point at the attribute get the
        // location back when they are reported. Each class first picks its own files out of all of them (Inputs),
        // so editing another model or JSON file does not recompile this one either.
        var inputs = requests.Select(static (r, _) => r with { Location = null })
            .Combine(modelTexts)
            .Combine(jsonTexts)
            .Combine(weightsManifests)
            .Select(static (pair, _) => Resolve(pair.Left.Left.Left, pair.Left.Left.Right, pair.Left.Right, pair.Right))
            .WithTrackingName(Steps.Inputs);
        var results = inputs
            .Select(static (input, ct) => Compile(input, ct))
            .WithTrackingName(Steps.Results);

        context.RegisterSourceOutput(results, static (spc, result) =>
        {
            foreach (var source in result.Sources)
                spc.AddSource(source.HintName, SourceText.From(source.Text, System.Text.Encoding.UTF8));
        });

        var locations = requests.Select(static (r, _) => new RequestLocation(r.FullName, r.Location)).Collect();
        context.RegisterSourceOutput(results.Collect().Combine(locations), static (spc, pair) =>
        {
            foreach (var result in pair.Left)
            {
                var location = pair.Right.FirstOrDefault(l => l.FullName == result.FullName)?.Location;
                foreach (var d in result.Diagnostics)
                    spc.ReportDiagnostic(DiagnosticDescriptors.ToDiagnostic(d, location));
            }
        });
    }

    private static ModelText? ReadModelText(AdditionalText file, System.Threading.CancellationToken ct)
    {
        // Only the header is read here; the data is decoded from the SourceText when the model is compiled.
        var text = file.GetText(ct) ?? SourceText.From("");
        string header = text.ToString(new TextSpan(0, System.Math.Min(text.Length, 32 * 1024)));
        if (!ModelTextFormat.TryReadHeader(header, out var path, out var fullPath))
            return new ModelText("", "", file.Path, text); // reported as corrupt if a class asks for it
        return new ModelText(path, fullPath, file.Path, text);
    }
}
