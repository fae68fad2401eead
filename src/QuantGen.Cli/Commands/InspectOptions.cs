using System;
using System.Collections.Generic;

namespace QuantGen.Cli.Commands;

/// <summary>
/// The arguments of <c>quantgen inspect</c>, parsed like calibrate's: one positional (the model), options as
/// <c>--name value</c> or <c>--name=value</c>, each at most once, <c>--</c> ending the options.
/// </summary>
internal sealed record InspectOptions
{
    private const string HelpHint = "quantgen inspect --help";

    public required string Model { get; init; }

    /// <summary>The calibration file for the INT8 figures; null for dynamic quantization.</summary>
    public string? Calibration { get; init; }

    /// <summary>"name=size" entries for named free input dimensions (--dim, repeatable): the attribute's Dimensions.</summary>
    public IReadOnlyList<string> Dimensions { get; init; } = Array.Empty<string>();

    /// <exception cref="CliException">Exit code 2: an unknown option, a missing or bad value, a missing model.</exception>
    public static InspectOptions Parse(IReadOnlyList<string> args)
    {
        var parsed = CommandArguments.Parse(args, "inspect", new[] { "--calibration", "--dim" }, new Dictionary<string, string>(),
            "inspect needs the model: quantgen inspect MODEL.onnx", Usage, repeatable: new[] { "--dim" });
        var values = parsed.Values;
        string model = parsed.Model;
        // Entries are checked against the model (QG0027/QG0028, exit code 5) as the build checks them.
        var options = new InspectOptions { Model = model, Dimensions = parsed.All("--dim") };
        if (values.TryGetValue("--calibration", out string? calibration))
        {
            if (calibration.Length == 0)
                throw Usage("--calibration needs a path");
            options = options with { Calibration = calibration };
        }
        return options;
    }

    private static CliException Usage(string message) => CliException.Usage(message, HelpHint);
}
