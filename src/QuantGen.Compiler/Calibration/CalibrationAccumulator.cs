using System;
using System.Collections.Generic;
using System.Linq;

namespace QuantGen.Compiler.Calibration;

/// <summary>
/// The collectors of one calibration, by tensor name, and the sample count: what turns tensor values into a
/// <see cref="CalibrationFile"/>, whoever computes them. <see cref="Calibrator"/> feeds it from QuantGen's own float
/// reference, the CLI from ONNX Runtime (a batch of samples at a time: every collector is order- and batch-independent).
/// </summary>
public sealed class CalibrationAccumulator
{
    private readonly string[] _names;
    private readonly Dictionary<string, int> _index;
    private readonly IRangeCollector[] _collectors;

    /// <param name="tensorNames">The tensors to record (<see cref="Calibrator.CalibratedTensors"/>); written sorted by ordinal name.</param>
    /// <param name="createCollector">Called once per name.</param>
    public CalibrationAccumulator(IEnumerable<string> tensorNames, CalibrationMethod method, Func<string, IRangeCollector> createCollector)
    {
        if (tensorNames == null) throw new ArgumentNullException(nameof(tensorNames));
        if (createCollector == null) throw new ArgumentNullException(nameof(createCollector));
        Method = method;
        _names = tensorNames.Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        _index = _names.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
        _collectors = _names.Select(createCollector).ToArray();
    }

    /// <summary>An accumulator with QuantGen's collector for <paramref name="method"/>.</summary>
    public CalibrationAccumulator(IEnumerable<string> tensorNames, CalibrationMethod method, CalibratorSettings? settings = null)
        : this(tensorNames, method, _ => RangeCollectors.Create(method, settings))
    {
    }

    public CalibrationMethod Method { get; }

    /// <summary>The tensors recorded, in ordinal order of their names.</summary>
    public IReadOnlyList<string> TensorNames => _names;

    /// <summary>Samples counted so far (<see cref="AddSamples"/>).</summary>
    public long SampleCount { get; private set; }

    /// <summary>Values of <paramref name="tensorName"/> for one or several samples; names not recorded are ignored.</summary>
    public void Observe(string tensorName, ReadOnlySpan<float> values)
    {
        if (_index.TryGetValue(tensorName, out int i))
            _collectors[i].Observe(values);
    }

    /// <summary>Counts samples whose tensors were observed.</summary>
    public void AddSamples(long count)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
        SampleCount += count;
    }

    /// <summary>The file for what was observed. Tensors whose collector saw no finite value are left out.</summary>
    /// <param name="modelSha256"><see cref="ModelHash.Sha256Hex"/> of the .onnx bytes.</param>
    /// <param name="modelName">The model's file name.</param>
    /// <exception cref="InvalidOperationException">No sample was counted.</exception>
    public CalibrationFile Finish(string modelSha256, string modelName)
    {
        if (SampleCount == 0)
            throw new InvalidOperationException("no calibration sample was observed");
        var tensors = new List<KeyValuePair<string, TensorStatistics>>(_names.Length);
        for (int i = 0; i < _names.Length; i++)
        {
            if (_collectors[i].Finish() is { } stats)
                tensors.Add(new KeyValuePair<string, TensorStatistics>(_names[i], stats));
        }
        return new CalibrationFile(modelSha256, modelName, Method, SampleCount, tensors, "QuantGen " + ThisAssembly.Version);
    }
}
