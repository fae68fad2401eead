using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using NuGet.Configuration;
using Xunit;

namespace QuantGen.Package.Tests;

/// <summary>
/// Packs the repository once (the QuantGen package and the QuantGen.Cli tool) into a folder feed under a
/// fresh temp folder, with its own NuGet packages folder: a QuantGen of the same version cached by an
/// earlier run or build can never be picked up instead of the one just packed.
/// </summary>
public sealed class PackedFeed : IDisposable
{
    public PackedFeed()
    {
        RepoRoot = FindRepoRoot();
        Root = Path.Combine(Path.GetTempPath(), "quantgen-package-tests", Guid.NewGuid().ToString("N").Substring(0, 12));
        Feed = Path.Combine(Root, "feed");
        PackagesFolder = Path.Combine(Root, "packages");
        ConsumersRoot = Path.Combine(Root, "consumers");
        Directory.CreateDirectory(Feed);
        Directory.CreateDirectory(ConsumersRoot);

        // Keep MSBuild from importing anything from the folders above the consumers.
        foreach (string file in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
            File.WriteAllText(Path.Combine(ConsumersRoot, file), "<Project />\n");
        WriteConsumersNuGetConfig();

        foreach (string project in new[] { "nuget/QuantGen/QuantGen.csproj", "src/QuantGen.Cli/QuantGen.Cli.csproj" })
        {
            var pack = DotNet.Run(RepoRoot, null, "pack", Path.Combine(RepoRoot, project), "-c", "Release", "-o", Feed);
            if (pack.ExitCode != 0) throw new InvalidOperationException("Packing failed:\n" + pack);
        }

        PackagePath = Path.Combine(Feed, Directory.GetFiles(Feed, "QuantGen.*.nupkg").Select(Path.GetFileName)
            .Single(name => Regex.IsMatch(name!, @"^QuantGen\.\d+\.\d+\.\d+.*\.nupkg$"))!);
        Version = Regex.Match(Path.GetFileName(PackagePath), @"^QuantGen\.(.+)\.nupkg$").Groups[1].Value;
        CliPackagePath = Path.Combine(Feed, $"QuantGen.Cli.{Version}.nupkg");
    }

    private const string FeedName = "quantgen-under-test";

    public string RepoRoot { get; }

    /// <summary>The temp folder holding the feed, the packages folder and the consumers.</summary>
    public string Root { get; }

    /// <summary>Holds every consumer project, below a nuget.config that points at the feed.</summary>
    public string ConsumersRoot { get; }

    public string Feed { get; }
    public string PackagesFolder { get; }
    public string PackagePath { get; }
    public string CliPackagePath { get; }
    public string Version { get; }

    /// <summary>For commands run in consumers: NUGET_PACKAGES wins over nuget.config, so set it too.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["NUGET_PACKAGES"] = PackagesFolder,
        ["DOTNET_CLI_UI_LANGUAGE"] = "en",
    };

    public void Dispose()
    {
        if (System.Environment.GetEnvironmentVariable("QUANTGEN_KEEP_TEST_OUTPUT") == "1") return;
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// The consumers' nuget.config: the feed, next to the machine's own sources (this file is merged with
    /// the user's configuration), and a source mapping that takes QuantGen and QuantGen.Cli from the feed
    /// only, so a package of the same name and version elsewhere can never stand in for the one under test.
    /// </summary>
    private void WriteConsumersNuGetConfig()
    {
        var machineSources = new PackageSourceProvider(Settings.LoadDefaultSettings(Root))
            .LoadPackageSources().Where(s => s.IsEnabled).Select(s => s.Name).ToList();

        var mapping = new XElement("packageSourceMapping",
            new XElement("packageSource", new XAttribute("key", FeedName),
                new XElement("package", new XAttribute("pattern", "QuantGen")),
                new XElement("package", new XAttribute("pattern", "QuantGen.Cli"))));
        foreach (string source in machineSources)
            mapping.Add(new XElement("packageSource", new XAttribute("key", source), new XElement("package", new XAttribute("pattern", "*"))));

        new XDocument(new XElement("configuration",
            new XElement("config", new XElement("add", new XAttribute("key", "globalPackagesFolder"), new XAttribute("value", PackagesFolder))),
            new XElement("packageSources", new XElement("add", new XAttribute("key", FeedName), new XAttribute("value", Feed))),
            mapping)).Save(Path.Combine(ConsumersRoot, "nuget.config"));
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "QuantGen.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("QuantGen.sln not found above " + AppContext.BaseDirectory);
    }
}

[CollectionDefinition(Name)]
public sealed class PackageCollection : ICollectionFixture<PackedFeed>
{
    // One collection: the consumer builds share the packed feed and run one at a time (they are CPU-bound).
    public const string Name = "Packed QuantGen";
}
