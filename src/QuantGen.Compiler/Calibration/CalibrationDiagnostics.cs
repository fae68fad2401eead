using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Diagnostics;

namespace QuantGen.Compiler.Calibration;

/// <summary>
/// Builds the calibration diagnostics of <see cref="DiagnosticCatalog"/> with their arguments shaped the same way
/// everywhere (hashes shortened to 12 hex digits, at most 5 tensor names).
/// </summary>
public static class CalibrationDiagnostics
{
    /// <summary>Tensor names listed by QG0020 before "and N more".</summary>
    public const int MaxNamesListed = 5;

    /// <summary>QG0018: the file's model hash is not the model's; the build ignores the file.</summary>
    public static ModelDiagnostic ForAnotherModel(string calibrationPath, string calibrationSha256, string modelPath, string modelSha256) =>
        DiagnosticCatalog.CalibrationForAnotherModel.Create(calibrationPath, ModelHash.Short(calibrationSha256), modelPath, ModelHash.Short(modelSha256));

    /// <summary>QG0019: the file is not valid JSON or not a valid calibration file; the message gives the line and column.</summary>
    public static ModelDiagnostic Unreadable(string calibrationPath, string modelPath, FormatException error) =>
        DiagnosticCatalog.UnreadableCalibration.Create(calibrationPath, error.Message.TrimEnd('.'), modelPath);

    /// <summary>QG0020: tensors the quantizer needs that the file has no statistics for.</summary>
    public static ModelDiagnostic MissingStatistics(string calibrationPath, string modelPath, IEnumerable<string> nodeNames)
    {
        var names = nodeNames.ToList();
        string listed = string.Join(", ", names.Take(MaxNamesListed).Select(n => "'" + n + "'"))
            + (names.Count > MaxNamesListed ? $" and {names.Count - MaxNamesListed} more" : "");
        return DiagnosticCatalog.MissingCalibrationStatistics.Create(calibrationPath, names.Count, listed, modelPath);
    }

    /// <summary>The names among <paramref name="needed"/> that <paramref name="file"/> has no statistics for, in the order given.</summary>
    public static IReadOnlyList<string> MissingTensors(CalibrationFile file, IEnumerable<string> needed) =>
        needed.Where(n => !file.Tensors.ContainsKey(n)).ToList();
}
