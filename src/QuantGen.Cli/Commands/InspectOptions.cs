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

    /// <exception cref="CliException">Exit code 2: an unknown option, a missing or bad value, a missing model.</exception>
    public static InspectOptions Parse(IReadOnlyList<string> args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var positionals = new List<string>();
        bool optionsEnded = false;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (optionsEnded || arg.Length < 2 || arg[0] != '-')
            {
                positionals.Add(arg);
                continue;
            }
            if (arg == "--")
            {
                optionsEnded = true;
                continue;
            }

            string name = arg, value;
            int equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && equals > 0)
                name = arg.Substring(0, equals);
            if (name is not "--calibration")
                throw Usage($"unknown option '{(equals > 0 ? arg.Substring(0, equals) : arg)}' for inspect");
            if (equals > 0 && arg.StartsWith("--", StringComparison.Ordinal))
            {
                value = arg.Substring(equals + 1);
            }
            else
            {
                if (i + 1 >= args.Count)
                    throw Usage($"{name} needs a value");
                value = args[++i];
            }
            if (!values.TryAdd(name, value))
                throw Usage($"{name} is given twice");
        }

        if (positionals.Count == 0)
            throw Usage("inspect needs the model: quantgen inspect MODEL.onnx");
        if (positionals.Count > 1)
            throw Usage($"unexpected argument '{positionals[1]}': inspect takes one model");
        string model = positionals[0];
        if (model.Length == 0)
            throw Usage("the model path is empty");
        var options = new InspectOptions { Model = model };
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
