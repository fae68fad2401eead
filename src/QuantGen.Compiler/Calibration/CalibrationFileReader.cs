using System;
using System.Collections.Generic;

namespace QuantGen.Compiler.Calibration;

/// <summary>
/// Validates the JSON of a calibration file against schema v1 and builds the <see cref="CalibrationFile"/>. Every
/// error names the member (as a path such as <c>tensors["conv1"].min</c>), what is wrong with it, and where it is.
/// Unknown members are ignored, so version 1 can gain optional members; anything older readers would misread
/// bumps the version, and a newer version than <see cref="CalibrationFile.CurrentVersion"/> is refused.
/// </summary>
internal static class CalibrationFileReader
{
    /// <summary>Counts are read from doubles: beyond 2^53 they are no longer exact.</summary>
    private const double MaxExactInteger = 9007199254740992d;

    public static CalibrationFile Read(string json)
    {
        if (json == null) throw new ArgumentNullException(nameof(json));
        JsonNode root;
        try
        {
            root = JsonReader.Parse(json);
        }
        catch (JsonFormatException e)
        {
            throw new CalibrationFormatException(e.Line, e.Column, "invalid JSON: " + e.Problem, e);
        }
        if (root is not JsonObject file)
            throw Error(root, "a calibration file is a JSON object, found " + root.Describe());

        // Format and version first: a file of another kind or a newer version should say so, not list missing members.
        var format = Required(file, "", "format");
        if (format is not JsonString { Value: CalibrationFile.FormatName })
            throw Error(format, $"\"format\" is {format.Describe()}, not \"{CalibrationFile.FormatName}\": this is not a QuantGen calibration file");
        long version = Integer(file, "", "version");
        if (version < 1)
            throw Error(file["version"]!, $"\"version\" must be 1 or more, found {version}");
        if (version > CalibrationFile.CurrentVersion)
            throw Error(file["version"]!, $"the file has version {version}, newer than this QuantGen reads (up to {CalibrationFile.CurrentVersion}): update QuantGen, or recalibrate with this one ('quantgen calibrate MODEL.onnx --data X.npy')");

        string? producer = file["producer"] is { } p ? String(p, "producer") : null;
        var model = Object(Required(file, "", "model"), "model");
        string sha = String(Required(model, "model", "sha256"), "model.sha256");
        if (!ModelHash.IsSha256Hex(sha))
            throw Error(model["sha256"]!, $"model.sha256 must be 64 hexadecimal digits (the SHA-256 of the .onnx file), found {model["sha256"]!.Describe()}");
        string name = String(Required(model, "model", "name"), "model.name");

        var methodNode = Required(file, "", "method");
        string methodName = String(methodNode, "method");
        if (!CalibrationNames.TryParseMethod(methodName, out var method))
            throw Error(methodNode, $"\"method\" is \"{methodName}\", expected {CalibrationNames.AllMethods}");

        long samples = Integer(file, "", "samples");
        if (samples < 1)
            throw Error(file["samples"]!, "\"samples\" must be at least 1");

        var tensorsNode = Object(Required(file, "", "tensors"), "tensors");
        var tensors = new List<KeyValuePair<string, TensorStatistics>>(tensorsNode.Count);
        foreach (var member in tensorsNode)
        {
            string path = "tensors[\"" + member.Key + "\"]";
            if (member.Key.Length == 0)
                throw Error(member.Value, "a tensor name cannot be empty");
            tensors.Add(new KeyValuePair<string, TensorStatistics>(member.Key, Statistics(Object(member.Value, path), path)));
        }
        return new CalibrationFile(sha, name, method, samples, tensors, producer);
    }

    private static TensorStatistics Statistics(JsonObject obj, string path)
    {
        float min = Single(obj, path, "min");
        float max = Single(obj, path, "max");
        if (min > max)
            throw Error(obj["min"]!, $"{path}: min {JsonWriter.FormatSingle(min)} is greater than max {JsonWriter.FormatSingle(max)}");
        long nonFinite = obj.Contains("nonFinite") ? Integer(obj, path, "nonFinite") : 0;
        Histogram? histogram = obj["histogram"] is { } h ? ReadHistogram(Object(h, path + ".histogram"), path + ".histogram") : null;
        return new TensorStatistics(min, max, histogram, nonFinite);
    }

    private static Histogram ReadHistogram(JsonObject obj, string path)
    {
        var ofNode = Required(obj, path, "of");
        string of = String(ofNode, path + ".of");
        HistogramDomain domain = of switch
        {
            "abs" => HistogramDomain.Abs,
            "value" => HistogramDomain.Value,
            _ => throw Error(ofNode, $"{path}.of is \"{of}\", expected \"abs\" or \"value\""),
        };
        double min = Number(obj, path, "min").Value;
        double max = Number(obj, path, "max").Value;
        var binsNode = Required(obj, path, "bins");
        if (binsNode is not JsonArray binsArray)
            throw Error(binsNode, $"{path}.bins must be an array of counts, found {binsNode.Describe()}");
        var bins = new long[binsArray.Count];
        for (int i = 0; i < bins.Length; i++)
            bins[i] = Integer(binsArray[i], $"{path}.bins[{i}]");
        string? problem = Histogram.Check(domain, min, max, bins);
        if (problem != null)
            throw Error(obj, path + ": " + problem);
        return new Histogram(domain, min, max, bins);
    }

    private static JsonNode Required(JsonObject obj, string path, string name) =>
        obj[name] ?? throw Error(obj, (path.Length == 0 ? "the file" : path) + $" has no \"{name}\" member, which is required");

    private static JsonObject Object(JsonNode node, string path) =>
        node as JsonObject ?? throw Error(node, $"{path} must be an object, found {node.Describe()}");

    private static string String(JsonNode node, string path) =>
        node is JsonString s ? s.Value : throw Error(node, $"{path} must be a string, found {node.Describe()}");

    private static JsonNumber Number(JsonObject obj, string path, string name)
    {
        var node = Required(obj, path, name);
        return node as JsonNumber ?? throw Error(node, $"{Join(path, name)} must be a number, found {node.Describe()}");
    }

    /// <summary>A range bound: a number that is finite as a float (activations are float32).</summary>
    private static float Single(JsonObject obj, string path, string name)
    {
        var number = Number(obj, path, name);
        float value = (float)number.Value;
        if (float.IsInfinity(value))
            throw Error(number, $"{Join(path, name)} is {number.Describe()}, outside the range of a float");
        return value;
    }

    private static long Integer(JsonObject obj, string path, string name) => Integer(Required(obj, path, name), Join(path, name));

    /// <summary>A count: a whole number from 0 to 2^53.</summary>
    private static long Integer(JsonNode node, string path)
    {
        if (node is not JsonNumber number)
            throw Error(node, $"{path} must be a whole number, found {node.Describe()}");
        double v = number.Value;
        if (v != Math.Floor(v) || v < 0 || v > MaxExactInteger)
            throw Error(node, $"{path} must be a whole number from 0 to 2^53, found {number.Describe()}");
        return (long)v;
    }

    private static string Join(string path, string name) => path.Length == 0 ? "\"" + name + "\"" : path + "." + name;

    private static CalibrationFormatException Error(JsonNode at, string problem) => new(at.Line, at.Column, problem);
}
