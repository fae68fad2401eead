using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using QuantGen.Compiler.Diagnostics;

namespace QuantGen.Compiler.Onnx;

/// <summary>
/// Build-time sizes of named free input dimensions: the <c>Dimensions = new[] { "sequence=128" }</c> option of
/// [OnnxModel]. Exporters name dynamic axes with a dim_param ("batch", "sequence", "seq_len",
/// "input_ids_dynamic_axes_1"); every input that carries the name gets the size, so input_ids [batch, sequence]
/// and attention_mask [batch, sequence] agree by construction.
/// </summary>
public sealed class DimensionBindings
{
    private readonly Dictionary<string, int> _sizes;

    private DimensionBindings(Dictionary<string, int> sizes) => _sizes = sizes;

    public static DimensionBindings None { get; } = new(new Dictionary<string, int>(StringComparer.Ordinal));

    /// <summary>Size by dim_param name (names are case-sensitive, as in ONNX).</summary>
    public IReadOnlyDictionary<string, int> Sizes => _sizes;

    public bool TryGetSize(string dimParam, out int size) => _sizes.TryGetValue(dimParam, out size);

    /// <summary>Parses "name=size" entries; every malformed one is reported (QG0027) in one exception.</summary>
    /// <param name="modelPath">The model's path, for messages.</param>
    public static DimensionBindings Parse(IReadOnlyList<string>? entries, string modelPath)
    {
        if (entries == null || entries.Count == 0)
            return None;
        var sizes = new Dictionary<string, int>(StringComparer.Ordinal);
        var errors = new List<ModelDiagnostic>();
        foreach (var entry in entries)
        {
            string? problem = Check(entry ?? "", sizes);
            if (problem != null)
                errors.Add(DiagnosticCatalog.InvalidDimensionEntry.Create(entry ?? "(null)", modelPath, problem));
        }
        if (errors.Count > 0)
            throw new ModelCompileException(errors);
        return new DimensionBindings(sizes);
    }

    /// <summary>Adds the entry to <paramref name="sizes"/>, or says what is wrong with it.</summary>
    private static string? Check(string entry, Dictionary<string, int> sizes)
    {
        int equals = entry.IndexOf('=');
        if (equals < 0 || entry.IndexOf('=', equals + 1) >= 0)
            return "it is not of the form name=size";
        string name = entry.Substring(0, equals).Trim();
        string size = entry.Substring(equals + 1).Trim();
        if (name.Length == 0)
            return "the dimension name is empty";
        if (!long.TryParse(size, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value))
            return $"the size '{size}' is not a whole number";
        if (value < 1)
            return $"the size must be at least 1, not {value}";
        if (value > int.MaxValue)
            return $"the size {value} is more than 2147483647";
        if (sizes.ContainsKey(name))
            return $"'{name}' is given more than once";
        sizes[name] = (int)value;
        return null;
    }

    /// <summary>
    /// Every bound name must be a dim_param of some input (fixed or free there): a misspelt name would otherwise be
    /// ignored silently. Reports all unknown names (QG0028) in one exception, with the names the inputs do use.
    /// </summary>
    public void CheckAgainst(IReadOnlyCollection<string> inputDimParams, string modelPath)
    {
        var errors = new List<ModelDiagnostic>();
        foreach (var name in _sizes.Keys.Where(k => !inputDimParams.Contains(k)).OrderBy(k => k, StringComparer.Ordinal))
        {
            string known = inputDimParams.Count == 0 ? "none" : string.Join(", ", inputDimParams.OrderBy(n => n, StringComparer.Ordinal).Select(n => "'" + n + "'"));
            var close = NameSuggestions.Closest(name, inputDimParams);
            string hint = close.Count > 0 ? "; did you mean " + string.Join(", ", close.Select(c => "'" + c + "'")) + "?" : "";
            errors.Add(DiagnosticCatalog.UnknownDimension.Create(name, modelPath, known, hint));
        }
        if (errors.Count > 0)
            throw new ModelCompileException(errors);
    }
}
