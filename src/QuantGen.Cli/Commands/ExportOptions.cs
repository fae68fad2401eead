using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace QuantGen.Cli.Commands;

/// <summary>
/// The arguments of <c>quantgen export</c>, parsed like the other commands': one positional (the model), options as
/// <c>--name value</c> or <c>--name=value</c>, each at most once, <c>--</c> ending the options.
/// </summary>
internal sealed record ExportOptions
{
    private const string HelpHint = "quantgen export --help";

    public required string Model { get; init; }

    /// <summary>The calibration file; null for the build's default (the model's path with .calib.json).</summary>
    public string? Calibration { get; init; }

    /// <summary>Where to write; null for the model's path with .int8.onnx instead of .onnx.</summary>
    public string? Output { get; init; }

    /// <summary>Node names to keep in float, as the attribute's KeepFloat lists them.</summary>
    public IReadOnlyList<string> KeepFloat { get; init; } = Array.Empty<string>();

    /// <summary>"name=size" entries for named free input dimensions (--dim, repeatable): the attribute's Dimensions.</summary>
    public IReadOnlyList<string> Dimensions { get; init; } = Array.Empty<string>();

    public string OutputPath => Output ?? DefaultOutputFor(Model);

    /// <summary>models/fashion.onnx → models/fashion.int8.onnx (any other extension is replaced the same way).</summary>
    public static string DefaultOutputFor(string model)
    {
        string withoutExtension = model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)
            ? model.Substring(0, model.Length - ".onnx".Length)
            : Path.ChangeExtension(model, null);
        return withoutExtension + ".int8.onnx";
    }

    /// <exception cref="CliException">Exit code 2: an unknown option, a missing or bad value, a missing model, an output that is the model.</exception>
    public static ExportOptions Parse(IReadOnlyList<string> args)
    {
        var parsed = CommandArguments.Parse(args, "export", new[] { "--calibration", "--output", "--keep-float", "--dim" },
            new Dictionary<string, string> { ["-o"] = "--output", ["-c"] = "--calibration" },
            "export needs the model: quantgen export MODEL.onnx --calibration MODEL.calib.json", Usage, repeatable: new[] { "--dim" });
        var values = parsed.Values;
        var options = new ExportOptions { Model = parsed.Model, Dimensions = parsed.All("--dim") };
        if (values.TryGetValue("--calibration", out string? calibration))
        {
            if (calibration.Length == 0)
                throw Usage("--calibration needs a path");
            options = options with { Calibration = calibration };
        }
        if (values.TryGetValue("--output", out string? output))
        {
            if (output.Length == 0)
                throw Usage("--output needs a path");
            options = options with { Output = output };
        }
        if (values.TryGetValue("--keep-float", out string? keepFloat))
        {
            var names = keepFloat.Split(',').Select(n => n.Trim()).ToList();
            if (names.Any(n => n.Length == 0))
                throw Usage($"--keep-float '{keepFloat}' must be node names separated by commas, e.g. --keep-float /fc/Gemm,/conv1/Conv");
            options = options with { KeepFloat = names };
        }
        // Overwriting the model would also orphan its calibration file (which records the model's hash).
        if (string.Equals(Path.GetFullPath(options.OutputPath), Path.GetFullPath(options.Model), StringComparison.Ordinal))
            throw Usage($"--output {options.OutputPath} is the model itself: write the QDQ model to another file");
        return options;
    }

    private static CliException Usage(string message) => CliException.Usage(message, HelpHint);
}
