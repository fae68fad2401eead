using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using QuantGen.Cli.Data;
using QuantGen.Cli.Npy;
using QuantGen.Compiler;
using QuantGen.Compiler.Calibration;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Compiler.Ir;

namespace QuantGen.Cli.Commands;

/// <summary>
/// evaluate's inputs, checked before anything runs: the data (streamed, one file per model input), the labels, the
/// calibration file, KeepFloat names, the scored output. Each problem is one line and its exit code.
/// </summary>
internal static partial class EvaluateCommand
{
    /// <summary>The samples, one at a time, each a tensor per model input (a pass holds one sample whatever the files' sizes).</summary>
    private static IEnumerable<IReadOnlyList<Tensor>> ReadSamples(EvaluateOptions options, IReadOnlyList<Value> inputs)
    {
        using var files = OpenInputs(options, inputs);
        foreach (var sample in files.ReadSamples())
            yield return sample;
    }

    private static InputFiles OpenInputs(EvaluateOptions options, IReadOnlyList<Value> inputs) =>
        InputFiles.Open(inputs, options.Data, options.Scale, options.Samples, "evaluate");

    /// <param name="samples">The samples the data files hold (all of them, whatever --samples says).</param>
    private static int[] ReadLabels(string path, long samples, int rowsPerSample, Value scores)
    {
        if (rowsPerSample != 1)
            throw CliException.Usage(string.Create(CultureInfo.InvariantCulture,
                $"--labels gives one class per sample, but the model's first output '{scores.Name}' {Shapes.Format(scores.Shape!)} scores {rowsPerSample} rows per sample: evaluate it without labels (INT8 against FP32, row by row)"),
                "quantgen evaluate --help");
        int[] labels;
        try
        {
            labels = NpyLabels.Read(path);
        }
        catch (NpyFormatException e)
        {
            throw new CliException(ExitCodes.BadData, $"{path}: {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.FileNotFound, $"cannot read the labels file {path}: {e.Message}");
        }
        if (labels.Length != samples)
            throw new CliException(ExitCodes.BadData, string.Create(CultureInfo.InvariantCulture,
                $"{path} holds {labels.Length} labels for {samples} samples: the data and its labels must have one entry per sample"));
        return labels;
    }

    /// <summary>The calibration file's text, checked against the model; null when there is none (dynamic INT8).</summary>
    private static string? ReadCalibration(EvaluateOptions options, byte[] model)
    {
        string path = options.CalibrationPath;
        if (options.Calibration == null && !File.Exists(path)) return null;
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.FileNotFound, $"cannot read the calibration file {path}: {e.Message}");
        }
        if (!CalibrationFile.TryRead(json, out var file, out var error))
            throw new CliException(ExitCodes.BadCalibration, $"{path}: not a usable calibration file: {error!.Message}");
        string sha = ModelHash.Sha256Hex(model);
        if (!file!.Matches(sha))
            throw new CliException(ExitCodes.BadCalibration,
                $"{path} was computed for another model ({file.ModelName}, SHA-256 {ModelHash.Short(file.ModelSha256)}), not {options.Model} ({ModelHash.Short(sha)}): run quantgen calibrate {options.Model} again, or pass the right --calibration");
        return json;
    }

    /// <summary>KeepFloat names are checked here, with suggestions, as the build would (QG diagnostics are for builds).</summary>
    private static void CheckKeepFloat(IReadOnlyList<string> names, Graph graph)
    {
        foreach (string name in names)
        {
            if (graph.OriginalNodeNames.Contains(name)) continue;
            var close = NameSuggestions.Closest(name, graph.OriginalNodeNames);
            throw CliException.Usage($"--keep-float: the model has no node '{name}'"
                + (close.Count > 0 ? " (did you mean " + string.Join(", ", close.Select(n => "'" + n + "'")) + "?)" : "; quantgen inspect lists the node names"),
                "quantgen evaluate --help");
        }
    }

    /// <summary>The first output, whose last axis holds the scores top-1 is taken over; it must be float.</summary>
    private static Value ScoredOutput(Graph graph, string path)
    {
        if (graph.Outputs.Count == 0 || graph[graph.Outputs[0]] is not { Type: DataType.Float, Shape: { Length: > 0 } shape } output || shape.Any(d => d <= 0))
            throw new CliException(ExitCodes.ModelError, $"{path}: evaluate needs a float first output with a known shape (class scores or logits)");
        return output;
    }
}
