using System;
using System.IO;
using System.Linq;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using QuantGen.Compiler.Transport;
using Xunit;

namespace QuantGen.Build.Tests;

public sealed class EncodeOnnxModelsTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "quantgen-build-tests", Guid.NewGuid().ToString("N"));
    private readonly FakeBuildEngine _engine = new();

    public EncodeOnnxModelsTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "Models"));
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { }
    }

    private string CopyModel(string name, string folder = "Models")
    {
        string source = Path.Combine(AppContext.BaseDirectory, "Models", name);
        string target = Path.Combine(_root, folder, name);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Copy(source, target, overwrite: true);
        return target;
    }

    private static ITaskItem Item(string model, string modelPath, string output, string? dependencyFile = null)
    {
        var item = new TaskItem(model);
        item.SetMetadata(EncodeOnnxModels.ModelPathMetadata, modelPath);
        item.SetMetadata(EncodeOnnxModels.OutputFileMetadata, output);
        if (dependencyFile != null) item.SetMetadata(EncodeOnnxModels.DependencyFileMetadata, dependencyFile);
        return item;
    }

    private bool Run(params ITaskItem[] models) => Run(out _, models);

    private bool Run(out ITaskItem[] written, params ITaskItem[] models)
    {
        var task = new EncodeOnnxModels { BuildEngine = _engine, Models = models };
        bool ok = task.Execute();
        written = task.WrittenFiles;
        return ok;
    }

    [Fact]
    public void Writes_a_qgm_the_generator_reads_back_byte_for_byte()
    {
        string model = CopyModel("tiny.onnx");
        string output = Path.Combine(_root, "obj", "quantgen", "Models", "tiny.onnx.qgm");

        Assert.True(Run(out var written, Item(model, "Models/tiny.onnx", output)));

        Assert.Empty(_engine.Errors);
        Assert.Equal(new[] { output }, written.Select(w => w.ItemSpec));
        var payload = ModelTextFormat.Read(File.ReadAllText(output));
        Assert.Equal("Models/tiny.onnx", payload.Path);
        Assert.Equal(model, payload.FullPath);
        Assert.Equal(File.ReadAllBytes(model), payload.Model);
        Assert.Empty(payload.ExternalFiles);
        Assert.True(ModelTextFormat.TryReadHeader(File.ReadAllText(output), out string path, out _));
        Assert.Equal("Models/tiny.onnx", path);
    }

    [Fact]
    public void Output_is_plain_ascii_text_without_byte_order_mark()
    {
        string model = CopyModel("tiny.onnx");
        string output = Path.Combine(_root, "obj", "tiny.onnx.qgm");
        Assert.True(Run(Item(model, "Models/tiny.onnx", output)));

        byte[] bytes = File.ReadAllBytes(output);
        Assert.All(bytes, b => Assert.True(b == (byte)'\n' || (b >= 0x20 && b < 0x7F), $"byte 0x{b:X2}"));
        Assert.StartsWith(ModelTextFormat.Magic + "\n", File.ReadAllText(output), StringComparison.Ordinal);
    }

    [Fact]
    public void Carries_external_data_and_lists_it_for_the_targets()
    {
        string model = CopyModel("tiny_external.onnx");
        string weights = CopyModel("tiny_external.weights");
        string output = Path.Combine(_root, "obj", "tiny_external.onnx.qgm");
        string deps = output + ".deps";

        Assert.True(Run(Item(model, "Models/tiny_external.onnx", output, deps)));

        var payload = ModelTextFormat.Read(File.ReadAllText(output));
        var external = Assert.Single(payload.ExternalFiles);
        Assert.Equal("tiny_external.weights", external.Key);
        Assert.Equal(File.ReadAllBytes(weights), external.Value);
        Assert.Equal(weights + "\n", File.ReadAllText(deps));
    }

    [Fact]
    public void Missing_external_data_is_left_out_silently_for_the_generator_to_report()
    {
        string model = CopyModel("tiny_external.onnx");
        string output = Path.Combine(_root, "obj", "tiny_external.onnx.qgm");
        string deps = output + ".deps";

        Assert.True(Run(Item(model, "Models/tiny_external.onnx", output, deps)));

        Assert.Empty(_engine.Errors);
        Assert.Empty(_engine.Warnings);
        Assert.Empty(ModelTextFormat.Read(File.ReadAllText(output)).ExternalFiles);
        Assert.False(File.Exists(deps));
    }

    [Fact]
    public void External_data_outside_the_model_folder_is_never_read()
    {
        File.WriteAllBytes(Path.Combine(_root, "secret.bin"), new byte[] { 1, 2, 3, 4 });
        File.WriteAllBytes(Path.Combine(_root, "Models", "inside.bin"), new byte[] { 5, 6, 7, 8 });
        var graph = new ProtoWriter()
            .Message(5, ProtoWriter.ExternalTensor("a", "../secret.bin"))
            .Message(5, ProtoWriter.ExternalTensor("b", Path.Combine(_root, "secret.bin")))
            .Message(5, ProtoWriter.ExternalTensor("c", "inside.bin"));
        string model = Path.Combine(_root, "Models", "crafted.onnx");
        File.WriteAllBytes(model, ProtoWriter.Model(graph));
        string output = Path.Combine(_root, "obj", "crafted.onnx.qgm");

        Assert.True(Run(Item(model, "Models/crafted.onnx", output)));

        var external = Assert.Single(ModelTextFormat.Read(File.ReadAllText(output)).ExternalFiles);
        Assert.Equal("inside.bin", external.Key);
        Assert.Empty(_engine.Errors);
    }

    [Fact]
    public void Garbage_model_bytes_are_carried_as_they_are()
    {
        // Not the task's business: the generator reports a malformed model with its location.
        string model = Path.Combine(_root, "Models", "garbage.onnx");
        var bytes = new byte[1000];
        new Random(42).NextBytes(bytes);
        File.WriteAllBytes(model, bytes);
        string output = Path.Combine(_root, "obj", "garbage.onnx.qgm");

        Assert.True(Run(Item(model, "Models/garbage.onnx", output)));

        Assert.Equal(bytes, ModelTextFormat.Read(File.ReadAllText(output)).Model);
    }

    [Fact]
    public void Unchanged_content_is_not_rewritten()
    {
        string model = CopyModel("tiny.onnx");
        string output = Path.Combine(_root, "obj", "tiny.onnx.qgm");
        Assert.True(Run(Item(model, "Models/tiny.onnx", output)));
        var stamp = new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(output, stamp);

        Assert.True(Run(out var written, Item(model, "Models/tiny.onnx", output)));

        Assert.Empty(written);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(output));
    }

    [Fact]
    public void Changed_content_is_rewritten()
    {
        string model = CopyModel("tiny.onnx");
        string output = Path.Combine(_root, "obj", "tiny.onnx.qgm");
        Assert.True(Run(Item(model, "Models/tiny.onnx", output)));
        File.AppendAllText(model, "x");

        Assert.True(Run(out var written, Item(model, "Models/tiny.onnx", output)));

        Assert.Single(written);
        Assert.Equal(File.ReadAllBytes(model), ModelTextFormat.Read(File.ReadAllText(output)).Model);
        Assert.False(File.Exists(output + ".tmp"));
    }

    [Fact]
    public void Dependency_file_goes_away_when_the_model_no_longer_has_external_data()
    {
        string model = CopyModel("tiny_external.onnx");
        CopyModel("tiny_external.weights");
        string output = Path.Combine(_root, "obj", "m.onnx.qgm");
        string deps = output + ".deps";
        Assert.True(Run(Item(model, "Models/m.onnx", output, deps)));
        Assert.True(File.Exists(deps));

        File.Copy(Path.Combine(AppContext.BaseDirectory, "Models", "tiny.onnx"), model, overwrite: true);
        Assert.True(Run(Item(model, "Models/m.onnx", output, deps)));

        Assert.False(File.Exists(deps));
    }

    [Fact]
    public void A_missing_model_is_an_error_naming_it()
    {
        string model = Path.Combine(_root, "Models", "missing.onnx");

        Assert.False(Run(Item(model, "Models/missing.onnx", Path.Combine(_root, "obj", "missing.onnx.qgm"))));

        var error = Assert.Single(_engine.Errors);
        Assert.Equal("QG1001", error.Code);
        Assert.Contains("missing.onnx", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_item_without_an_output_path_is_an_error()
    {
        string model = CopyModel("tiny.onnx");

        Assert.False(Run(new TaskItem(model)));

        Assert.Equal("QG1002", Assert.Single(_engine.Errors).Code);
    }

    [Fact]
    public void One_bad_model_does_not_stop_the_others()
    {
        string good = CopyModel("tiny.onnx");
        string output = Path.Combine(_root, "obj", "tiny.onnx.qgm");

        Assert.False(Run(
            Item(Path.Combine(_root, "Models", "missing.onnx"), "Models/missing.onnx", Path.Combine(_root, "obj", "missing.onnx.qgm")),
            Item(good, "Models/tiny.onnx", output)));

        Assert.Single(_engine.Errors);
        Assert.True(File.Exists(output));
    }
}
