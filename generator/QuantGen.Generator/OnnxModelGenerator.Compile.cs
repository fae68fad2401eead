using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using QuantGen.Compiler;
using QuantGen.Compiler.Calibration;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Compiler.Transport;

namespace QuantGen.Generator;

public sealed partial class OnnxModelGenerator
{
    /// <summary>
    /// Step 1, cheap: picks the class's model and calibration file out of all the carried files, or says why it
    /// cannot be compiled. Kept apart from <see cref="Compile"/> so that adding or editing some other model or JSON
    /// file leaves this class's input equal, and its compilation cached. Never throws.
    /// </summary>
    private static CompileInput Resolve(ModelRequest request, ImmutableArray<ModelText> models, ImmutableArray<JsonText> jsonFiles, ImmutableArray<WeightsManifestText> weights)
    {
        try
        {
            if (!request.IsStaticPartial)
                return Failed(request, DiagnosticCatalog.InvalidTargetClass.Create(request.ClassName));
            if (QuantGen.Compiler.Emit.ModelEmitter.ReservedNames.Contains(request.ClassName))
                return Failed(request, DiagnosticCatalog.ReservedClassName.Create(request.ClassName, string.Join(", ", QuantGen.Compiler.Emit.ModelEmitter.ReservedNames)));
            if (string.IsNullOrWhiteSpace(request.ModelPath))
                return Failed(request, DiagnosticCatalog.InvalidAttributeArgument.Create(request.FullName, "the model path is empty"));

            var matches = FindModel(request.ModelPath, models);
            if (matches.Count == 0)
            {
                string found = models.Length == 0 ? "none" : string.Join(", ", models.Select(m => m.Path.Length > 0 ? m.Path : m.TransportPath).OrderBy(p => p, StringComparer.Ordinal));
                return Failed(request, DiagnosticCatalog.ModelNotFound.Create(request.ModelPath, request.FullName, found));
            }
            if (matches.Count > 1)
                return Failed(request, DiagnosticCatalog.AmbiguousModel.Create(request.ModelPath, request.FullName, string.Join(", ", matches.Select(m => m.Path))));

            var model = matches[0];
            if (model.Path.Length == 0)
                return new CompileInput(request, model, null, "", null); // unreadable header: Compile reports it (QG0013)
            string calibrationPath = request.CalibrationPath ?? CalibrationFile.DefaultPathFor(model.Path);
            var calibration = FindCalibration(calibrationPath, request.CalibrationPath == null ? CalibrationFile.DefaultPathFor(model.FullPath) : null, jsonFiles);
            if (calibration.Count > 1)
                return Failed(request, DiagnosticCatalog.AmbiguousCalibration.Create(calibrationPath, request.FullName, string.Join(", ", calibration.Select(c => c.Path))));
            if (calibration.Count == 0 && request.CalibrationPath != null && (Precision)request.Precision == Precision.Int8)
                return Failed(request, DiagnosticCatalog.CalibrationNotFound.Create(request.CalibrationPath, request.FullName));
            var manifest = weights.FirstOrDefault(w => Normalize(w.ModelPath) == Normalize(model.Path));
            return new CompileInput(request, model, calibration.Count == 1 ? calibration[0] : null, calibrationPath, null, manifest);
        }
        catch (Exception e)
        {
            return Failed(request, DiagnosticCatalog.UnexpectedError.Create(request.ModelPath, e.GetType().Name + ": " + e.Message));
        }
    }

