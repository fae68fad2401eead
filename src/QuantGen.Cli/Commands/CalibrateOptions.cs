using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using QuantGen.Compiler.Calibration;

namespace QuantGen.Cli.Commands;

/// <summary>
/// The arguments of <c>quantgen calibrate</c>, parsed by hand: one positional (the model), options as
/// <c>--name value</c> or <c>--name=value</c>, each at most once, <c>--</c> ending the options.
/// </summary>
internal sealed record CalibrateOptions
{
    public const double DefaultPercentile = 99.99;

    private const string HelpHint = "quantgen calibrate --help";

    public const int DefaultBatch = 32;

    public required string Model { get; init; }

    /// <summary>The first --data: the data of a single-input model.</summary>
    public required string Data { get; init; }

    /// <summary>The other --data values, for models with several inputs (PATH or NAME=PATH; see <see cref="Data.InputFiles"/>).</summary>
    public IReadOnlyList<string> MoreData { get; init; } = Array.Empty<string>();

    /// <summary>Every --data, in command-line order.</summary>
    public IReadOnlyList<string> AllData => new[] { Data }.Concat(MoreData).ToList();

    /// <summary>Samples per ONNX Runtime run, where the model's batch dimension is free.</summary>
    public int Batch { get; init; } = DefaultBatch;

    /// <summary>What computes the tensors: ONNX Runtime (default) or QuantGen's own float reference.</summary>
    public CalibrationEngine Engine { get; init; } = CalibrationEngine.OnnxRuntime;
    public CalibrationMethod Method { get; init; } = Calibrator.DefaultMethod;

    /// <summary>The percentile of |x| for <see cref="CalibrationMethod.Percentile"/>, in (0, 100].</summary>
    public double Percentile { get; init; } = DefaultPercentile;

    /// <summary>Use the first N samples; null for all.</summary>
    public long? Samples { get; init; }

    /// <summary>What uint8 data is divided by; null when not given.</summary>
    public float? Scale { get; init; }

    /// <summary>Where to write; null for the model's path with .calib.json instead of .onnx.</summary>
    public string? Output { get; init; }

    /// <summary>"name=size" entries for named free input dimensions (--dim, repeatable): the attribute's Dimensions.</summary>
    public IReadOnlyList<string> Dimensions { get; init; } = Array.Empty<string>();

    public string OutputPath => Output ?? CalibrationFile.DefaultPathFor(Model);

    /// <summary>Whether the arguments ask for the command's help (-h, --help or -? before any "--").</summary>
    public static bool AsksForHelp(IReadOnlyList<string> args)
    {
        foreach (string arg in args)
        {
            if (arg == "--") return false;
            if (arg is "-h" or "--help" or "-?") return true;
        }
        return false;
    }

    /// <exception cref="CliException">Exit code 2: an unknown option, a missing or bad value, a missing model or --data.</exception>
    public static CalibrateOptions Parse(IReadOnlyList<string> args)
    {
        var parsed = CommandArguments.Parse(args, "calibrate",
            new[] { "--data", "--method", "--percentile", "--samples", "--batch", "--engine", "--scale", "--output", "--dim" },
            new Dictionary<string, string> { ["-o"] = "--output" },
            "calibrate needs the model: quantgen calibrate MODEL.onnx --data X.npy", Usage,
            repeatable: new[] { "--data", "--dim" });
        var values = parsed.Values;
        string model = parsed.Model;
        if (!values.TryGetValue("--data", out string? data))
            throw Usage("calibrate needs --data X.npy: representative inputs, first axis = sample");
        var allData = parsed.All("--data");
        if (allData.Any(d => d.Length == 0))
            throw Usage("--data needs a path");

        var options = new CalibrateOptions { Model = model, Data = data, Dimensions = parsed.All("--dim") };
        if (allData.Count > 1)
            options = options with { MoreData = allData.Skip(1).ToArray() };
        if (values.TryGetValue("--method", out string? methodName))
        {
            if (!CalibrationNames.TryParseMethod(methodName.ToLowerInvariant(), out var method))
                throw Usage($"--method '{methodName}' is not a calibration method: use {CalibrationNames.AllMethods}");
            options = options with { Method = method };
        }
        if (values.TryGetValue("--percentile", out string? percentileText))
        {
            if (options.Method != CalibrationMethod.Percentile)
                throw Usage("--percentile applies to --method percentile");
            if (!double.TryParse(percentileText, NumberStyles.Float, CultureInfo.InvariantCulture, out double percentile) || !(percentile > 0 && percentile <= 100))
                throw Usage($"--percentile '{percentileText}' must be a number in (0, 100], e.g. 99.99");
            options = options with { Percentile = percentile };
        }
        if (values.TryGetValue("--samples", out string? samplesText))
        {
            if (!long.TryParse(samplesText, NumberStyles.None, CultureInfo.InvariantCulture, out long samples) || samples < 1)
                throw Usage($"--samples '{samplesText}' must be a whole number of at least 1");
            options = options with { Samples = samples };
        }
        if (values.TryGetValue("--batch", out string? batchText))
        {
            if (!int.TryParse(batchText, NumberStyles.None, CultureInfo.InvariantCulture, out int batch) || batch < 1 || batch > 65536)
                throw Usage($"--batch '{batchText}' must be a whole number from 1 to 65536");
            options = options with { Batch = batch };
        }
        if (values.TryGetValue("--engine", out string? engineText))
        {
            options = options with
            {
                Engine = engineText.ToLowerInvariant() switch
                {
                    "onnxruntime" or "ort" => CalibrationEngine.OnnxRuntime,
                    "reference" => CalibrationEngine.Reference,
                    _ => throw Usage($"--engine '{engineText}' is not an engine: use onnxruntime or reference"),
                },
            };
        }
        if (values.TryGetValue("--scale", out string? scaleText))
        {
            if (!double.TryParse(scaleText, NumberStyles.Float, CultureInfo.InvariantCulture, out double scale)
                || !(scale > 0) || !float.IsFinite((float)scale) || (float)scale == 0)
                throw Usage($"--scale '{scaleText}' must be a positive number, e.g. 255");
            options = options with { Scale = (float)scale };
        }
        if (values.TryGetValue("--output", out string? output))
        {
            if (output.Length == 0)
                throw Usage("--output needs a path");
            options = options with { Output = output };
        }
        return options;
    }

    private static CliException Usage(string message) => CliException.Usage(message, HelpHint);
}

/// <summary>What computes the tensor values a calibration records.</summary>
internal enum CalibrationEngine
{
    /// <summary>The FP32 model in ONNX Runtime, in batches (the default).</summary>
    OnnxRuntime,

    /// <summary>QuantGen's own float reference on the optimized graph, one sample at a time.</summary>
    Reference,
}
