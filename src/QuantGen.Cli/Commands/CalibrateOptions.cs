using System;
using System.Collections.Generic;
using System.Globalization;
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

    public required string Model { get; init; }
    public required string Data { get; init; }
    public CalibrationMethod Method { get; init; } = CalibrationMethod.MinMax;

    /// <summary>The percentile of |x| for <see cref="CalibrationMethod.Percentile"/>, in (0, 100].</summary>
    public double Percentile { get; init; } = DefaultPercentile;

    /// <summary>Use the first N samples; null for all.</summary>
    public long? Samples { get; init; }

    /// <summary>What uint8 data is divided by; null when not given.</summary>
    public float? Scale { get; init; }

    /// <summary>Where to write; null for the model's path with .calib.json instead of .onnx.</summary>
    public string? Output { get; init; }

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
            new[] { "--data", "--method", "--percentile", "--samples", "--scale", "--output" },
            new Dictionary<string, string> { ["-o"] = "--output" },
            "calibrate needs the model: quantgen calibrate MODEL.onnx --data X.npy", Usage);
        var values = parsed.Values;
        string model = parsed.Model;
        if (!values.TryGetValue("--data", out string? data))
            throw Usage("calibrate needs --data X.npy: representative inputs, first axis = sample");
        if (data.Length == 0)
            throw Usage("--data needs a path");

        var options = new CalibrateOptions { Model = model, Data = data };
        if (values.TryGetValue("--method", out string? methodName))
        {
            if (!CalibrationNames.TryParseMethod(methodName.ToLowerInvariant(), out var method))
                throw Usage($"--method '{methodName}' is not a calibration method: use minmax or percentile (entropy and mse come later)");
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
