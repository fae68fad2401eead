using System;
using System.Globalization;
using System.IO;
using System.Linq;

namespace QuantGen.Package.Tests;

/// <summary>A console app in its own folder under <see cref="PackedFeed.ConsumersRoot"/>, referencing the packed QuantGen.</summary>
public sealed class ConsumerProject
{
    public const string TargetFramework = "net10.0";

    private readonly PackedFeed _feed;

    public ConsumerProject(PackedFeed feed, string name)
    {
        _feed = feed;
        Folder = Path.Combine(feed.ConsumersRoot, name);
        ProjectDirectory = Path.Combine(Folder, "app");
        Directory.CreateDirectory(ProjectDirectory);
    }

    /// <summary>Holds the project folder, and room beside it for files outside the project.</summary>
    public string Folder { get; }

    public string ProjectDirectory { get; }

    public string IntermediateDirectory => Path.Combine(ProjectDirectory, "obj", "Debug", TargetFramework);

    /// <summary>Writes app.csproj with the given items (warnings are errors, so a clean build has none).</summary>
    public ConsumerProject WithProject(string items, string properties = "")
    {
        File.WriteAllText(Path.Combine(ProjectDirectory, "app.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>{TargetFramework}</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>disable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
            {properties}
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="QuantGen" Version="{_feed.Version}" />
              </ItemGroup>
              <ItemGroup>
            {items}
              </ItemGroup>
            </Project>
            """);
        return this;
    }

    /// <summary>A Program.cs that runs the model declared at <paramref name="modelPath"/> on <paramref name="input"/> and prints the result.</summary>
    public ConsumerProject WithTinyModelProgram(string modelPath, float[] input)
    {
        string values = string.Join(", ", input.Select(v => v.ToString("R", CultureInfo.InvariantCulture) + "f"));
        File.WriteAllText(Path.Combine(ProjectDirectory, "Program.cs"), $$"""
            using System;
            using System.Globalization;

            float[] input = { {{values}} };
            float[] output = new float[Tiny.OutputLength];
            Tiny.Predict(input, output);
            Console.WriteLine(FormattableString.Invariant($"InputLength={Tiny.InputLength}"));
            Console.WriteLine(FormattableString.Invariant($"OutputLength={Tiny.OutputLength}"));
            Console.WriteLine("Output=" + string.Join(" ", Array.ConvertAll(output, v => v.ToString("R", CultureInfo.InvariantCulture))));

            [QuantGen.OnnxModel("{{modelPath}}", Precision = QuantGen.Precision.Float32)]
            public static partial class Tiny;
            """);
        return this;
    }

    /// <summary>Copies a model from the test's Models folder to <paramref name="relativePath"/> (relative to <see cref="Folder"/>).</summary>
    public ConsumerProject WithFile(string model, string relativePath)
    {
        string target = Path.Combine(Folder, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Models", model), target, overwrite: true);
        return this;
    }

    public CommandResult Build(params string[] arguments) =>
        DotNet.Run(ProjectDirectory, _feed.Environment, new[] { "build", "-c", "Debug" }.Concat(arguments).ToArray());

    public CommandResult Run() => DotNet.Run(ProjectDirectory, _feed.Environment, "run", "--no-build", "-c", "Debug");

    public CommandResult Dotnet(params string[] arguments) => DotNet.Run(ProjectDirectory, _feed.Environment, arguments);
}
