using System;
using System.Collections.Generic;

namespace QuantGen.Cli;

/// <summary>
/// An error the user can act on: printed as one line, "quantgen: MESSAGE", then <see cref="Details"/> (indented, e.g.
/// a model's QG diagnostics), to stderr; the process exits with <see cref="ExitCode"/> (see <see cref="ExitCodes"/>).
/// </summary>
internal sealed class CliException : Exception
{
    public CliException(int exitCode, string message, IReadOnlyList<string>? details = null, Exception? inner = null)
        : base(message, inner)
    {
        ExitCode = exitCode;
        Details = details ?? Array.Empty<string>();
    }

    public int ExitCode { get; }

    public IReadOnlyList<string> Details { get; }

    /// <summary>Usage errors end with a pointer to the command's help.</summary>
    public string? HelpHint { get; init; }

    public static CliException Usage(string message, string helpHint = "quantgen --help") =>
        new(ExitCodes.Usage, message) { HelpHint = helpHint };
}
