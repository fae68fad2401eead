using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using FashionMnist;
using QuantGen.Cli;

namespace QuantGen.Cli.Tests;

/// <summary>Writes .npy files the way numpy.save does (or damaged on purpose), for the reader and the command.</summary>
internal static class NpyWriter
{
    /// <summary>The bytes of a .npy file: magic, version, header length, the dict padded with spaces to a multiple of 64 and '\n', then the data.</summary>
    public static byte[] Bytes(string descr, long[] shape, byte[] data, int version = 1, bool fortranOrder = false, string? header = null)
    {
        header ??= $"{{'descr': '{descr}', 'fortran_order': {(fortranOrder ? "True" : "False")}, 'shape': {PythonTuple(shape)}, }}";
        int lengthBytes = version == 1 ? 2 : 4;
        int unpadded = 6 + 2 + lengthBytes + header.Length + 1;
        header += new string(' ', (64 - unpadded % 64) % 64) + "\n";
        var encoding = version == 3 ? Encoding.UTF8 : Encoding.Latin1;
        byte[] headerBytes = encoding.GetBytes(header);
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)version, 0 };
        if (version == 1)
            bytes.AddRange(BitConverter.GetBytes((ushort)headerBytes.Length));
        else
            bytes.AddRange(BitConverter.GetBytes((uint)headerBytes.Length));
        bytes.AddRange(headerBytes);
        bytes.AddRange(data);
        return bytes.ToArray();
    }

    public static byte[] Float32(long[] shape, IEnumerable<float> values, int version = 1) =>
        Bytes("<f4", shape, values.SelectMany(BitConverter.GetBytes).ToArray(), version);

    public static byte[] UInt8(long[] shape, byte[] values, int version = 1) =>
        Bytes("|u1", shape, values, version);

    public static string PythonTuple(long[] shape) =>
        shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";
}

/// <summary>The sample's CNN and the first Fashion-MNIST training images, as floats (pixel / 255) and as bytes.</summary>
internal static class Samples
{
    private static readonly Lazy<FashionMnistData> s_images = new(() => FashionMnistData.FromFiles(
        Path.Combine(AppContext.BaseDirectory, "Data", "train-images-idx3-ubyte.slice512.gz"),
        Path.Combine(AppContext.BaseDirectory, "Data", "train-labels-idx1-ubyte.slice512.gz"),
        count: 32));

    public static string ModelPath => Path.Combine(AppContext.BaseDirectory, "Models", "fashion_cnn.onnx");

    /// <summary>The first <paramref name="count"/> images (at most 32), each 784 floats holding pixel / 255.</summary>
    public static IReadOnlyList<float[]> Images(int count) => s_images.Value.Images.Take(count).ToList();

    /// <summary>The same images as the bytes they came from (every float is an exact k / 255f).</summary>
    public static byte[] Pixels(int count) =>
        Images(count).SelectMany(image => image.Select(p => (byte)Math.Round(p * 255f))).ToArray();
}

/// <summary>A fresh folder under the system's temporary folder, deleted at the end.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "quantgen-cli-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes <paramref name="bytes"/> to a file of the folder and returns its path.</summary>
    public string Write(string name, byte[] bytes)
    {
        string path = File(name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>A copy of the sample model in this folder, so the default output lands here.</summary>
    public string CopyModel(string name = "fashion_cnn.onnx")
    {
        string path = File(name);
        System.IO.File.Copy(Samples.ModelPath, path);
        return path;
    }

    /// <summary>Runs quantgen calibrate on <paramref name="model"/> into a new file of this folder, which it must write, and reads it.</summary>
    public QuantGen.Compiler.Calibration.CalibrationFile Calibrate(string model, params string[] options)
    {
        string output = File($"out{Guid.NewGuid():N}.calib.json");
        var result = CliResult.Run(new[] { "calibrate", model, "-o", output }.Concat(options).ToArray());
        Xunit.Assert.True(result.ExitCode == 0, result.ToString());
        return QuantGen.Compiler.Calibration.CalibrationFile.Read(System.IO.File.ReadAllText(output));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>What a run of the tool in process printed and returned.</summary>
internal sealed record CliResult(int ExitCode, string Out, string Error)
{
    public static CliResult Run(params string[] args)
    {
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        int code = Program.Run(args, stdout, stderr);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }

    public override string ToString() => $"exit code {ExitCode}\nstdout:\n{Out}\nstderr:\n{Error}";
}
