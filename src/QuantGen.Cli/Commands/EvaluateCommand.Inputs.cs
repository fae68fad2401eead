using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using QuantGen.Cli.Npy;
using QuantGen.Compiler;
using QuantGen.Compiler.Calibration;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Compiler.Ir;

namespace QuantGen.Cli.Commands;

/// <summary>
/// evaluate's inputs, checked before anything runs: the data (streamed), the labels, the calibration file, KeepFloat
/// names, the model's one float input. Each problem is one line and its exit code.
/// </summary>
internal static partial class EvaluateCommand
{
    /// <summary>The samples, one at a time, in one reused buffer (a pass holds one sample whatever the file's size).</summary>
    private static IEnumerable<float[]> ReadSamples(EvaluateOptions options, long count)
    {
        using var reader = OpenData(options);
        var sample = new float[reader.SampleLength];
        for (long i = 0; i < count; i++)
        {
            try
            {
                if (!reader.ReadSample(sample))
                    throw new NpyFormatException($"the file ends after {i} samples");
            }
            catch (NpyFormatException e)
            {
                throw new CliException(ExitCodes.BadData, $"{options.Data}: {e.Message}");
            }
            catch (IOException e)
            {
                throw new CliException(ExitCodes.FileNotFound, $"{options.Data}: cannot read the data file: {e.Message}");
            }
            yield return sample;
        }
    }

    private static NpyReader OpenData(EvaluateOptions options)
    {
        try
        {
            return NpyReader.Open(options.Data, options.Scale ?? 1f);
        }
        catch (NpyFormatException e)
        {
            throw new CliException(ExitCodes.BadData, $"{options.Data}: {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.FileNotFound, $"cannot read the data file {options.Data}: {e.Message}");
        }
    }

    private static int[] ReadLabels(string path, long samples)
    {
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

    private static Graph Prepare(byte[] model, string path)
    {
        try
        {
            return ModelCompiler.Prepare(model, path, CalibrateCommand.ExternalData(path));
        }
        catch (ModelCompileException e)
        {
            throw CalibrateCommand.ModelFailure($"{path}: QuantGen cannot compile this model", e.Diagnostics);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new CliException(ExitCodes.ModelError, $"{path}: the model does not load: {e.GetType().Name}: {e.Message}");
        }
    }

    private static Value SingleFloatInput(Graph graph, string path)
    {
        if (graph.Inputs.Count != 1 || graph[graph.Inputs[0]].Type != DataType.Float)
            throw new CliException(ExitCodes.ModelError,
                $"{path}: evaluate feeds one float input from one .npy file; this model has {graph.Inputs.Count} inputs ({string.Join(", ", graph.Inputs.Select(n => graph[n].ToString()))})");
        var input = graph[graph.Inputs[0]];
        if (input.Shape == null || input.Shape.Any(d => d <= 0))
            throw new CliException(ExitCodes.ModelError, $"{path}: the shape of input '{input.Name}' is not known after shape inference");
        if (graph.Outputs.Count == 0 || graph[graph.Outputs[0]].Type != DataType.Float)
            throw new CliException(ExitCodes.ModelError, $"{path}: evaluate needs a float first output (class scores)");
        return input;
    }

    private static long CheckSamples(EvaluateOptions options, NpyHeader header, Value input)
    {
        string expected = "(N, " + string.Join(", ", input.Shape!.Skip(input.Shape!.Length > 1 && input.Shape[0] == 1 ? 1 : 0)) + ")";
        if (header.SampleLength != input.Length)
            throw new CliException(ExitCodes.BadData, string.Create(CultureInfo.InvariantCulture,
                $"{options.Data}: each sample of {header.FormatShape()} holds {header.SampleLength} values, but the model's input '{input.Name}' ({Shapes.Format(input.Shape!)}) needs {input.Length}: save the array with shape {expected}, first axis = sample"));
        if (header.SampleCount == 0)
            throw new CliException(ExitCodes.BadData, $"{options.Data}: the array {header.FormatShape()} holds no samples");
        if (options.Samples is long wanted && wanted > header.SampleCount)
            throw new CliException(ExitCodes.BadData, string.Create(CultureInfo.InvariantCulture,
                $"--samples {wanted}, but {options.Data} holds only {header.SampleCount} samples"));
        return options.Samples ?? header.SampleCount;
    }
}
