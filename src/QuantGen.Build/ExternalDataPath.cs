using System;
using System.IO;

namespace QuantGen.Build;

/// <summary>
/// Where a tensor's external-data <c>location</c> points, accepted only inside the model's own folder:
/// a model is data, and data must not make the build read (and embed) arbitrary files such as
/// <c>/etc/passwd</c> or <c>../../secrets</c>.
/// </summary>
internal static class ExternalDataPath
{
    /// <summary>The name a file is carried under in the .qgm: the location as written in the model, with '/' separators.</summary>
    public static string Key(string location) => location.Replace('\\', '/');

    /// <summary>
    /// Resolves <paramref name="location"/> against <paramref name="modelDirectory"/>; false for rooted paths,
    /// any '..' segment, characters the transport format cannot carry, or anything that resolves outside the folder.
    /// </summary>
    public static bool TryResolve(string modelDirectory, string location, out string fullPath)
    {
        fullPath = "";
        if (string.IsNullOrWhiteSpace(location)) return false;
        foreach (char c in location)
        {
            if (char.IsControl(c)) return false;
        }

        string relative = Key(location);
        if (relative.StartsWith("/", StringComparison.Ordinal) || Path.IsPathRooted(location) || HasDriveLetter(relative))
            return false;

        string[] segments = relative.Split(new[] { '/' }, StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length == 0) return false;
        foreach (string segment in segments)
        {
            if (segment == "..") return false;
            if (segment.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0) return false;
        }

        string root = Path.GetFullPath(modelDirectory).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar) + Path.DirectorySeparatorChar;
        string candidate = Path.GetFullPath(Path.Combine(root, string.Join(Path.DirectorySeparatorChar.ToString(), segments)));
        if (!candidate.StartsWith(root, StringComparison.Ordinal) || candidate.Length == root.Length) return false;
        fullPath = candidate;
        return true;
    }

    private static bool HasDriveLetter(string path) =>
        path.Length >= 2 && path[1] == ':' && ((path[0] >= 'a' && path[0] <= 'z') || (path[0] >= 'A' && path[0] <= 'Z'));
}
