using System;
using System.Collections.Generic;
using System.IO;

namespace QuantGen.Conformance;

/// <summary>
/// known-failures.txt: one node test per line, its name then the missing feature that makes it fail.
/// '#' starts a comment. A listed test that passes is an error too (the entry is stale).
/// </summary>
internal static class KnownFailures
{
    public static string FilePath => Path.Combine(AppContext.BaseDirectory, "known-failures.txt");

    public static IReadOnlyDictionary<string, string> Load() => Parse(File.ReadAllLines(FilePath));

    public static IReadOnlyDictionary<string, string> Parse(IEnumerable<string> lines)
    {
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        int number = 0;
        foreach (var raw in lines)
        {
            number++;
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith("#", StringComparison.Ordinal)) continue;
            int space = line.IndexOfAny(new[] { ' ', '\t' });
            if (space < 0)
                throw new FormatException($"known-failures.txt line {number}: '{line}' gives no reason");
            string name = line.Substring(0, space), reason = line.Substring(space).Trim();
            if (!entries.TryAdd(name, reason))
                throw new FormatException($"known-failures.txt line {number}: '{name}' is listed twice");
        }
        return entries;
    }
}
