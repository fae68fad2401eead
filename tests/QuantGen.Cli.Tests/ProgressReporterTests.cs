using System;
using System.IO;
using System.Linq;
using Xunit;

namespace QuantGen.Cli.Tests;

public class ProgressReporterTests
{
    private sealed class FakeClock
    {
        public TimeSpan Now { get; set; }
    }

    [Fact]
    public void On_a_terminal_one_line_is_rewritten_at_most_ten_times_a_second_and_ended_once()
    {
        var clock = new FakeClock();
        var writer = new StringWriter { NewLine = "\n" };
        var progress = new ProgressReporter(writer, terminal: true, total: 100, "calibrating", "samples", () => clock.Now);
        for (int i = 1; i <= 100; i++)
        {
            clock.Now = TimeSpan.FromMilliseconds(20 * i); // 50 samples/s: an update every 5 samples
            progress.Report(i);
        }

        string text = writer.ToString();
        Assert.Single(text, c => c == '\n');
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        string[] updates = text.TrimEnd('\n').Split('\r', StringSplitOptions.RemoveEmptyEntries);
        Assert.InRange(updates.Length, 19, 21);
        Assert.Equal("calibrating: 1/100 samples (1%), 50.0 samples/s, 0:02 left", updates[0].TrimEnd());
        Assert.Equal("calibrating: 6/100 samples (6%), 50.0 samples/s, 0:02 left", updates[1].TrimEnd());
        Assert.Equal("calibrating: 100/100 samples (100%), 50.0 samples/s, in 0:02", updates[^1].TrimEnd());
    }

    [Fact]
    public void On_a_terminal_a_shorter_line_blanks_out_the_longer_one_before_it()
    {
        var clock = new FakeClock();
        var writer = new StringWriter();
        var progress = new ProgressReporter(writer, terminal: true, total: 1000, "x", "items", () => clock.Now);
        clock.Now = TimeSpan.FromSeconds(1);
        progress.Report(500);                     // "x: 500/1000 items (50%), 500 items/s, 0:01 left"
        clock.Now = TimeSpan.FromSeconds(2);
        progress.Report(5);                       // "x: 5/1000 items (0%), 2.5 items/s, 6:38 left": shorter
        string[] updates = writer.ToString().Split('\r', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("x: 5/1000 items (0%), 2.5 items/s, 6:38 left", updates[1].TrimEnd());
        Assert.Equal(updates[0].Length, updates[1].Length);
    }

    [Fact]
    public void Redirected_a_line_per_tenth()
    {
        var clock = new FakeClock();
        var writer = new StringWriter { NewLine = "\n" };
        var progress = new ProgressReporter(writer, terminal: false, total: 512, "calibrating", "samples", () => clock.Now);
        for (int i = 1; i <= 512; i++)
        {
            clock.Now = TimeSpan.FromSeconds(i / 256.0);
            progress.Report(i);
        }

        string[] lines = writer.ToString().TrimEnd('\n').Split('\n');
        Assert.Equal(10, lines.Length);
        Assert.Equal("calibrating: 52/512 samples (10%), 256 samples/s, 0:02 left", lines[0]);
        Assert.Equal("calibrating: 512/512 samples (100%), 256 samples/s, in 0:02", lines[9]);
        Assert.DoesNotContain('\r', writer.ToString());
    }

    [Fact]
    public void Redirected_fewer_than_ten_items_are_a_line_each()
    {
        var writer = new StringWriter { NewLine = "\n" };
        var progress = new ProgressReporter(writer, terminal: false, total: 3, "calibrating", "samples", () => TimeSpan.Zero);
        for (int i = 1; i <= 3; i++)
            progress.Report(i);
        Assert.Equal("calibrating: 1/3 samples (33%)\ncalibrating: 2/3 samples (66%)\ncalibrating: 3/3 samples (100%)\n", writer.ToString());
    }

    [Theory]
    [InlineData(0, "0:00")]
    [InlineData(0.2, "0:01")]
    [InlineData(59, "0:59")]
    [InlineData(61, "1:01")]
    [InlineData(3599, "59:59")]
    [InlineData(3723, "1:02:03")]
    public void Durations_read_like_a_clock(double seconds, string text) =>
        Assert.Equal(text, ProgressReporter.FormatDuration(TimeSpan.FromSeconds(seconds)));
}
