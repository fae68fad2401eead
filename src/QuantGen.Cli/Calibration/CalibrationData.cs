using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using QuantGen.Cli.Npy;
using QuantGen.Compiler.Ir;

namespace QuantGen.Cli.Calibration;

/// <summary>
/// The .npy files of a calibration, one per graph input, open for reading a batch at a time. Which file feeds which
/// input: <c>--data name=path</c> names the input; plain paths take the remaining inputs in model order (a single-input
/// model takes <c>--data X.npy</c>). A value is only read as <c>name=path</c> when <c>name</c> is one of the model's
/// inputs, so a path that contains '=' still works.
/// </summary>
internal sealed class CalibrationData : IDisposable
{
    private readonly NpyReader[] _readers;

    private CalibrationData(IReadOnlyList<Value> inputs, IReadOnlyList<string> paths, NpyReader[] readers, long samples)
    {
        Inputs = inputs;
        Paths = paths;
        _readers = readers;
        Samples = samples;
    }

    /// <summary>The graph inputs, in model order, and the file that feeds each.</summary>
    public IReadOnlyList<Value> Inputs { get; }

    public IReadOnlyList<string> Paths { get; }

    public IReadOnlyList<NpyHeader> Headers => _readers.Select(r => r.Header).ToList();

    /// <summary>How many samples will be read.</summary>
    public long Samples { get; }

    /// <summary>Matches <paramref name="data"/> to <paramref name="inputs"/> and opens the files.</summary>
    /// <param name="inputs">The optimized graph's inputs, in model order: float, with known shapes.</param>
    /// <param name="data">The --data values, in command-line order.</param>
    /// <param name="scale">What uint8 data is divided by; null when --scale was not given.</param>
    /// <param name="wanted">--samples, or null for every sample.</param>
    /// <exception cref="CliException">A usage error (2), a missing file (3) or unusable data (4).</exception>
    public static CalibrationData Open(IReadOnlyList<Value> inputs, IReadOnlyList<string> data, float? scale, long? wanted)
    {
        var paths = Assign(inputs, data);
        var readers = new NpyReader[inputs.Count];
        try
        {
            for (int i = 0; i < inputs.Count; i++)
            {
                Commands.CalibrateCommand.RequireFile(paths[i], "data file");
                readers[i] = OpenReader(paths[i], scale);
            }
            var headers = readers.Select(r => r.Header).ToList();
            if (headers.Any(h => h.Type == NpyDataType.UInt8) && scale == null)
            {
                string path = paths[headers.FindIndex(h => h.Type == NpyDataType.UInt8)];
                throw CliException.Usage($"{path} holds uint8 data: pass --scale S to turn it into floats (value / S), e.g. --scale 255 for pixels in [0, 1]", "quantgen calibrate --help");
            }
            if (scale != null && headers.All(h => h.Type == NpyDataType.Float32))
                throw CliException.Usage($"--scale applies to uint8 data; {string.Join(", ", paths)} {(paths.Length == 1 ? "holds" : "hold")} float32, which is used as it is", "quantgen calibrate --help");
            long samples = CheckSamples(inputs, paths, headers, wanted);
            return new CalibrationData(inputs, paths, readers, samples);
        }
        catch
        {
            foreach (var reader in readers)
                reader?.Dispose();
            throw;
        }
    }

    /// <summary>Reads the next <paramref name="count"/> samples of every input into <paramref name="buffers"/> (one per input, at least count × its length).</summary>
    /// <exception cref="CliException">The file ends early or cannot be read.</exception>
    public void Read(int count, float[][] buffers)
    {
        for (int i = 0; i < _readers.Length; i++)
        {
            int length = Inputs[i].Length;
            for (int s = 0; s < count; s++)
            {
                try
                {
                    if (!_readers[i].ReadSample(buffers[i].AsSpan(s * length, length)))
                        throw new NpyFormatException($"the file ends after {_readers[i].SamplesRead} samples");
                }
                catch (NpyFormatException e)
                {
                    throw new CliException(ExitCodes.BadData, $"{Paths[i]}: {e.Message}");
                }
                catch (IOException e)
                {
                    throw new CliException(ExitCodes.FileNotFound, $"{Paths[i]}: cannot read the data file: {e.Message}");
                }
            }
        }
    }

