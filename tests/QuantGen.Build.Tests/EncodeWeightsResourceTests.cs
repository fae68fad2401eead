using System;
using System.IO;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using QuantGen.Compiler;
using QuantGen.Compiler.Transport;
using Xunit;

namespace QuantGen.Build.Tests;

/// <summary>The task's side of the weights' resource path: which models take it, and the bytes and manifest it writes.</summary>
public sealed class EncodeWeightsResourceTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "quantgen-build-tests", Guid.NewGuid().ToString("N"));
    private readonly FakeBuildEngine _engine = new();
    private readonly string _model;

    public EncodeWeightsResourceTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "Models"));
        _model = Path.Combine(_root, "Models", "tiny.onnx");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Models", "tiny.onnx"), _model);
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { }
    }

    private string Blob => Path.Combine(_root, "obj", "tiny.onnx.weights");
    private string Manifest => Path.Combine(_root, "obj", "tiny.onnx.qgw");

    private bool Run(string? weights, string? precision = null, long threshold = 32L << 20, string? model = null, string? dimensions = null)
    {
        var item = new TaskItem(model ?? _model);
        item.SetMetadata(EncodeOnnxModels.ModelPathMetadata, "Models/tiny.onnx");
        item.SetMetadata(EncodeOnnxModels.OutputFileMetadata, Path.Combine(_root, "obj", "tiny.onnx.qgm"));
        item.SetMetadata(EncodeOnnxModels.WeightsFileMetadata, Blob);
        item.SetMetadata(EncodeOnnxModels.WeightsManifestMetadata, Manifest);
        if (weights != null) item.SetMetadata(EncodeOnnxModels.WeightsMetadata, weights);
        if (precision != null) item.SetMetadata("QuantGenPrecision", precision);
        if (dimensions != null) item.SetMetadata("QuantGenDimensions", dimensions);
        return new EncodeOnnxModels { BuildEngine = _engine, Models = new ITaskItem[] { item }, WeightsResourceThreshold = threshold }.Execute();
    }

    [Theory]
    [InlineData(Precision.Float32, "Float32")]
    [InlineData(Precision.Int8, null)]
    public void Resource_writes_the_blob_the_compiler_lays_out_and_a_manifest_with_its_hash(Precision precision, string? metadata)
    {
        Assert.True(Run("Resource", metadata), string.Join("\n", _engine.Errors.ConvertAll(e => e.Message)));

        var expected = ModelCompiler.Compile(File.ReadAllBytes(_model), new CompilerOptions { ModelPath = "Models/tiny.onnx", Precision = precision, WeightStorage = WeightStorage.Resource }).Weights!;
        Assert.Equal(expected.Bytes, File.ReadAllBytes(Blob));
        Assert.True(WeightsManifest.TryRead(File.ReadAllText(Manifest), out var manifest));
        Assert.Equal(new WeightsManifest.Content("Models/tiny.onnx", "QuantGen.Weights/Models/tiny.onnx", expected.Bytes.Length, expected.Sha256Hex, precision.ToString()), manifest);
    }

    [Fact]
    public void Auto_takes_the_resource_path_from_the_threshold_and_literals_remove_what_it_wrote()
    {
        Assert.True(Run(null));                      // 209 bytes, under 32 MB
        Assert.False(File.Exists(Manifest));
        Assert.True(Run("Auto", threshold: 100));   // over 100 bytes
        Assert.True(File.Exists(Manifest) && File.Exists(Blob));
        Assert.True(Run("Literals", threshold: 100));
        Assert.False(File.Exists(Manifest));
        Assert.False(File.Exists(Blob));
    }

    [Fact]
    public void A_token_model_compiles_with_the_dimensions_the_item_gives_and_not_without()
    {
        string tokens = Path.Combine(_root, "Models", "tiny_tokens.onnx");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Models", "tiny_tokens.onnx"), tokens);

        Assert.False(Run("Resource", model: tokens));
        Assert.Contains("QG0008", Assert.Single(_engine.Errors).Message, StringComparison.Ordinal);

        Assert.True(Run("Resource", "Float32", model: tokens, dimensions: "sequence=4"), string.Join("\n", _engine.Errors.ConvertAll(e => e.Message)));
        var expected = ModelCompiler.Compile(File.ReadAllBytes(tokens), new CompilerOptions
        {
            ModelPath = "Models/tiny.onnx", Precision = Precision.Float32, Dimensions = new[] { "sequence=4" }, WeightStorage = WeightStorage.Resource,
        }).Weights!;
        Assert.Equal(expected.Bytes, File.ReadAllBytes(Blob));
        Assert.True(WeightsManifest.TryRead(File.ReadAllText(Manifest), out var manifest));
        Assert.Equal("Float32, Dimensions sequence=4", manifest.Options);
    }

    [Fact]
    public void Unknown_mode_or_precision_is_an_error_naming_the_value()
    {
        Assert.False(Run("Mmap"));
        Assert.Contains("QuantGenWeights=\"Mmap\"", _engine.Errors[0].Message, StringComparison.Ordinal);
        Assert.False(Run("Resource", "Float16"));
        Assert.Contains("QuantGenPrecision=\"Float16\"", _engine.Errors[1].Message, StringComparison.Ordinal);
    }
}