    /// <summary>Step 2, expensive: decodes the model and runs the model compiler. Never throws.</summary>
    private static GenerationResult Compile(CompileInput input, CancellationToken ct)
    {
        var request = input.Request;
        if (input.Failure != null || input.Model == null)
            return new GenerationResult(request.FullName, EquatableArray<GeneratedSource>.Empty, new EquatableArray<DiagnosticInfo>(input.Failure == null ? Array.Empty<DiagnosticInfo>() : new[] { input.Failure }));
        try
        {
            var model = input.Model;
            ModelTextFormat.Payload payload;
            try
            {
                payload = ModelTextFormat.Read(new SourceTextReader(model.Text));
            }
            catch (FormatException e)
            {
                return Fail(request, DiagnosticCatalog.CorruptModelText.Create(model.TransportPath, e.Message.TrimEnd('.')));
            }
            ct.ThrowIfCancellationRequested();

            var external = payload.ExternalFiles.ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal);
            var options = new CompilerOptions
            {
                CalibrationJson = input.Calibration?.Text,
                CalibrationPath = input.CalibrationPath,
                KeepFloat = request.KeepFloat.ToArray(),
                Dimensions = request.Dimensions.ToArray(),
                ClassName = request.ClassName,
                Namespace = request.Namespace,
                ContainingTypes = request.ContainingTypes.ToArray(),
                ModelPath = payload.Path,
                Precision = (Precision)request.Precision,
                HintPrefix = request.FullName.Replace('<', '{').Replace('>', '}'),
                WeightStorage = input.Weights != null ? WeightStorage.Resource : WeightStorage.Literals,
            };
            var result = ModelCompiler.Compile(payload.Model, options, location => external.TryGetValue(location, out var bytes) ? bytes : null);
            var diagnostics = result.Diagnostics.Select(d => new DiagnosticInfo(d.Id, d.Message, request.Location, FileOf(d.Id, payload.FullPath, input.Calibration?.Path))).ToList();
            // The build task computed the resource with the same compiler; a different hash means it was given other
            // options than the attribute's, and the generated code would throw at its first Predict.
            if (input.Weights != null && result.Weights != null && !string.Equals(result.Weights.Sha256Hex, input.Weights.Sha256Hex, StringComparison.OrdinalIgnoreCase))
            {
                string attributeOptions = ((Precision)request.Precision).ToString() + (request.KeepFloat.Count > 0 ? ", KeepFloat " + string.Join(";", request.KeepFloat) : "")
                    + (request.Dimensions.Count > 0 ? ", Dimensions " + string.Join(";", request.Dimensions) : "") + (input.Calibration != null ? ", calibration " + input.CalibrationPath : "");
                var d = DiagnosticCatalog.WeightsResourceMismatch.Create(payload.Path, input.Weights.Sha256Hex, request.FullName, result.Weights.Sha256Hex, "task: " + input.Weights.Options + "; attribute: " + attributeOptions);
                diagnostics.Add(AtAttribute(request, d));
                // Like every other error: no code, rather than code that would throw at its first Predict.
                return new GenerationResult(request.FullName, EquatableArray<GeneratedSource>.Empty, new EquatableArray<DiagnosticInfo>(diagnostics));
            }
            return new GenerationResult(
                request.FullName,
                new EquatableArray<GeneratedSource>(result.Files.Select(f => new GeneratedSource(f.HintName, f.Source))),
                new EquatableArray<DiagnosticInfo>(diagnostics));
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (Exception e)
        {
            return Fail(request, DiagnosticCatalog.UnexpectedError.Create(request.ModelPath, e.GetType().Name + ": " + e.Message));
        }
    }

    /// <summary>
    /// The calibration file: the one named by [OnnxModel(Calibration = ...)] (a project-relative path, matched as a path
    /// suffix since AdditionalFiles arrive with full paths), else the model's own path with .calib.json.
    /// </summary>
    private static List<JsonText> FindCalibration(string relativePath, string? defaultFullPath, ImmutableArray<JsonText> files)
    {
        string wanted = Normalize(relativePath);
        if (defaultFullPath != null)
        {
            var exact = files.Where(f => Normalize(f.Path) == Normalize(defaultFullPath)).ToList();
            if (exact.Count > 0) return exact;
        }
        var bySuffix = files.Where(f => Normalize(f.Path) == wanted || Normalize(f.Path).EndsWith("/" + wanted, StringComparison.Ordinal)).ToList();
        return bySuffix;
    }

