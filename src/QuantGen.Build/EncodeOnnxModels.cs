using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using QuantGen.Compiler.Transport;

namespace QuantGen.Build;

/// <summary>
/// Writes each ONNX model, with the external-data files it refers to, as a <c>.qgm</c> text file
/// (<see cref="ModelTextFormat"/>) that the build targets hand to the generator instead of the binary
/// .onnx file, which the compiler would refuse (CS2015).
/// </summary>
/// <remarks>
/// Each item of <see cref="Models"/> is an .onnx file with this metadata:
/// <list type="bullet">
/// <item><c>QuantGenModelPath</c>: the path [OnnxModel] is matched against (relative to the project, '/' separators).</item>
/// <item><c>QuantGenOutputFile</c>: the .qgm file to write.</item>
/// <item><c>QuantGenDependencyFile</c> (optional): where to list the external-data files read, one full
/// path a line, so the targets can add them to their Inputs; deleted when the model has none.</item>
/// </list>
/// A file is written only when its content changes: an unchanged .qgm keeps its timestamp, so the
/// compiler (whose inputs include the AdditionalFiles) is not run again for nothing.
/// </remarks>
public sealed class EncodeOnnxModels : Task
{
    public const string ModelPathMetadata = "QuantGenModelPath";
    public const string OutputFileMetadata = "QuantGenOutputFile";
    public const string DependencyFileMetadata = "QuantGenDependencyFile";

    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    [Required]
    public ITaskItem[] Models { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>The .qgm files whose content changed and were (re)written.</summary>
    [Output]
    public ITaskItem[] WrittenFiles { get; private set; } = Array.Empty<ITaskItem>();

    public override bool Execute()
    {
        var written = new List<ITaskItem>();
        foreach (ITaskItem model in Models)
        {
            try
            {
                if (Encode(model))
                    written.Add(new TaskItem(model.GetMetadata(OutputFileMetadata)));
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is NotSupportedException || e is ArgumentException)
            {
                Log.LogError(null, "QG1001", null, model.ItemSpec, 0, 0, 0, 0,
                    "QuantGen could not encode the model '{0}' for the generator: {1}", model.ItemSpec, e.Message);
            }
        }
        WrittenFiles = written.ToArray();
        return !Log.HasLoggedErrors;
    }

    private bool Encode(ITaskItem model)
    {
        string outputFile = model.GetMetadata(OutputFileMetadata);
        if (outputFile.Length == 0)
        {
            Log.LogError(null, "QG1002", null, model.ItemSpec, 0, 0, 0, 0,
                "The model item '{0}' has no {1} metadata (the QuantGen build targets set it).", model.ItemSpec, OutputFileMetadata);
            return false;
        }

        string fullPath = Path.GetFullPath(model.ItemSpec);
        string modelPath = model.GetMetadata(ModelPathMetadata);
        if (modelPath.Length == 0) modelPath = model.ItemSpec.Replace('\\', '/');

        byte[] bytes = File.ReadAllBytes(fullPath);
        var externalFiles = new List<KeyValuePair<string, byte[]>>();
        var externalPaths = new List<string>();
        string modelDirectory = Path.GetDirectoryName(fullPath)!;
        foreach (string location in ExternalDataScanner.FindLocations(bytes))
        {
            // Files that are missing or outside the model's folder are left out on purpose:
            // the generator then reports the tensor (QG0009) with the reason.
            if (ExternalDataPath.TryResolve(modelDirectory, location, out string externalPath) && File.Exists(externalPath))
            {
                externalFiles.Add(new KeyValuePair<string, byte[]>(ExternalDataPath.Key(location), File.ReadAllBytes(externalPath)));
                externalPaths.Add(externalPath);
            }
            else
            {
                Log.LogMessage(MessageImportance.Low, "QuantGen: external data '{0}' of '{1}' is missing or outside the model's folder; not included.", location, model.ItemSpec);
            }
        }

        string text = ModelTextFormat.Write(new ModelTextFormat.Payload(modelPath, fullPath, bytes, externalFiles));
        bool changed = WriteIfChanged(outputFile, Utf8NoBom.GetBytes(text));
        Log.LogMessage(changed ? MessageImportance.Normal : MessageImportance.Low,
            changed ? "QuantGen: encoded '{0}' -> '{1}'" : "QuantGen: '{1}' is up to date with '{0}'", model.ItemSpec, outputFile);

        string dependencyFile = model.GetMetadata(DependencyFileMetadata);
        if (dependencyFile.Length > 0)
        {
            if (externalPaths.Count > 0)
                WriteIfChanged(dependencyFile, Utf8NoBom.GetBytes(string.Join("\n", externalPaths) + "\n"));
            else if (File.Exists(dependencyFile))
                File.Delete(dependencyFile);
        }
        return changed;
    }

    /// <summary>Writes <paramref name="content"/> unless the file already holds exactly that; true when written.</summary>
    internal static bool WriteIfChanged(string path, byte[] content)
    {
        var existing = new FileInfo(path);
        if (existing.Exists && existing.Length == content.Length && SameBytes(File.ReadAllBytes(path), content))
            return false;

        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);

        // Write beside the target and move it into place, so an interrupted build never leaves a
        // truncated file that looks newer than its model.
        string temporary = path + ".tmp";
        File.WriteAllBytes(temporary, content);
        if (File.Exists(path)) File.Replace(temporary, path, null);
        else File.Move(temporary, path);
        return true;
    }

    private static bool SameBytes(byte[] a, byte[] b)
    {
        if (a.Length != b.Length) return false;
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] != b[i]) return false;
        }
        return true;
    }
}
