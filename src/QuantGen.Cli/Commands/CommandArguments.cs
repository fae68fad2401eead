using System;
using System.Collections.Generic;

namespace QuantGen.Cli.Commands;

/// <summary>
/// The argument grammar every command shares: one positional (the model), options as <c>--name value</c> or
/// <c>--name=value</c>, each at most once, <c>--</c> ending the options. Errors are usage errors (exit code 2).
/// </summary>
internal sealed class CommandArguments
{
    private CommandArguments(string model, Dictionary<string, string> values, Dictionary<string, List<string>> repeated)
    {
        Model = model;
        Values = values;
        _repeated = repeated;
    }

    private readonly Dictionary<string, List<string>> _repeated;

    public string Model { get; }

    /// <summary>Option values by canonical name (aliases resolved).</summary>
    public IReadOnlyDictionary<string, string> Values { get; }

    /// <summary>Every value of an option, in command-line order (several only for the command's repeatable options).</summary>
    public IReadOnlyList<string> All(string name) =>
        _repeated.TryGetValue(name, out var list) ? list : Values.TryGetValue(name, out var one) ? new[] { one } : Array.Empty<string>();

    /// <param name="command">The command's name, for messages ("calibrate").</param>
    /// <param name="options">The options the command takes, by canonical name ("--data").</param>
    /// <param name="aliases">Short names and what they stand for ("-o" → "--output").</param>
    /// <param name="missingModel">The message when no model is given.</param>
    /// <param name="usage">Makes the usage error, with the command's help hint.</param>
    /// <param name="repeatable">Options that may be given more than once (calibrate's --data, one per model input); the rest may not.</param>
    public static CommandArguments Parse(IReadOnlyList<string> args, string command, ICollection<string> options,
        IReadOnlyDictionary<string, string> aliases, string missingModel, Func<string, CliException> usage,
        ICollection<string>? repeatable = null)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var repeated = new Dictionary<string, List<string>>(StringComparer.Ordinal);
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
            name = aliases.TryGetValue(name, out var canonical) ? canonical : name;
            if (!options.Contains(name))
                throw usage($"unknown option '{(equals > 0 ? arg.Substring(0, equals) : arg)}' for {command}");
            if (equals > 0 && arg.StartsWith("--", StringComparison.Ordinal))
            {
                value = arg.Substring(equals + 1);
            }
            else
            {
                if (i + 1 >= args.Count)
                    throw usage($"{name} needs a value");
                value = args[++i];
            }
            if (repeatable != null && repeatable.Contains(name))
            {
                values.TryAdd(name, value);
                if (!repeated.TryGetValue(name, out var list))
                    repeated.Add(name, list = new List<string>());
                list.Add(value);
            }
            else if (!values.TryAdd(name, value))
            {
                throw usage($"{name} is given twice");
            }
        }

        if (positionals.Count == 0)
            throw usage(missingModel);
        if (positionals.Count > 1)
            throw usage($"unexpected argument '{positionals[1]}': {command} takes one model");
        if (positionals[0].Length == 0)
            throw usage("the model path is empty");
        return new CommandArguments(positionals[0], values, repeated);
    }
}
