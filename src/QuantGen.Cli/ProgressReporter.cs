using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;

namespace QuantGen.Cli;

/// <summary>
/// Progress of a loop over a known number of items. On a terminal: one line rewritten in place (carriage return),
/// at most ten times a second, with items done/total, rate and time left. Redirected (a log, a pipe, CI): a plain
/// line each time another tenth is done, so logs stay short and readable.
/// </summary>
internal sealed class ProgressReporter
{
    private static readonly TimeSpan s_terminalInterval = TimeSpan.FromMilliseconds(100);

    private readonly TextWriter _writer;
    private readonly bool _terminal;
    private readonly long _total;
    private readonly string _label;
    private readonly string _unit;
    private readonly Func<TimeSpan> _clock;
    private readonly TimeSpan _start;
    private TimeSpan? _lastWrite;
    private int _lastLength;
    private long _lastTenth;
    private bool _finished;

    /// <param name="writer">Where the progress goes.</param>
    /// <param name="terminal">True for a line updated in place, false for a line per tenth.</param>
    /// <param name="total">Items to do, at least 1.</param>
    /// <param name="label">What is going on, e.g. "calibrating".</param>
    /// <param name="unit">What an item is, plural, e.g. "samples".</param>
    /// <param name="clock">Elapsed time; a <see cref="Stopwatch"/> when null (tests pass their own).</param>
    public ProgressReporter(TextWriter writer, bool terminal, long total, string label, string unit, Func<TimeSpan>? clock = null)
    {
        _writer = writer ?? throw new ArgumentNullException(nameof(writer));
        if (total < 1) throw new ArgumentOutOfRangeException(nameof(total));
        _terminal = terminal;
        _total = total;
        _label = label;
        _unit = unit;
        if (clock == null)
        {
            var stopwatch = Stopwatch.StartNew();
            clock = () => stopwatch.Elapsed;
        }
        _clock = clock;
        _start = clock();
    }

    /// <summary>Time since the reporter was made.</summary>
    public TimeSpan Elapsed => _clock() - _start;

    /// <summary>Says that <paramref name="done"/> items of the total are done.</summary>
    public void Report(long done)
    {
        if (_finished) return;
        TimeSpan elapsed = Elapsed;
        if (_terminal)
        {
            if (done < _total && _lastWrite is { } last && elapsed - last < s_terminalInterval) return;
            _lastWrite = elapsed;
            string line = Describe(done, elapsed);
            // Spaces over what the previous, longer line left behind.
            _writer.Write("\r" + line + new string(' ', Math.Max(0, _lastLength - line.Length)));
            _lastLength = line.Length;
            if (done >= _total)
            {
                _writer.WriteLine();
                _finished = true;
            }
            _writer.Flush();
        }
        else
        {
            long tenth = done * 10 / _total;
            if (tenth <= _lastTenth) return;
            _lastTenth = tenth;
            _writer.WriteLine(Describe(done, elapsed));
            _finished = done >= _total;
            _writer.Flush();
        }
    }

    /// <summary>"calibrating: 256/512 samples (50%), 850 samples/s, 0:01 left".</summary>
    internal string Describe(long done, TimeSpan elapsed)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{_label}: {done}/{_total} {_unit} ({done * 100 / _total}%)");
        if (done > 0 && elapsed > TimeSpan.Zero)
        {
            double rate = done / elapsed.TotalSeconds;
            text += string.Create(CultureInfo.InvariantCulture, $", {FormatRate(rate)} {_unit}/s");
            text += done < _total
                ? ", " + FormatDuration(TimeSpan.FromSeconds((_total - done) / rate)) + " left"
                : ", in " + FormatDuration(elapsed);
        }
        return text;
    }

    private static string FormatRate(double rate) =>
        rate >= 100 ? Math.Round(rate).ToString("0", CultureInfo.InvariantCulture) : rate.ToString("0.0", CultureInfo.InvariantCulture);

    /// <summary>"0:07", "12:34", "1:02:03".</summary>
    internal static string FormatDuration(TimeSpan t)
    {
        long seconds = (long)Math.Ceiling(t.TotalSeconds);
        long h = seconds / 3600, m = seconds / 60 % 60, s = seconds % 60;
        return h > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{h}:{m:00}:{s:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{m}:{s:00}");
    }
}
