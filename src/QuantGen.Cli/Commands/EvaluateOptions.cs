using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using QuantGen.Compiler.Calibration;

namespace QuantGen.Cli.Commands;

/// <summary>The arguments of <c>quantgen evaluate</c> (grammar: <see cref="CommandArguments"/>).</summary>
internal sealed record EvaluateOptions
{
    private const string HelpHint = "quantgen evaluate --help";

    public required string Model { get; init; }

    /// <summary>Every --data, in command-line order: one .npy per model input (PATH or NAME=PATH; see <see cref="Data.InputFiles"/>).</summary>
    public required IReadOnlyList<string> Data { get; init; }

    /// <summary>"name=size" entries for named free input dimensions (--dim, repeatable): the attribute's Dimensions.</summary>
    public IReadOnlyList<string> Dimensions { get; init; } = Array.Empty<string>();

    /// <summary>Class labels, one per sample; null to compare INT8 with FP32 only.</summary>
    public string? Labels { get; init; }

    /// <summary>The calibration file given; null for the build's default (<see cref="CalibrationPath"/>).</summary>
    public string? Calibration { get; init; }

    /// <summary>Node names to keep in float, as the attribute's KeepFloat takes them.</summary>
    public IReadOnlyList<string> KeepFloat { get; init; } = Array.Empty<string>();

    /// <summary>The top-1 drop allowed, in points, for the KeepFloat search; null for no search.</summary>
    public double? Budget { get; init; }

    /// <summary>Use the first N samples; null for all.</summary>
    public long? Samples { get; init; }

    /// <summary>What uint8 data is divided by; null when not given.</summary>
    public float? Scale { get; init; }

    /// <summary>Where to draw per-layer SQNR (.svg or .png); null for no plot.</summary>
    public string? Plot { get; init; }

    /// <summary>The calibration file used: the one given, else the model's path with .calib.json (the build's default).</summary>
    public string CalibrationPath => Calibration ?? CalibrationFile.DefaultPathFor(Model);

    /// <exception cref="CliException">Exit code 2: an unknown option, a missing or bad value, a missing model or --data.</exception>
    public static EvaluateOptions Parse(IReadOnlyList<string> args)
    {
        var parsed = CommandArguments.Parse(args, "evaluate",
            new[] { "--data", "--labels", "--calibration", "--keep-float", "--budget", "--samples", "--scale", "--plot", "--dim" },
            new Dictionary<string, string>(),
            "evaluate needs the model: quantgen evaluate MODEL.onnx --data X.npy [--labels Y.npy]", Usage,
            repeatable: new[] { "--data", "--dim" });
        var values = parsed.Values;
        if (!values.ContainsKey("--data"))
            throw Usage("evaluate needs --data X.npy: test inputs, first axis = sample");
        var options = new EvaluateOptions
        {
            Model = parsed.Model,
            Data = parsed.All("--data").Select(d => NonEmpty(d, "--data")).ToList(),
            Dimensions = parsed.All("--dim"),
        };

        if (values.TryGetValue("--labels", out string? labels))
            options = options with { Labels = NonEmpty(labels, "--labels") };
        if (values.TryGetValue("--calibration", out string? calibration))
            options = options with { Calibration = NonEmpty(calibration, "--calibration") };
        if (values.TryGetValue("--keep-float", out string? keep))
        {
            // Node names may hold spaces and slashes ("/features/0/Conv") but not commas in practice; empty items are typos.
            var names = keep.Split(',').Select(n => n.Trim()).ToList();
            if (names.Any(n => n.Length == 0))
                throw Usage($"--keep-float '{keep}' has an empty name: list node names separated by commas, e.g. /fc/Gemm,/conv1/Conv");
            if (names.Distinct(StringComparer.Ordinal).Count() != names.Count)
                throw Usage($"--keep-float '{keep}' names a node twice");
            options = options with { KeepFloat = names };
        }
        if (values.TryGetValue("--budget", out string? budgetText))
        {
            if (!double.TryParse(budgetText, NumberStyles.Float, CultureInfo.InvariantCulture, out double budget) || !(budget >= 0) || !double.IsFinite(budget) || budget > 100)
                throw Usage($"--budget '{budgetText}' must be the top-1 points INT8 may lose, a number in [0, 100], e.g. 0.5");
            options = options with { Budget = budget };
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
        if (values.TryGetValue("--plot", out string? plot))
        {
            string extension = Path.GetExtension(NonEmpty(plot, "--plot")).ToLowerInvariant();
            if (extension is not (".svg" or ".png"))
                throw Usage($"--plot '{plot}' must end in .svg or .png (the format follows the extension)");
            options = options with { Plot = plot };
        }
        return options;
    }

    private static string NonEmpty(string value, string option) =>
        value.Length > 0 ? value : throw Usage($"{option} needs a path");

    private static CliException Usage(string message) => CliException.Usage(message, HelpHint);
}
