using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using ScottPlot;

namespace QuantGen.Cli.Evaluation;

/// <summary>
/// Per-layer SQNR as a horizontal bar chart, worst layer on top, drawn with ScottPlot (its SVG writer for .svg, SkiaSharp
/// for .png; both verified to work on Linux x64 with SkiaSharp's bundled native library). Exact tensors (infinite SQNR)
/// are drawn at the right edge and labelled "exact".
/// </summary>
internal static class SqnrPlot
{
    public static void Write(string path, string title, IReadOnlyList<LayerError> layers)
    {
        var plot = new Plot();
        var finite = layers.Where(l => double.IsFinite(l.Sqnr)).Select(l => l.Sqnr).DefaultIfEmpty(0).ToArray();
        double right = Math.Max(10, Math.Ceiling(finite.Max() / 10) * 10 + 10);
        double left = Math.Min(0, Math.Floor(finite.Min() / 10) * 10);

        var bars = new List<Bar>();
        var ticks = new List<Tick>();
        for (int i = 0; i < layers.Count; i++)
        {
            // Worst first from the top: the first row gets the highest position.
            double position = layers.Count - 1 - i;
            var layer = layers[i];
            double value = double.IsPositiveInfinity(layer.Sqnr) ? right : double.IsNegativeInfinity(layer.Sqnr) ? left : layer.Sqnr;
            bars.Add(new Bar
            {
                Position = position,
                Value = value,
                ValueBase = left,
                FillColor = value < 20 ? Colors.OrangeRed : value < 30 ? Colors.Orange : Colors.SteelBlue,
                Label = double.IsFinite(layer.Sqnr) ? layer.Sqnr.ToString("0.0", CultureInfo.InvariantCulture) : "exact",
                Orientation = Orientation.Horizontal,
            });
            ticks.Add(new Tick(position, Shorten(layer.Tensor)));
        }
        var series = plot.Add.Bars(bars);
        series.Horizontal = true;
        series.ValueLabelStyle.FontSize = 11;
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        plot.Axes.Left.MajorTickStyle.Length = 0;
        plot.Axes.SetLimits(left, right + 5, -0.6, layers.Count - 0.4);
        plot.Title(title);
        plot.XLabel("SQNR (dB), INT8 dequantized vs FP32; higher is better");

        int width = 900, height = Math.Max(240, 90 + 26 * layers.Count);
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
        if (Path.GetExtension(path).Equals(".png", StringComparison.OrdinalIgnoreCase))
            plot.SavePng(path, width, height);
        else
            plot.SaveSvg(path, width, height);
    }

    /// <summary>Long ONNX tensor names ("/features/features.3/Relu_output_0") cut from the left, where they repeat.</summary>
    private static string Shorten(string name) => name.Length <= 40 ? name : "…" + name.Substring(name.Length - 39);
}