    public void Dispose()
    {
        foreach (var reader in _readers)
            reader.Dispose();
    }

    private static string[] Assign(IReadOnlyList<Value> inputs, IReadOnlyList<string> data)
    {
        var byName = inputs.Select((v, i) => (v.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
        var paths = new string?[inputs.Count];
        var unnamed = new List<string>();
        foreach (string value in data)
        {
            int equals = value.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && byName.TryGetValue(value.Substring(0, equals), out int index))
            {
                if (paths[index] != null)
                    throw CliException.Usage($"--data gives input '{inputs[index].Name}' twice", "quantgen calibrate --help");
                paths[index] = value.Substring(equals + 1);
                if (paths[index]!.Length == 0)
                    throw CliException.Usage($"--data {value} needs a path after '='", "quantgen calibrate --help");
            }
            else
            {
                unnamed.Add(value);
            }
        }
        int next = 0;
        for (int i = 0; i < paths.Length && next < unnamed.Count; i++)
        {
            if (paths[i] == null)
                paths[i] = unnamed[next++];
        }
        string names = string.Join(", ", inputs.Select(v => $"'{v.Name}' {Shapes.Format(v.Shape!)}"));
        if (next < unnamed.Count)
            throw CliException.Usage($"{data.Count} --data files for {inputs.Count} input{(inputs.Count == 1 ? "" : "s")} ({names})", "quantgen calibrate --help");
        var without = inputs.Where((_, i) => paths[i] == null).Select(v => v.Name).ToList();
        if (without.Count > 0)
            throw CliException.Usage($"no --data for input{(without.Count == 1 ? "" : "s")} {string.Join(", ", without.Select(n => "'" + n + "'"))}: the model's inputs are {names}; give one .npy per input, --data NAME=PATH or in model order", "quantgen calibrate --help");
        return paths!;
    }

    private static NpyReader OpenReader(string path, float? scale)
    {
        try
        {
            return NpyReader.Open(path, scale ?? 1f);
        }
        catch (NpyFormatException e)
        {
            throw new CliException(ExitCodes.BadData, $"{path}: {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.FileNotFound, $"cannot read the data file {path}: {e.Message}");
        }
    }

    /// <summary>The number of samples to run, once each file's sample size is known to match its input.</summary>
    private static long CheckSamples(IReadOnlyList<Value> inputs, IReadOnlyList<string> paths, IReadOnlyList<NpyHeader> headers, long? wanted)
    {
        for (int i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            var header = headers[i];
            string expected = "(N, " + string.Join(", ", input.Shape!.Skip(input.Shape!.Length > 1 && input.Shape[0] == 1 ? 1 : 0)) + ")";
            if (header.SampleLength != input.Length)
                throw new CliException(ExitCodes.BadData, string.Create(CultureInfo.InvariantCulture,
                    $"{paths[i]}: each sample of {header.FormatShape()} holds {header.SampleLength} values, but the model's input '{input.Name}' ({Shapes.Format(input.Shape!)}) needs {input.Length}: save the array with shape {expected}, first axis = sample"));
            if (header.SampleCount == 0)
                throw new CliException(ExitCodes.BadData, $"{paths[i]}: the array {header.FormatShape()} holds no samples");
        }
        long available = headers.Min(h => h.SampleCount);
        if (headers.Any(h => h.SampleCount != available))
            throw new CliException(ExitCodes.BadData, string.Create(CultureInfo.InvariantCulture,
                $"the --data files hold different numbers of samples ({string.Join(", ", paths.Select((p, i) => $"{p}: {headers[i].SampleCount}"))}): sample k of every input is one model run"));
        if (wanted is long n && n > available)
            throw new CliException(ExitCodes.BadData, string.Create(CultureInfo.InvariantCulture,
                $"--samples {n}, but {paths[0]} holds only {available} samples"));
        return wanted ?? available;
    }
}
