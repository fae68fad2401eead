using System;
using System.IO;
using System.Reflection;

namespace QuantGen.Cli;

/// <summary>Entry point of the <c>quantgen</c> tool.</summary>
public static class Program
{
    private const string Usage =
        """
        quantgen: tools for QuantGen, which compiles ONNX models into C# at build time.

        Usage:
          quantgen --version    Print the version.
          quantgen --help       Print this help.

        The model commands (calibrate, evaluate, inspect) are not in this version yet;
        they come in a later release. To compile a model, add the QuantGen package to
        your project: the compilation itself happens in the build, not in this tool.
        """;

    public static int Main(string[] args)
    {
        if (args.Length == 1 && args[0] is "--version")
        {
            Console.Out.WriteLine(Version);
            return 0;
        }

        if (args.Length == 1 && args[0] is "--help" or "-h" or "-?")
        {
            Console.Out.WriteLine(Usage);
            return 0;
        }

        TextWriter error = Console.Error;
        if (args.Length > 0)
            error.WriteLine($"quantgen: unknown command or option '{args[0]}'.");
        error.WriteLine(Usage);
        return 2;
    }

    /// <summary>The package version, without the source-revision suffix ("0.1.0", not "0.1.0+3f2a...").</summary>
    private static string Version
    {
        get
        {
            string? informational = typeof(Program).Assembly
                .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
            if (string.IsNullOrEmpty(informational))
                return typeof(Program).Assembly.GetName().Version?.ToString(3) ?? "unknown";
            int plus = informational.IndexOf('+', StringComparison.Ordinal);
            return plus < 0 ? informational : informational[..plus];
        }
    }
}
