using System;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using DiffPlex.Renderer;

namespace QuantGen.Testing;

/// <summary>
/// Approved-file snapshots in Verify's convention (Verify itself cannot be restored here): the approved text lives in
/// <c>Snapshots/&lt;Name&gt;.verified.cs</c> beside the calling test's source file. On a mismatch the new text is
/// written to <c>&lt;Name&gt;.received.cs</c> beside it and the test fails with a unified diff; approving is renaming
/// the received file over the verified one.
/// </summary>
public static class SnapshotAssert
{
    /// <summary>Diff lines shown in a failure message; the received file has the rest.</summary>
    private const int MaxDiffLines = 200;

    /// <param name="name">The snapshot's name: letters, digits, '.', '-' and '_'.</param>
    /// <param name="actual">The text to compare; line endings are normalized to '\n'.</param>
    /// <param name="extension">The snapshot files' extension, ".cs" for generated C#.</param>
    /// <param name="callerFilePath">Filled in by the compiler: the calling test's source file.</param>
    public static void Matches(string name, string actual, string extension = ".cs", [CallerFilePath] string callerFilePath = "")
    {
        if (name.Length == 0 || name.Any(c => !(char.IsLetterOrDigit(c) || c is '.' or '-' or '_')))
            throw new ArgumentException($"Snapshot name '{name}' must be letters, digits, '.', '-' and '_'.", nameof(name));
        if (string.IsNullOrEmpty(callerFilePath) || !File.Exists(callerFilePath))
            throw new InvalidOperationException($"The test's source file '{callerFilePath}' is not on this machine, so the snapshot folder beside it cannot be found.");

        string folder = Path.Combine(Path.GetDirectoryName(callerFilePath)!, "Snapshots");
        string verified = Path.Combine(folder, name + ".verified" + extension);
        string received = Path.Combine(folder, name + ".received" + extension);
        string text = Normalize(actual);

        if (File.Exists(verified))
        {
            string approved = Normalize(File.ReadAllText(verified));
            if (approved == text)
            {
                if (File.Exists(received))
                    File.Delete(received); // an earlier failure's leftover
                return;
            }
            Directory.CreateDirectory(folder);
            File.WriteAllText(received, text);
            string diff = new UnidiffRenderer(contextLines: 3).Generate(approved, text, Relative(verified), Relative(received), ignoreWhitespace: false, ignoreCase: false);
            var lines = diff.Replace("\r\n", "\n").Split('\n');
            string shown = string.Join("\n", lines.Take(MaxDiffLines)) + (lines.Length > MaxDiffLines ? $"\n... {lines.Length - MaxDiffLines} more diff lines; see the received file." : "");
            throw new SnapshotMismatchException(
                $"Snapshot '{name}' differs from the approved {Relative(verified)}.\n" +
                $"The new text is in {received}.\n" +
                $"If the change is intended, approve it: mv \"{received}\" \"{verified}\"\n\n" + shown);
        }

        Directory.CreateDirectory(folder);
        File.WriteAllText(received, text);
        throw new SnapshotMismatchException(
            $"Snapshot '{name}' has no approved file yet ({verified}).\n" +
            $"The text was written to {received}: read it, and if it is right approve it by renaming it:\n" +
            $"  mv \"{received}\" \"{verified}\"\n" +
            "then commit the .verified file.");
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n");

    private static string Relative(string path)
    {
        try
        {
            return Path.GetRelativePath(ModelFiles.RepoRoot, path).Replace('\\', '/');
        }
        catch (InvalidOperationException)
        {
            return path;
        }
    }
}

/// <summary>A snapshot that differs from its approved file, or has none.</summary>
public sealed class SnapshotMismatchException : Exception
{
    public SnapshotMismatchException(string message)
        : base(message)
    {
    }
}
