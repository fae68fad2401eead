using System;

namespace QuantGen.Compiler.Calibration;

/// <summary>
/// entropy and mse: a value histogram of the tensor (<see cref="ValueHistogramBuilder"/>, fixed size whatever the
/// sample count) plus its extremes; at the end the method's search picks a window of bins, and the range is that
/// window clipped to the extremes seen (an edge beyond the data would only waste codes).
/// </summary>
public sealed class HistogramSearchCollector : IRangeCollector
{
    private readonly MinMaxCollector _minMax = new();
    private readonly ValueHistogramBuilder _histogram;
    private readonly bool _keepHistogram;

    /// <param name="method"><see cref="CalibrationMethod.Entropy"/> or <see cref="CalibrationMethod.Mse"/>.</param>
    public HistogramSearchCollector(CalibrationMethod method, int bins = AbsHistogramBuilder.DefaultBins, bool keepHistogram = true)
    {
        if (method is not (CalibrationMethod.Entropy or CalibrationMethod.Mse))
            throw new ArgumentOutOfRangeException(nameof(method), "a histogram search is entropy or mse");
        Method = method;
        _histogram = new ValueHistogramBuilder(bins);
        _keepHistogram = keepHistogram;
    }

    public CalibrationMethod Method { get; }

    public void Observe(ReadOnlySpan<float> values)
    {
        _minMax.Observe(values);
        for (int i = 0; i < values.Length; i++)
        {
            float x = values[i];
            if (RangeCollectors.IsFinite(x))
                _histogram.Add(x);
        }
    }

    public TensorStatistics? Finish()
    {
        var range = _minMax.Finish();
        if (range == null)
            return null;
        var histogram = _histogram.ToHistogram();
        var (low, high) = Method == CalibrationMethod.Entropy
            ? EntropyRangeSearch.Find(histogram, _histogram.Zeros)
            : MseRangeSearch.Find(histogram, _histogram.Zeros);
        float min = Math.Max(range.Min, (float)low), max = Math.Min(range.Max, (float)high);
        if (min > max)
            (min, max) = (range.Min, range.Max); // a window always overlaps the data (it holds the zero bin and the data is on one side of it); never write an inverted range
        return new TensorStatistics(min == 0 ? 0f : min, max == 0 ? 0f : max, _keepHistogram ? histogram : null, range.NonFinite);
    }
}