    /// <summary>
    /// The file a compiler diagnostic points at: none (so the [OnnxModel] attribute) for what is fixed there
    /// (Precision, KeepFloat names, Dimensions entries), the calibration file for problems in it, else the model.
    /// </summary>
    private static string? FileOf(string id, string modelFullPath, string? calibrationFullPath)
    {
        if (id == DiagnosticCatalog.UnknownKeepFloatNode.Id || id == DiagnosticCatalog.InvalidDimensionEntry.Id || id == DiagnosticCatalog.UnknownDimension.Id)
            return null;
        if (calibrationFullPath != null && (id == DiagnosticCatalog.CalibrationForAnotherModel.Id || id == DiagnosticCatalog.UnreadableCalibration.Id || id == DiagnosticCatalog.MissingCalibrationStatistics.Id))
            return calibrationFullPath;
        return modelFullPath;
    }

    /// <summary>
    /// Exact project-relative path first, then the same ignoring case, then a unique file name. A transport file
    /// whose header is unreadable matches by its own path (obj/.../Models/model.onnx.qgm), so it is reported as
    /// corrupt (QG0013) rather than as missing.
    /// </summary>
    private static List<ModelText> FindModel(string requested, ImmutableArray<ModelText> models)
    {
        string wanted = Normalize(requested);
        var exact = models.Where(m => Normalize(m.Path) == wanted).ToList();
        if (exact.Count > 0) return exact;
        var ignoringCase = models.Where(m => string.Equals(Normalize(m.Path), wanted, StringComparison.OrdinalIgnoreCase)).ToList();
        if (ignoringCase.Count > 0) return ignoringCase;
        string fileName = wanted.Substring(wanted.LastIndexOf('/') + 1);
        var byName = models.Where(m => m.Path.Length > 0 && Normalize(m.Path).Substring(Normalize(m.Path).LastIndexOf('/') + 1) == fileName).ToList();
        if (byName.Count > 0) return byName;
        string transportSuffix = "/" + wanted + ModelTextFormat.Extension;
        return models.Where(m => m.Path.Length == 0 && Normalize(m.TransportPath).EndsWith(transportSuffix, StringComparison.OrdinalIgnoreCase)).ToList();
    }

    /// <summary>A SourceText read in blocks (SourceText.CopyTo), so decoding never makes a string of the whole file.</summary>
    private sealed class SourceTextReader : System.IO.TextReader
    {
        private readonly Microsoft.CodeAnalysis.Text.SourceText _text;
        private int _position;

        public SourceTextReader(Microsoft.CodeAnalysis.Text.SourceText text) => _text = text;

        public override int Peek() => _position < _text.Length ? _text[_position] : -1;

        public override int Read() => _position < _text.Length ? _text[_position++] : -1;

        public override int Read(char[] buffer, int index, int count)
        {
            int n = Math.Min(count, _text.Length - _position);
            if (n <= 0) return 0;
            _text.CopyTo(_position, buffer, index, n);
            _position += n;
            return n;
        }
    }

    private static string Normalize(string path)
    {
        string p = path.Replace('\\', '/');
        while (p.StartsWith("./", StringComparison.Ordinal)) p = p.Substring(2);
        return p;
    }

    /// <summary>One diagnostic at the request's attribute (its location is filled in when it is reported).</summary>
    private static GenerationResult Fail(ModelRequest request, ModelDiagnostic d) =>
        new(request.FullName, EquatableArray<GeneratedSource>.Empty, new EquatableArray<DiagnosticInfo>(new[] { AtAttribute(request, d) }));

    private static CompileInput Failed(ModelRequest request, ModelDiagnostic d) => new(request, null, null, "", AtAttribute(request, d));

    private static DiagnosticInfo AtAttribute(ModelRequest request, ModelDiagnostic d) => new(d.Id, d.Message, request.Location, null);
}
