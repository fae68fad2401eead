using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using QuantGen.Compiler;
using QuantGen.Compiler.Emit;
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
/// <item><c>QuantGenWeights</c> (optional): <c>Auto</c> (default: a resource when the model and its external data
/// pass <see cref="WeightsResourceThreshold"/> bytes), <c>Resource</c> or <c>Literals</c>.</item>
/// <item><c>QuantGenWeightsFile</c>, <c>QuantGenWeightsManifest</c>: where the resource's bytes and the manifest the
/// generator reads go when the weights take the resource path (both deleted otherwise).</item>
/// <item><c>QuantGenPrecision</c>, <c>QuantGenKeepFloat</c>, <c>QuantGenCalibration</c>, <c>QuantGenDimensions</c> (optional):
/// the options the weights are compiled with on the resource path; they must match [OnnxModel]'s (the generator checks,
/// QG0029). <c>QuantGenDimensions</c> is the attribute's <c>Dimensions</c>, entries separated by <c>;</c>
/// (<c>sequence=128</c>): a model with free input dimensions does not compile without it.</item>
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

    public const string WeightsMetadata = "QuantGenWeights";
    public const string WeightsFileMetadata = "QuantGenWeightsFile";
    public const string WeightsManifestMetadata = "QuantGenWeightsManifest";

    /// <summary>Model bytes (with external data) from which <c>Auto</c> embeds the weights as a resource: 32 MB by default.</summary>
    public long WeightsResourceThreshold { get; set; } = 32L * 1024 * 1024;

    [Required]
    public ITaskItem[] Models { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>Whether this run compiled a model's weights for a resource (and so allocated a model's worth of memory).</summary>
    private bool _compiledWeights;

    /// <summary>
    /// Compiling a large model's weights leaves GBs of free managed heap in MSBuild's process (BERT-base: 3.1 GB), which
    /// it keeps for the rest of the build while csc runs beside it (7.1 GB for the build tree instead of 4). A forced
    /// compacting collection alone does not give it back; the aggressive mode (GCCollectionMode.Aggressive, value 3,
    /// .NET 7 and later; this assembly targets netstandard2.0) decommits it. On a runtime without it, a forced one.
    /// </summary>
    private static void ReleaseMemory()
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        try
        {
            GC.Collect(GC.MaxGeneration, (GCCollectionMode)3, blocking: true, compacting: true);
        }
        catch (ArgumentOutOfRangeException)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        }
    }

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
            catch (WeightsCompileException e)
            {
                Log.LogError(null, "QG1003", null, model.ItemSpec, 0, 0, 0, 0,
                    "QuantGen could not compile the weights of '{0}' into a resource: {1}", model.ItemSpec, e.Message);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is NotSupportedException || e is ArgumentException)
            {
                Log.LogError(null, "QG1001", null, model.ItemSpec, 0, 0, 0, 0,
                    "QuantGen could not encode the model '{0}' for the generator: {1}", model.ItemSpec, e.Message);
            }
        }
        WrittenFiles = written.ToArray();
        if (_compiledWeights)
            ReleaseMemory();
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

        // Streamed to the file: the text of a 400 MB model is 1.1 GB of chars, which must not sit in memory.
        var payload = new ModelTextFormat.Payload(modelPath, fullPath, bytes, externalFiles);
        bool changed = WriteIfChanged(outputFile, stream =>
        {
            using var writer = new StreamWriter(stream, Utf8NoBom, 1 << 16);
            ModelTextFormat.Write(writer, payload);
        });
        Log.LogMessage(changed ? MessageImportance.Normal : MessageImportance.Low,
            changed ? "QuantGen: encoded '{0}' -> '{1}'" : "QuantGen: '{1}' is up to date with '{0}'", model.ItemSpec, outputFile);

        WriteWeights(model, modelPath, fullPath, bytes, externalFiles);

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

    private sealed class WeightsCompileException : Exception
    {
        public WeightsCompileException(string message) : base(message) { }
    }

    /// <summary>
    /// On the resource path, runs the model compiler exactly as the generator will (same passes, same options) and
    /// writes the weight blob it lays out, plus the manifest that tells the generator to read it from the resource.
    /// Otherwise removes both, so the generator goes back to literals.
    /// </summary>
    private void WriteWeights(ITaskItem model, string modelPath, string fullPath, byte[] bytes, List<KeyValuePair<string, byte[]>> externalFiles)
    {
        string weightsFile = model.GetMetadata(WeightsFileMetadata);
        string manifestFile = model.GetMetadata(WeightsManifestMetadata);
        if (weightsFile.Length == 0 || manifestFile.Length == 0) return;

        long size = bytes.LongLength;
        foreach (var f in externalFiles) size += f.Value.LongLength;
        string mode = model.GetMetadata(WeightsMetadata);
        bool resource = mode.Length == 0 || mode.Equals("Auto", StringComparison.OrdinalIgnoreCase)
            ? size >= WeightsResourceThreshold
            : mode.Equals("Resource", StringComparison.OrdinalIgnoreCase) ? true
            : mode.Equals("Literals", StringComparison.OrdinalIgnoreCase) ? false
            : throw new ArgumentException($"{WeightsMetadata}=\"{mode}\" is not one of Auto, Resource, Literals.");
        if (!resource)
        {
            if (File.Exists(weightsFile)) File.Delete(weightsFile);
            if (File.Exists(manifestFile)) File.Delete(manifestFile);
            return;
        }

        string precisionText = model.GetMetadata("QuantGenPrecision");
        Precision precision = precisionText.Length == 0 ? Precision.Int8
            : precisionText.Equals("Float32", StringComparison.OrdinalIgnoreCase) ? Precision.Float32
            : precisionText.Equals("Int8", StringComparison.OrdinalIgnoreCase) ? Precision.Int8
            : throw new ArgumentException($"QuantGenPrecision=\"{precisionText}\" is not one of Int8, Float32.");
        var keepFloat = model.GetMetadata("QuantGenKeepFloat").Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries);
        var dimensions = model.GetMetadata("QuantGenDimensions").Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries);
        string calibrationPath = model.GetMetadata("QuantGenCalibration");
        string calibrationFull = calibrationPath.Length > 0 ? Path.GetFullPath(calibrationPath)
            : Path.ChangeExtension(fullPath, null) + ".calib.json";
        string? calibrationJson = precision == Precision.Int8 && File.Exists(calibrationFull) ? File.ReadAllText(calibrationFull) : null;

        var external = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var f in externalFiles) external[f.Key] = f.Value;
        _compiledWeights = true;
        var result = ModelCompiler.Compile(bytes, new CompilerOptions
        {
            ModelPath = modelPath,
            Precision = precision,
            KeepFloat = keepFloat,
            Dimensions = dimensions,
            CalibrationJson = calibrationJson,
            CalibrationPath = calibrationJson != null ? calibrationFull : "",
            WeightStorage = WeightStorage.Resource,
        }, location => external.TryGetValue(location, out var data) ? data : null);
        if (result.Weights == null)
        {
            // The generator reports the model's errors with their locations; here only say why there is no resource.
            if (File.Exists(weightsFile)) File.Delete(weightsFile);
            if (File.Exists(manifestFile)) File.Delete(manifestFile);
            var first = result.Diagnostics.Count > 0 ? result.Diagnostics[0].ToString() : "no weights were produced";
            throw new WeightsCompileException(first);
        }

        string options = precision.ToString() + (keepFloat.Length > 0 ? ", KeepFloat " + string.Join(";", keepFloat) : "")
            + (dimensions.Length > 0 ? ", Dimensions " + string.Join(";", dimensions) : "") + (calibrationJson != null ? ", calibration " + calibrationFull : "");
        WriteIfChanged(weightsFile, result.Weights.Bytes);
        WriteIfChanged(manifestFile, Utf8NoBom.GetBytes(WeightsManifest.Write(new WeightsManifest.Content(
            modelPath, result.Weights.ResourceName, result.Weights.Bytes.LongLength, result.Weights.Sha256Hex, options))));
        Log.LogMessage(MessageImportance.Normal, "QuantGen: the weights of '{0}' ({1:N0} bytes, {2}) go into the manifest resource '{3}'.",
            model.ItemSpec, result.Weights.Bytes.LongLength, options, result.Weights.ResourceName);
    }

    /// <summary>Writes <paramref name="content"/> unless the file already holds exactly that; true when written.</summary>
    internal static bool WriteIfChanged(string path, byte[] content) => WriteIfChanged(path, stream => stream.Write(content, 0, content.Length));

    /// <summary>
    /// Writes what <paramref name="write"/> writes unless the file already holds exactly that; true when written. The
    /// content goes to a file beside the target first (never to memory: it can be GBs), which then replaces the
    /// target only when the two differ, so an unchanged file keeps its timestamp and an interrupted build never
    /// leaves a truncated file that looks newer than its model.
    /// </summary>
    internal static bool WriteIfChanged(string path, Action<Stream> write)
    {
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);

        string temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            write(stream);
        if (File.Exists(path) && SameContent(path, temporary))
        {
            File.Delete(temporary);
            return false;
        }
        if (File.Exists(path)) File.Replace(temporary, path, null);
        else File.Move(temporary, path);
        return true;
    }

    private static bool SameContent(string a, string b)
    {
        if (new FileInfo(a).Length != new FileInfo(b).Length) return false;
        using var first = new FileStream(a, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        using var second = new FileStream(b, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        var x = new byte[1 << 16];
        var y = new byte[1 << 16];
        while (true)
        {
            int n = ReadFully(first, x);
            if (n != ReadFully(second, y)) return false;
            if (n == 0) return true;
            for (int i = 0; i < n; i++)
            {
                if (x[i] != y[i]) return false;
            }
        }
    }

    private static int ReadFully(Stream stream, byte[] buffer)
    {
        int total = 0, n;
        while (total < buffer.Length && (n = stream.Read(buffer, total, buffer.Length - total)) > 0) total += n;
        return total;
    }
}
