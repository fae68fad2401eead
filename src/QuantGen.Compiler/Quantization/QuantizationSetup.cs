using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Calibration;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Quantization;

/// <summary>
/// Turns what the user gave (a calibration file, KeepFloat names) into what the quantization passes take, with the
/// diagnostics: an unreadable file is an error; a file for another model, or no file, means dynamic quantization and a
/// warning; an unknown KeepFloat name is an error with the closest names.
/// </summary>
public static class QuantizationSetup
{
    public sealed class Result
    {
        public IReadOnlyDictionary<string, (float Min, float Max)>? Ranges { get; set; }
        public HashSet<string> KeepFloat { get; } = new();

        /// <summary>One line for the generated header: how activations are quantized.</summary>
        public string Description { get; set; } = "";
    }

    public static Result Resolve(Graph graph, byte[] model, CompilerOptions options, List<ModelDiagnostic> diagnostics)
    {
        var result = new Result();
        ResolveKeepFloat(graph, options, result);

        if (options.CalibrationRanges != null)
        {
            result.Ranges = options.CalibrationRanges;
            result.Description = "static, from calibration ranges given in code";
            return result;
        }
        bool hasQdq = graph.Nodes.Any(n => n.Domain is "" or "ai.onnx" && n.OpType is "QuantizeLinear" or "DequantizeLinear");
        if (options.CalibrationJson == null && hasQdq)
        {
            // A QAT/QDQ model carries its own scales: no calibration needed for the tensors they cover.
            result.Ranges = new Dictionary<string, (float Min, float Max)>();
            result.Description = "static, from the model's own QuantizeLinear/DequantizeLinear scales";
            return result;
        }
        if (options.CalibrationJson == null)
        {
            diagnostics.Add(DiagnosticCatalog.NoCalibration.Create(options.ModelPath, options.CalibrationPath));
            result.Description = "dynamic (no calibration file): activations quantized on each call from their own range";
            return result;
        }
        if (!CalibrationFile.TryRead(options.CalibrationJson, out var file, out var error))
            throw new ModelCompileException(DiagnosticCatalog.UnreadableCalibration.Create(options.CalibrationPath, error!.Message.TrimEnd('.'), options.ModelPath));
        string sha = ModelHash.Sha256Hex(model);
        if (!file!.Matches(sha))
        {
            diagnostics.Add(DiagnosticCatalog.CalibrationForAnotherModel.Create(options.CalibrationPath, ModelHash.Short(file.ModelSha256), options.ModelPath, ModelHash.Short(sha)));
            result.Description = $"dynamic: the calibration file '{options.CalibrationPath}' is for another model";
            return result;
        }
        result.Ranges = file.Tensors.ToDictionary(t => t.Key, t => (t.Value.Min, t.Value.Max));
        result.Description = $"static, calibrated by {CalibrationNames.Of(file.Method)} over {file.Samples} samples ({options.CalibrationPath})";
        return result;
    }

    /// <summary>Checks every name against the model file, then maps it to the node that carries it now.</summary>
    private static void ResolveKeepFloat(Graph graph, CompilerOptions options, Result result)
    {
        var errors = new List<ModelDiagnostic>();
        foreach (var name in options.KeepFloat)
        {
            if (!graph.OriginalNodeNames.Contains(name))
            {
                var close = NameSuggestions.Closest(name, graph.OriginalNodeNames);
                string hint = close.Count > 0 ? " (did you mean " + string.Join(", ", close.Select(c => "'" + c + "'")) + "?)" : "";
                errors.Add(DiagnosticCatalog.UnknownKeepFloatNode.Create(name, options.ModelPath, hint));
                continue;
            }
            // A folded BatchNormalization or a fused activation keeps the node that absorbed it in float.
            foreach (var node in graph.Nodes.Where(n => n.Name == name || n.Absorbed.Contains(name)))
                result.KeepFloat.Add(node.Name);
        }
        if (errors.Count > 0)
            throw new ModelCompileException(errors);
    }

    /// <summary>The info diagnostic listing float nodes, and the warning for tensors the calibration file lacks.</summary>
    public static void Report(QuantizationReport report, CompilerOptions options, List<ModelDiagnostic> diagnostics)
    {
        var missing = report.FloatNodes.Where(f => f.Reason.StartsWith("no calibration statistics", System.StringComparison.Ordinal)).Select(f => f.Node).ToList();
        if (missing.Count > 0 && options.CalibrationJson != null)
            diagnostics.Add(CalibrationDiagnostics.MissingStatistics(options.CalibrationPath, options.ModelPath, missing));
        if (report.FloatNodes.Count > 0)
            diagnostics.Add(DiagnosticCatalog.FloatNodes.Create(options.ModelPath, report.FloatNodes.Count,
                string.Join("; ", report.FloatNodes.Take(10).Select(f => $"{f.Node} ({f.OpType}: {f.Reason})")) + (report.FloatNodes.Count > 10 ? "; ..." : "")));
    }
}
