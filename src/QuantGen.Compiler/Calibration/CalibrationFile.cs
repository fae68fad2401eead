using System;
using System.Collections.Generic;
using System.Linq;

namespace QuantGen.Compiler.Calibration;

/// <summary>
/// A calibration file (docs/calibration.md): per-tensor ranges of a model's activations, keyed by tensor name in
/// QuantGen's optimized graph, with the SHA-256 of the model they were computed for so a stale file is detected.
/// Immutable; <see cref="Write"/> is deterministic (tensors sorted by ordinal name), so files diff well.
/// </summary>
public sealed class CalibrationFile : IEquatable<CalibrationFile>
{
    /// <summary>The "format" every calibration file declares.</summary>
    public const string FormatName = "quantgen-calibration";

    /// <summary>The newest schema version this QuantGen reads and the one it writes.</summary>
    public const int CurrentVersion = 1;

    /// <summary>The extension that replaces ".onnx" in the default calibration path.</summary>
    public const string DefaultExtension = ".calib.json";

    private readonly SortedDictionary<string, TensorStatistics> _tensors;

    /// <param name="modelSha256">SHA-256 of the .onnx file's bytes, 64 hex digits (<see cref="ModelHash.Sha256Hex"/>); stored lower case.</param>
    /// <param name="modelName">The model's file name, for people reading the file.</param>
    /// <param name="method">How the ranges were chosen.</param>
    /// <param name="samples">How many input samples were run.</param>
    /// <param name="tensors">Statistics by tensor name.</param>
    /// <param name="producer">What wrote the file (e.g. "QuantGen 0.1.0"); optional.</param>
    public CalibrationFile(string modelSha256, string modelName, CalibrationMethod method, long samples,
        IEnumerable<KeyValuePair<string, TensorStatistics>> tensors, string? producer = null)
    {
        if (modelSha256 == null) throw new ArgumentNullException(nameof(modelSha256));
        if (!ModelHash.IsSha256Hex(modelSha256))
            throw new ArgumentException("the model hash must be 64 hexadecimal digits (SHA-256)", nameof(modelSha256));
        if (!Enum.IsDefined(typeof(CalibrationMethod), method)) throw new ArgumentOutOfRangeException(nameof(method));
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), "a calibration needs at least one sample");
        if (tensors == null) throw new ArgumentNullException(nameof(tensors));
        ModelSha256 = modelSha256.ToLowerInvariant();
        ModelName = modelName ?? throw new ArgumentNullException(nameof(modelName));
        Method = method;
        Samples = samples;
        Producer = producer;
        _tensors = new SortedDictionary<string, TensorStatistics>(StringComparer.Ordinal);
        foreach (var pair in tensors)
        {
            if (string.IsNullOrEmpty(pair.Key)) throw new ArgumentException("a tensor name cannot be empty", nameof(tensors));
            if (_tensors.ContainsKey(pair.Key)) throw new ArgumentException($"the tensor '{pair.Key}' is given twice", nameof(tensors));
            _tensors.Add(pair.Key, pair.Value ?? throw new ArgumentException($"the tensor '{pair.Key}' has no statistics", nameof(tensors)));
        }
    }

    /// <summary>SHA-256 of the model's .onnx bytes, 64 lower-case hex digits.</summary>
    public string ModelSha256 { get; }
    public string ModelName { get; }
    public CalibrationMethod Method { get; }
    public long Samples { get; }
    public string? Producer { get; }

    /// <summary>Statistics by tensor name, in ordinal order of the names.</summary>
    public IReadOnlyDictionary<string, TensorStatistics> Tensors => _tensors;

    /// <summary>Whether the file was computed for the model whose SHA-256 is <paramref name="modelSha256"/> (hex, any case).</summary>
    public bool Matches(string modelSha256) =>
        modelSha256 != null && string.Equals(ModelSha256, modelSha256.Trim(), StringComparison.OrdinalIgnoreCase);

    /// <summary>The calibration path used when [OnnxModel] names none: the model's path with ".onnx" replaced by ".calib.json".</summary>
    public static string DefaultPathFor(string modelPath)
    {
        if (modelPath == null) throw new ArgumentNullException(nameof(modelPath));
        return (modelPath.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? modelPath.Substring(0, modelPath.Length - 5) : modelPath) + DefaultExtension;
    }

    /// <summary>Reads and validates a calibration file.</summary>
    /// <exception cref="CalibrationFormatException">Malformed JSON, or JSON that is not a valid calibration file (the message says what and where).</exception>
    public static CalibrationFile Read(string json) => CalibrationFileReader.Read(json);

    /// <summary><see cref="Read"/> without the exception: false and the reason (with its line and column) when the file is unusable.</summary>
    public static bool TryRead(string json, out CalibrationFile? file, out CalibrationFormatException? error)
    {
        try
        {
            file = Read(json);
            error = null;
            return true;
        }
        catch (CalibrationFormatException e)
        {
            file = null;
            error = e;
            return false;
        }
    }

    /// <summary>The file's text: pretty-printed JSON, '\n' line ends, tensors sorted by name, floats written to round-trip.</summary>
    public string Write() => JsonWriter.Write(ToJson());

    public JsonObject ToJson()
    {
        var root = new JsonObject();
        root.Add("format", new JsonString(FormatName));
        root.Add("version", new JsonNumber((long)CurrentVersion));
        if (Producer != null)
            root.Add("producer", new JsonString(Producer));
        var model = new JsonObject();
        model.Add("sha256", new JsonString(ModelSha256));
        model.Add("name", new JsonString(ModelName));
        root.Add("model", model);
        root.Add("method", new JsonString(CalibrationNames.Of(Method)));
        root.Add("samples", new JsonNumber(Samples));
        var tensors = new JsonObject();
        foreach (var pair in _tensors)
            tensors.Add(pair.Key, ToJson(pair.Value));
        root.Add("tensors", tensors);
        return root;
    }

    private static JsonObject ToJson(TensorStatistics stats)
    {
        var obj = new JsonObject();
        obj.Add("min", new JsonNumber(stats.Min));
        obj.Add("max", new JsonNumber(stats.Max));
        if (stats.NonFinite > 0)
            obj.Add("nonFinite", new JsonNumber(stats.NonFinite));
        if (stats.Histogram is { } h)
        {
            var histogram = new JsonObject();
            histogram.Add("of", new JsonString(CalibrationNames.Of(h.Domain)));
            histogram.Add("min", new JsonNumber(h.Min));
            histogram.Add("max", new JsonNumber(h.Max));
            histogram.Add("bins", new JsonArray(h.Bins.Select(b => (JsonNode)new JsonNumber(b))));
            obj.Add("histogram", histogram);
        }
        return obj;
    }

    public bool Equals(CalibrationFile? other) =>
        other != null && ModelSha256 == other.ModelSha256 && ModelName == other.ModelName && Method == other.Method
        && Samples == other.Samples && Producer == other.Producer
        && _tensors.Count == other._tensors.Count
        && _tensors.All(p => other._tensors.TryGetValue(p.Key, out var s) && p.Value.Equals(s));

    public override bool Equals(object? obj) => Equals(obj as CalibrationFile);

    public override int GetHashCode() => (ModelSha256, Method, Samples, _tensors.Count).GetHashCode();

    public override string ToString() => $"{FormatName} v{CurrentVersion}: {ModelName} ({ModelSha256.Substring(0, 12)}), {CalibrationNames.Of(Method)}, {Samples} samples, {_tensors.Count} tensors";
}

/// <summary>A calibration file that cannot be used: malformed JSON or a schema violation. Says what and where.</summary>
public sealed class CalibrationFormatException : FormatException
{
    public CalibrationFormatException(int line, int column, string problem, Exception? inner = null)
        : base(line > 0 ? JsonFormatException.FormatPosition(line, column) + ": " + problem : problem, inner)
    {
        Line = line;
        Column = column;
        Problem = problem;
    }

    /// <summary>1-based line of the problem; 0 when unknown.</summary>
    public int Line { get; }

    /// <summary>1-based column of the problem; 0 when unknown.</summary>
    public int Column { get; }

    /// <summary>The message without the position.</summary>
    public string Problem { get; }
}
