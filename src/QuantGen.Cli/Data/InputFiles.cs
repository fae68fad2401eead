using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using QuantGen.Cli.Npy;
using QuantGen.Compiler.Ir;

namespace QuantGen.Cli.Data;

/// <summary>
/// The .npy files that feed a model's inputs (calibrate's and evaluate's --data), one per graph input, open for reading
/// a batch at a time. Which file feeds which input: <c>--data name=path</c> names the input; plain paths take the
/// remaining inputs in model order (a single-input model takes <c>--data X.npy</c>). A value is only read as
/// <c>name=path</c> when <c>name</c> is one of the model's inputs, so a path that contains '=' still works. Float inputs
/// read float32 (or uint8 with --scale) files; int64 and int32 inputs (token ids, attention masks) read int64, int32 or
/// uint8 files.
/// </summary>
internal sealed class InputFiles : IDisposable
{
    private readonly NpyReader[] _readers;

    private InputFiles(IReadOnlyList<Value> inputs, IReadOnlyList<string> paths, NpyReader[] readers, long samples)
    {
        Inputs = inputs;
        Paths = paths;
        _readers = readers;
        Samples = samples;
    }

    /// <summary>How many samples the files hold (every file the same).</summary>
    public long Available => _readers[0].Header.SampleCount;

    /// <summary>"'input' 1x1x28x28 from x.npy (float32 (512, 1, 28, 28))" for each input.</summary>
    public string Describe() => string.Join(", ", Inputs.Select((input, i) =>
        $"'{input.Name}' {Shapes.Format(input.Shape!)} from {Paths[i]} ({_readers[i].Header.DescribeType()} {_readers[i].Header.FormatShape()})"));

    /// <summary>The graph inputs, in model order, and the file that feeds each.</summary>
    public IReadOnlyList<Value> Inputs { get; }

    public IReadOnlyList<string> Paths { get; }

    /// <summary>How many samples will be read.</summary>
    public long Samples { get; }

    /// <summary>Matches <paramref name="data"/> to <paramref name="inputs"/> and opens the files.</summary>
    /// <param name="inputs">The optimized graph's inputs, in model order: float, int64 or int32, with known shapes.</param>
    /// <param name="data">The --data values, in command-line order.</param>
    /// <param name="scale">What uint8 data for a float input is divided by; null when --scale was not given.</param>
    /// <param name="wanted">--samples, or null for every sample.</param>
    /// <param name="command">The command, for the help hint of usage errors ("calibrate").</param>
    /// <exception cref="CliException">A usage error (2), a missing file (3) or unusable data (4).</exception>
    public static InputFiles Open(IReadOnlyList<Value> inputs, IReadOnlyList<string> data, float? scale, long? wanted, string command)
    {
        string help = $"quantgen {command} --help";
        var paths = Assign(inputs, data, help);
        var readers = new NpyReader[inputs.Count];
        try
        {
            for (int i = 0; i < inputs.Count; i++)
            {
                Commands.CalibrateCommand.RequireFile(paths[i], "data file");
                readers[i] = OpenReader(paths[i], scale);
            }
            CheckTypes(inputs, paths, readers, scale, help);
            long samples = CheckSamples(inputs, paths, readers.Select(r => r.Header).ToList(), wanted);
            return new InputFiles(inputs, paths, readers, samples);
        }
        catch
        {
            foreach (var reader in readers)
                reader?.Dispose();
            throw;
        }
    }

    /// <summary>One batch per input, each with room for <paramref name="capacity"/> samples.</summary>
    public InputBatch[] CreateBatches(int capacity) => Inputs.Select(input => InputBatch.For(input, capacity)).ToArray();

