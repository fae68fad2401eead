using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Xml.Linq;
using Xunit;

namespace QuantGen.Package.Tests;

/// <summary>What the two packages hold, and that the tool installs and runs.</summary>
[Collection(PackageCollection.Name)]
public class PackageContentTests
{
    private readonly PackedFeed _feed;

    public PackageContentTests(PackedFeed feed) => _feed = feed;

    [Fact]
    public void QuantGen_package_holds_the_generator_the_task_and_the_targets_and_nothing_for_run_time()
    {
        using var zip = ZipFile.OpenRead(_feed.PackagePath);
        var files = zip.Entries.Select(e => e.FullName)
            .Where(n => !n.StartsWith("_rels/", StringComparison.Ordinal) && !n.StartsWith("package/", StringComparison.Ordinal) && n != "[Content_Types].xml")
            .OrderBy(n => n, StringComparer.Ordinal)
            .ToArray();

        Assert.Equal(new[]
        {
            "QuantGen.nuspec",
            "README.md",
            "analyzers/dotnet/cs/Google.Protobuf.dll",
            "analyzers/dotnet/cs/QuantGen.Compiler.dll",
            "analyzers/dotnet/cs/QuantGen.Generator.dll",
            "build/QuantGen.props",
            "build/QuantGen.targets",
            "buildTransitive/QuantGen.props",
            "buildTransitive/QuantGen.targets",
            // The task runs the model compiler for the weights' resource path (big models).
            "tasks/netstandard2.0/Google.Protobuf.dll",
            "tasks/netstandard2.0/QuantGen.Build.dll",
            "tasks/netstandard2.0/QuantGen.Compiler.dll",
        }, files);

        using var nuspecStream = zip.GetEntry("QuantGen.nuspec")!.Open();
        var metadata = XDocument.Load(nuspecStream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        Assert.Equal("true", metadata.Elements().Single(e => e.Name.LocalName == "developmentDependency").Value);
        Assert.DoesNotContain(metadata.Elements(), e => e.Name.LocalName == "dependencies");
        Assert.Equal(_feed.Version, metadata.Elements().Single(e => e.Name.LocalName == "version").Value);
    }

    [Fact]
    public void Cli_tool_installs_and_its_four_commands_run_on_the_sample_model()
    {
        // The command a user runs with a folder feed. It cannot be combined with source mapping, so it runs
        // outside the consumers' folder, where a nuget.config clears the sources: the feed is the only one.
        string folder = Path.Combine(_feed.Root, "tool-install");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "nuget.config"), """
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
              </packageSources>
            </configuration>
            """);
        string toolPath = Path.Combine(folder, "tools");
        var install = DotNet.Run(folder, _feed.Environment,
            "tool", "install", "--tool-path", toolPath, "--add-source", _feed.Feed, "QuantGen.Cli", "--version", _feed.Version);
        Assert.True(install.ExitCode == 0, install.ToString());

        string quantgen = Path.Combine(toolPath, OperatingSystem.IsWindows() ? "quantgen.exe" : "quantgen");
        var version = DotNet.Exec(quantgen, folder, _feed.Environment, "--version");
        Assert.True(version.ExitCode == 0, version.ToString());
        Assert.Equal(_feed.Version, version.Output.Trim());

        var help = DotNet.Exec(quantgen, folder, _feed.Environment, "--help");
        Assert.True(help.ExitCode == 0, help.ToString());
        Assert.Contains("quantgen --version", help.Output, StringComparison.Ordinal);
        Assert.Contains("quantgen calibrate MODEL.onnx --data X.npy", help.Output, StringComparison.Ordinal);
        Assert.Contains("quantgen inspect MODEL.onnx [--calibration PATH]", help.Output, StringComparison.Ordinal);
        Assert.Contains("Exit codes:", help.Output, StringComparison.Ordinal);

        var usage = DotNet.Exec(quantgen, folder, _feed.Environment, "calibrate");
        Assert.True(usage.ExitCode == 2, usage.ToString());

        // A real calibration through the installed tool: the compiler travels with it. Two all-zero images, float32.
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Models", "fashion_cnn.onnx"), Path.Combine(folder, "fashion_cnn.onnx"), overwrite: true);
        File.WriteAllBytes(Path.Combine(folder, "zeros.npy"), Float32Npy(2, 784));
        var calibrate = DotNet.Exec(quantgen, folder, _feed.Environment, "calibrate", "fashion_cnn.onnx", "--data", "zeros.npy");
        Assert.True(calibrate.ExitCode == 0, calibrate.ToString());
        Assert.Contains("wrote fashion_cnn.calib.json: mse, 2 samples, ", calibrate.Output, StringComparison.Ordinal);
        string json = File.ReadAllText(Path.Combine(folder, "fashion_cnn.calib.json"));
        Assert.Contains("\"format\": \"quantgen-calibration\"", json, StringComparison.Ordinal);
        Assert.Contains("\"samples\": 2,", json, StringComparison.Ordinal);

        // inspect, export and evaluate through the installed tool, with the calibration it just wrote (ONNX Runtime's
        // native library and ScottPlot travel with the tool: evaluate runs the FP32 model in ORT).
        var inspect = DotNet.Exec(quantgen, folder, _feed.Environment, "inspect", "fashion_cnn.onnx");
        Assert.True(inspect.ExitCode == 0, inspect.ToString());
        Assert.Contains("All operators are supported.", inspect.Output, StringComparison.Ordinal);
        var export = DotNet.Exec(quantgen, folder, _feed.Environment, "export", "fashion_cnn.onnx");
        Assert.True(export.ExitCode == 0, export.ToString());
        Assert.True(new FileInfo(Path.Combine(folder, "fashion_cnn.int8.onnx")).Length > 30_000, export.ToString());
        var evaluate = DotNet.Exec(quantgen, folder, _feed.Environment, "evaluate", "fashion_cnn.onnx", "--data", "zeros.npy", "--plot", "sqnr.svg");
        Assert.True(evaluate.ExitCode == 0, evaluate.ToString());
        Assert.Contains("no labels: INT8 against FP32 only", evaluate.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(folder, "sqnr.svg")), evaluate.ToString());
    }

    /// <summary>A .npy file (format 1.0) of float32 zeros, shape (samples, length).</summary>
    private static byte[] Float32Npy(int samples, int length)
    {
        string header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({samples}, {length}), }}";
        int total = (10 + header.Length + 1 + 63) / 64 * 64; // the header is padded so the data starts 64-aligned
        header = header.PadRight(total - 10 - 1) + "\n";
        using var stream = new MemoryStream();
        stream.Write(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)header.Length, 0 });
        stream.Write(System.Text.Encoding.ASCII.GetBytes(header));
        stream.Write(new byte[samples * length * 4]);
        return stream.ToArray();
    }
}
