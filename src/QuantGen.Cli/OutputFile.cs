using System;
using System.Globalization;
using System.IO;

namespace QuantGen.Cli;

/// <summary>Writes a command's output file through a temporary file beside it, so a failure never leaves half a file.</summary>
internal static class OutputFile
{
    /// <exception cref="CliException">Exit code 1 (see <see cref="ExitCodes.Unexpected"/>): the file or its folder cannot be written.</exception>
    public static void Write(string path, byte[] bytes)
    {
        string? temporary = null;
        try
        {
            string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
            if (!string.IsNullOrEmpty(folder))
                Directory.CreateDirectory(folder);
            if (Directory.Exists(path))
                throw new IOException("it is a directory");
            temporary = path + ".tmp" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
            File.WriteAllBytes(temporary, bytes);
            File.Move(temporary, path, overwrite: true);
            temporary = null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Unexpected, $"cannot write {path}: {e.Message}");
        }
        finally
        {
            if (temporary != null)
            {
                try
                {
                    File.Delete(temporary);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The error above is the one to report.
                }
            }
        }
    }

    public static void Write(string path, string text) => Write(path, new System.Text.UTF8Encoding(false).GetBytes(text));
}
