using System;
using System.Diagnostics;
using System.Text;
using System.Threading.Tasks;
using QuantGen.Compiler.Calibration;
using Xunit;

namespace QuantGen.Compiler.Tests.Calibration;

/// <summary>
/// The calibration file is read inside the compiler, where a crash or a hang costs the user their build: any text
/// must end, quickly, in a file or a <see cref="CalibrationFormatException"/>, never in another exception.
/// </summary>
public class CalibrationFuzzTests
{
    private const string Alphabet = "{}[]:,\"\\/ \t\r\n0123456789.-+eEtrufalsn" + "abcxyz\u00e9\u20ac\ud83d\ude00\u0000\u001f";

    [Fact]
    public void Random_text_is_a_result_or_a_FormatException()
    {
        RunBounded(() =>
        {
            var random = new Random(1234);
            for (int i = 0; i < 30_000; i++)
            {
                var sb = new StringBuilder();
                int length = random.Next(0, 60);
                for (int j = 0; j < length; j++)
                    sb.Append(random.Next(8) == 0 ? (char)random.Next(0, 0x10000) : Alphabet[random.Next(Alphabet.Length)]);
                string text = sb.ToString();
                ReadJson(text);
                ReadCalibration(text);
            }
        });
    }

    [Fact]
    public void Every_truncation_of_a_valid_file_is_a_result_or_a_FormatException()
    {
        RunBounded(() =>
        {
            string valid = CalibrationFileTests.Sample().Write();
            // Every prefix that stops before the closing brace.
            for (int length = 0; length < valid.TrimEnd().Length; length++)
            {
                string prefix = valid.Substring(0, length);
                ReadJson(prefix);
                Assert.False(CalibrationFile.TryRead(prefix, out _, out var error), "a truncated file was accepted at length " + length);
                Assert.True(error!.Line >= 1, "no position for: " + error.Message);
            }
            Assert.NotNull(ReadCalibration(valid));
        });
    }

    [Fact]
    public void Mutations_of_a_valid_file_are_a_result_or_a_FormatException()
    {
        RunBounded(() =>
        {
            string valid = CalibrationFileTests.Sample().Write();
            var random = new Random(99);
            int accepted = 0;
            for (int i = 0; i < 20_000; i++)
            {
                var sb = new StringBuilder(valid);
                int edits = 1 + random.Next(4);
                for (int e = 0; e < edits && sb.Length > 0; e++)
                {
                    int at = random.Next(sb.Length);
                    switch (random.Next(4))
                    {
                        case 0: sb.Remove(at, 1); break;
                        case 1: sb.Insert(at, Alphabet[random.Next(Alphabet.Length)]); break;
                        case 2: sb[at] = Alphabet[random.Next(Alphabet.Length)]; break;
                        default: sb.Remove(at, Math.Min(sb.Length - at, random.Next(1, 40))); break;
                    }
                }
                if (ReadCalibration(sb.ToString()) != null)
                    accepted++;
            }
            // Some edits are harmless (a digit of a count, whitespace); most are not.
            Assert.InRange(accepted, 1, 19_999);
        });
    }

    [Fact]
    public void Deep_or_huge_input_is_refused_without_a_crash()
    {
        ReadCalibration(new string('{', 100_000));
        ReadCalibration("{\"format\": \"quantgen-calibration\", \"version\": 1, \"x\": " + new string('[', 10_000));
        ReadCalibration("\"" + new string('\\', 100_001));
        ReadCalibration("{\"a\": 1" + new string(' ', 1_000_000));
    }

    private static JsonNode? ReadJson(string text)
    {
        try
        {
            return JsonReader.Parse(text);
        }
        catch (JsonFormatException e)
        {
            Assert.True(e.Line >= 1 && e.Column >= 1, e.Message);
            return null;
        }
    }

    private static CalibrationFile? ReadCalibration(string text)
    {
        try
        {
            return CalibrationFile.Read(text);
        }
        catch (CalibrationFormatException e)
        {
            Assert.False(string.IsNullOrWhiteSpace(e.Problem));
            return null;
        }
    }

    /// <summary>Fails instead of hanging the test run.</summary>
    private static void RunBounded(Action body)
    {
        var watch = Stopwatch.StartNew();
        var task = Task.Run(body);
        Assert.True(task.Wait(TimeSpan.FromMinutes(2)), "the reader took more than 2 minutes: a hang?");
        task.GetAwaiter().GetResult();
        Assert.True(watch.Elapsed < TimeSpan.FromMinutes(2));
    }
}