    /// <summary>Reads the next <paramref name="count"/> samples of every input into <paramref name="batches"/> (from <see cref="CreateBatches"/>).</summary>
    /// <exception cref="CliException">The file ends early or cannot be read, or an int32 input is given a value it cannot hold.</exception>
    public void Read(int count, InputBatch[] batches)
    {
        for (int i = 0; i < _readers.Length; i++)
        {
            int length = Inputs[i].Length;
            for (int s = 0; s < count; s++)
            {
                try
                {
                    bool read = batches[i].Floats is { } floats
                        ? _readers[i].ReadSample(floats.AsSpan(s * length, length))
                        : _readers[i].ReadSample(batches[i].Longs.AsSpan(s * length, length));
                    if (!read)
                        throw new NpyFormatException($"the file ends after {_readers[i].SamplesRead} samples");
                    if (Inputs[i].Type == DataType.Int32)
                        CheckInt32(batches[i].Longs.AsSpan(s * length, length), _readers[i].SamplesRead);
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

    /// <summary>Reads the next sample of every input as tensors of the inputs' shapes and types (the reference executor's inputs).</summary>
    /// <exception cref="CliException">See <see cref="Read"/>.</exception>
    public IEnumerable<IReadOnlyList<Tensor>> ReadSamples()
    {
        var batches = CreateBatches(1);
        for (long i = 0; i < Samples; i++)
        {
            Read(1, batches);
            yield return batches.Select(b => b.ToTensor()).ToList();
        }
    }

    public void Dispose()
    {
        foreach (var reader in _readers)
            reader.Dispose();
    }

    private static void CheckInt32(ReadOnlySpan<long> values, long sample)
    {
        foreach (long v in values)
        {
            if (v is < int.MinValue or > int.MaxValue)
                throw new NpyFormatException(string.Create(CultureInfo.InvariantCulture, $"sample {sample} holds {v}, which the model's int32 input cannot hold"));
        }
    }

    /// <summary>Float inputs take float32 or uint8 (with --scale); integer inputs take int64, int32 or uint8.</summary>
    private static void CheckTypes(IReadOnlyList<Value> inputs, IReadOnlyList<string> paths, NpyReader[] readers, float? scale, string help)
    {
        bool scaled = false;
        for (int i = 0; i < inputs.Count; i++)
        {
            var header = readers[i].Header;
            if (inputs[i].Type == DataType.Float)
            {
                if (!readers[i].IsFloatData)
                    throw new CliException(ExitCodes.BadData,
                        $"{paths[i]} holds {header.DescribeType()} data, but the model's input '{inputs[i].Name}' is float: save it with x.astype(numpy.float32)");
                if (header.Type == NpyDataType.UInt8)
                {
                    if (scale == null)
                        throw CliException.Usage($"{paths[i]} holds uint8 data: pass --scale S to turn it into floats (value / S), e.g. --scale 255 for pixels in [0, 1]", help);
                    scaled = true;
                }
            }
            else if (!readers[i].IsIntegerData)
            {
                throw new CliException(ExitCodes.BadData,
                    $"{paths[i]} holds {header.DescribeType()} data, but the model's input '{inputs[i].Name}' is {inputs[i].Type.ToString().ToLowerInvariant()} (token ids, say): save it with x.astype(numpy.int64)");
            }
        }
        if (scale != null && !scaled)
            throw CliException.Usage($"--scale applies to uint8 data for float inputs; {string.Join(", ", paths)} {(paths.Count == 1 ? "holds" : "hold")} none, and is used as it is", help);
    }

    private static string[] Assign(IReadOnlyList<Value> inputs, IReadOnlyList<string> data, string help)
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
                    throw CliException.Usage($"--data gives input '{inputs[index].Name}' twice", help);
                paths[index] = value.Substring(equals + 1);
                if (paths[index]!.Length == 0)
                    throw CliException.Usage($"--data {value} needs a path after '='", help);
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
            throw CliException.Usage($"{data.Count} --data files for {inputs.Count} input{(inputs.Count == 1 ? "" : "s")} ({names})", help);
        var without = inputs.Where((_, i) => paths[i] == null).Select(v => v.Name).ToList();
        if (without.Count > 0)
            throw CliException.Usage($"no --data for input{(without.Count == 1 ? "" : "s")} {string.Join(", ", without.Select(n => "'" + n + "'"))}: the model's inputs are {names}; give one .npy per input, --data NAME=PATH or in model order", help);
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
