using System;
using System.Collections;
using System.Collections.Generic;

namespace QuantGen.Compiler.Calibration;

public enum JsonKind { Object, Array, String, Number, Boolean, Null }

/// <summary>
/// A JSON value, as <see cref="JsonReader"/> reads it and <see cref="JsonWriter"/> writes it. A minimal DOM of our
/// own because System.Text.Json is not available to a generator without shipping extra assemblies next to it.
/// Values read from text remember where they started (<see cref="Line"/>, <see cref="Column"/>), so schema
/// validation can point at the offending value; values built in code have 0 there.
/// </summary>
public abstract class JsonNode
{
    private protected JsonNode()
    {
    }

    public abstract JsonKind Kind { get; }

    /// <summary>1-based line of the value's first character; 0 when the value was not read from text.</summary>
    public int Line { get; internal set; }

    /// <summary>1-based column (in UTF-16 code units) of the value's first character; 0 when not read from text.</summary>
    public int Column { get; internal set; }

    /// <summary>"line L, column C", or "" for a value built in code.</summary>
    public string Position => Line > 0 ? JsonFormatException.FormatPosition(Line, Column) : "";

    /// <summary>A short description for error messages: the kind, and the value of a scalar.</summary>
    public abstract string Describe();
}

/// <summary>A JSON object: members in their order, names unique (duplicates are rejected on read and on add).</summary>
public sealed class JsonObject : JsonNode, IEnumerable<KeyValuePair<string, JsonNode>>
{
    private readonly List<KeyValuePair<string, JsonNode>> _members = new();
    private readonly Dictionary<string, JsonNode> _byName = new(StringComparer.Ordinal);

    public override JsonKind Kind => JsonKind.Object;

    public int Count => _members.Count;

    public IReadOnlyList<KeyValuePair<string, JsonNode>> Members => _members;

    /// <summary>The member named <paramref name="name"/>, or null.</summary>
    public JsonNode? this[string name] => _byName.TryGetValue(name, out var value) ? value : null;

    public bool TryGetValue(string name, out JsonNode value) => _byName.TryGetValue(name, out value!);

    /// <exception cref="ArgumentException">The object already has a member of that name.</exception>
    public void Add(string name, JsonNode value)
    {
        if (name == null) throw new ArgumentNullException(nameof(name));
        if (value == null) throw new ArgumentNullException(nameof(value));
        if (_byName.ContainsKey(name))
            throw new ArgumentException($"the object already has a member named \"{name}\"", nameof(name));
        _byName.Add(name, value);
        _members.Add(new KeyValuePair<string, JsonNode>(name, value));
    }

    /// <summary>Whether the object has a member named <paramref name="name"/>.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    public IEnumerator<KeyValuePair<string, JsonNode>> GetEnumerator() => _members.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string Describe() => "an object";
}

/// <summary>A JSON array.</summary>
public sealed class JsonArray : JsonNode, IEnumerable<JsonNode>
{
    private readonly List<JsonNode> _items = new();

    public JsonArray()
    {
    }

    public JsonArray(IEnumerable<JsonNode> items)
    {
        foreach (var item in items)
            Add(item);
    }

    public override JsonKind Kind => JsonKind.Array;

    public int Count => _items.Count;

    public JsonNode this[int index] => _items[index];

    public void Add(JsonNode item) => _items.Add(item ?? throw new ArgumentNullException(nameof(item)));

    public IEnumerator<JsonNode> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string Describe() => "an array";
}

public sealed class JsonString : JsonNode
{
    public JsonString(string value) => Value = value ?? throw new ArgumentNullException(nameof(value));

    public string Value { get; }

    public override JsonKind Kind => JsonKind.String;

    public override string Describe() => "the string \"" + (Value.Length <= 40 ? Value : Value.Substring(0, 40) + "...") + "\"";
}

/// <summary>How <see cref="JsonWriter"/> writes a number: the shortest text that reads back to the same value.</summary>
public enum JsonNumberStyle
{
    /// <summary>A double: read back as the same double.</summary>
    Double,

    /// <summary>A float: read back as a double and converted to float, it is the same float.</summary>
    Single,

    /// <summary>An integer, written with all its digits.</summary>
    Integer,
}

/// <summary>A JSON number. Numbers read from text are doubles (parsed with the invariant culture).</summary>
public sealed class JsonNumber : JsonNode
{
    private readonly long _integer;

    /// <exception cref="ArgumentException">NaN or an infinity: JSON cannot represent them.</exception>
    public JsonNumber(double value)
    {
        CheckFinite(value);
        Value = value;
        Style = JsonNumberStyle.Double;
    }

    /// <exception cref="ArgumentException">NaN or an infinity: JSON cannot represent them.</exception>
    public JsonNumber(float value)
    {
        CheckFinite(value);
        Value = value;
        Style = JsonNumberStyle.Single;
    }

    public JsonNumber(long value)
    {
        Value = value;
        _integer = value;
        Style = JsonNumberStyle.Integer;
    }

    public double Value { get; }

    public JsonNumberStyle Style { get; }

    public override JsonKind Kind => JsonKind.Number;

    /// <summary>The exact integer for <see cref="JsonNumberStyle.Integer"/>; otherwise <see cref="Value"/> truncated.</summary>
    public long IntegerValue => Style == JsonNumberStyle.Integer ? _integer : (long)Value;

    public override string Describe() => "the number " + Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    private static void CheckFinite(double value)
    {
        if (double.IsNaN(value) || double.IsInfinity(value))
            throw new ArgumentException($"JSON has no representation for {value}", nameof(value));
    }
}

public sealed class JsonBoolean : JsonNode
{
    public JsonBoolean(bool value) => Value = value;

    public bool Value { get; }

    public override JsonKind Kind => JsonKind.Boolean;

    public override string Describe() => Value ? "true" : "false";
}

public sealed class JsonNull : JsonNode
{
    public override JsonKind Kind => JsonKind.Null;

    public override string Describe() => "null";
}

/// <summary>Malformed JSON, or JSON that does not follow the schema expected of it; says where.</summary>
public class JsonFormatException : FormatException
{
    public JsonFormatException(int line, int column, string problem)
        : base(line > 0 ? FormatPosition(line, column) + ": " + problem : problem)
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

    internal static string FormatPosition(int line, int column) => $"line {line}, column {column}";
}
