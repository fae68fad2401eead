using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using QuantGen.Compiler;
using QuantGen.Compiler.Emit;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Cli.Tests.Commands;

/// <summary><c>quantgen inspect</c> run in process on the sample CNN and on small built models.</summary>
public sealed class InspectCommandTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static string CalibrationPath => Path.Combine(AppContext.BaseDirectory, "Models", "fashion_cnn.calib.json");

    private static string[] Lines(string text) => text.TrimEnd('\n').Split('\n');

    [Fact]
    public void The_sample_cnn_report_has_its_shapes_ops_macs_and_the_generators_weight_bytes()
    {
        var result = CliResult.Run("inspect", Samples.ModelPath, "--calibration", CalibrationPath);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("", result.Error);
        string[] lines = Lines(result.Out);

        Assert.Contains("  input   float32  1x1x28x28", lines);
        Assert.Contains("  logits  float32  1x10", lines);
        Assert.Contains("Operators in the ONNX file (10 nodes):", lines);
        foreach (var (op, count) in new[] { ("Conv", 2), ("Relu", 3), ("MaxPool", 2), ("Flatten", 1), ("Gemm", 2) })
            Assert.Single(lines, l => l.StartsWith("  " + op + " ", StringComparison.Ordinal) && l.EndsWith(" " + count.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));
        Assert.Contains("  All operators are supported.", lines);

        // 8 output channels x 28 x 28 positions x (1 input channel x 3 x 3).
        Assert.Single(lines, l => l.StartsWith("  /features/features.0/Conv ", StringComparison.Ordinal) && l.Contains(" Conv  1x8x28x28 ", StringComparison.Ordinal) && l.EndsWith(" 56,448", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("  /features/features.4/Conv ", StringComparison.Ordinal) && l.EndsWith(" 165,888", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("  /classifier/classifier.1/Gemm ", StringComparison.Ordinal) && l.Contains(" 1x64 ", StringComparison.Ordinal) && l.EndsWith(" 36,864", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("  /classifier/classifier.4/Gemm ", StringComparison.Ordinal) && l.EndsWith(" 640", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("  total ", StringComparison.Ordinal) && l.EndsWith(" 259,840", StringComparison.Ordinal));

        // The generated headers' figures: "// Weights: 40,396 bytes embedded (the float32 model's: 155,304 bytes)."
        Assert.Contains("  FP32       155,304 bytes", lines);
        Assert.Contains("  INT8        40,396 bytes  (26.0% of FP32)", lines);
        Assert.Contains("Parameters: 38,826 (float weight elements the kernels read, after folding)", lines);
        Assert.Single(lines, l => l.StartsWith("INT8: static, calibrated by mse over 512 samples", StringComparison.Ordinal));
        Assert.Contains("  Every node runs in INT8 or needs no quantization.", lines);
        int nodes = Array.IndexOf(lines, "Nodes of the ONNX file (the names KeepFloat takes):");
        Assert.True(nodes > 0, result.Out);
        Assert.Equal(10, lines.Length - nodes - 1);
        Assert.Single(lines.Skip(nodes), l => l.StartsWith("  /features/features.2/Relu ", StringComparison.Ordinal) && l.EndsWith(" Relu", StringComparison.Ordinal));
    }

    [Fact]
    public void Weight_and_workspace_bytes_are_the_compilers()
    {
        byte[] model = File.ReadAllBytes(Samples.ModelPath);
        var graph = ModelCompiler.Prepare(model, Samples.ModelPath);
        long floatBytes = ModelEmitter.ConstantBytes(graph);
        var int8 = ModelCompiler.Compile(model, new CompilerOptions
        {
            ModelPath = Samples.ModelPath,
            CalibrationJson = File.ReadAllText(CalibrationPath),
            CalibrationPath = CalibrationPath,
        });
        string main = int8.Files[0].Source;
        string workspace = main.Split('\n').Single(l => l.Contains("public const int WorkspaceBytes = ", StringComparison.Ordinal)).Trim();
        int int8Workspace = int.Parse(workspace["public const int WorkspaceBytes = ".Length..^1], CultureInfo.InvariantCulture);

        var result = CliResult.Run("inspect", Samples.ModelPath, "--calibration", CalibrationPath);
        Assert.Equal(155_304, floatBytes);
        Assert.Contains("(the float32 model's: 155,304 bytes)", main, StringComparison.Ordinal);
        Assert.Contains("// Weights: 40,396 bytes embedded", main, StringComparison.Ordinal);
        Assert.Contains($"  INT8  {int8Workspace.ToString("N0", CultureInfo.InvariantCulture),12} bytes", Lines(result.Out));
    }

    [Fact]
    public void Without_calibration_int8_is_dynamic_and_the_file_next_to_the_model_is_pointed_out()
    {
        string model = _folder.CopyModel();
        File.Copy(CalibrationPath, _folder.File("fashion_cnn.calib.json"));
        var result = CliResult.Run("inspect", model);
        Assert.True(result.ExitCode == 0, result.ToString());
        string[] lines = Lines(result.Out);
        Assert.Single(lines, l => l.StartsWith("INT8: dynamic", StringComparison.Ordinal));
        Assert.Contains("pass --calibration " + _folder.File("fashion_cnn.calib.json"), result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("QG0021", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Nodes_int8_keeps_in_float_are_listed_with_their_reasons()
    {
        // The committed calibration without the input's and the logits' ranges: the first Conv and the last Gemm stay float.
        string json = File.ReadAllText(CalibrationPath)
            .Replace("\"input\":", "\"input_gone\":", StringComparison.Ordinal)
            .Replace("\"logits\":", "\"logits_gone\":", StringComparison.Ordinal);
        var result = CliResult.Run("inspect", Samples.ModelPath, "--calibration", _folder.Write("partial.calib.json", System.Text.Encoding.UTF8.GetBytes(json)));
        Assert.True(result.ExitCode == 0, result.ToString());
        string[] lines = Lines(result.Out);
        Assert.Contains("    /features/features.0/Conv (Conv): no calibration statistics for its input", lines);
        Assert.Contains("    /classifier/classifier.4/Gemm (Gemm): no calibration statistics for its output", lines);
        Assert.Single(lines, l => l.StartsWith("  QG0020 (Warning): ", StringComparison.Ordinal));
    }

    [Fact]
    public void The_report_does_not_depend_on_the_culture()
    {
        var culture = CultureInfo.CurrentCulture;
        string invariant = CliResult.Run("inspect", Samples.ModelPath, "--calibration", CalibrationPath).Out;
        try
        {
            CultureInfo.CurrentCulture = new CultureInfo("de-DE");
            Assert.Equal(invariant, CliResult.Run("inspect", Samples.ModelPath, "--calibration", CalibrationPath).Out);
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }

    [Fact]
    public void Unsupported_ops_are_all_listed_as_QG0005_after_what_could_be_read_and_exit_5()
    {
        byte[] model = new OnnxModelBuilder()
            .Input("x", 1, 4)
            .Node("weird", "NoSuchOperator", new[] { "x" }, new[] { "h" })
            .Node("relu", "Relu", new[] { "h" }, new[] { "r" })
            .Node("odd", "AlsoMissing", new[] { "r" }, new[] { "y" })
            .Output("y", 1, 4)
            .ToBytes();
        var result = CliResult.Run("inspect", _folder.Write("weird.onnx", model));
        Assert.True(result.ExitCode == ExitCodes.ModelError, result.ToString());
        string[] lines = Lines(result.Out);
        Assert.Contains("  x  float32  1x4", lines);
        Assert.Contains("Operators in the ONNX file (3 nodes):", lines);
        Assert.Single(lines, l => l.StartsWith("  NoSuchOperator ", StringComparison.Ordinal) && l.EndsWith("(unsupported)", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("  Relu ", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal));
        Assert.Contains("QuantGen cannot compile this model (2 errors):", lines);
        var qg0005 = lines.Where(l => l.StartsWith("  QG0005 (Error): ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, qg0005.Count);
        Assert.Contains(qg0005, l => l.Contains("NoSuchOperator", StringComparison.Ordinal) && l.Contains("weird", StringComparison.Ordinal));
        Assert.Contains(qg0005, l => l.Contains("AlsoMissing", StringComparison.Ordinal) && l.Contains("odd", StringComparison.Ordinal));
        Assert.DoesNotContain("MACs", result.Out, StringComparison.Ordinal);
    }

    /// <summary>Token ids [batch, sequence] (named free dims, as exporters write them) through an embedding, mean-pooled.</summary>
    private static byte[] TokenModel() => new OnnxModelBuilder(opset: 13)
        .TypedInput("input_ids", OnnxModelBuilder.ElementType.Int64, "batch", "sequence")
        .Initializer("emb", new long[] { 10, 4 }, OnnxModelBuilder.RandomFloats(40, seed: 1))
        .Node("lookup", "Gather", new[] { "emb", "input_ids" }, new[] { "tokens" })
        .Node("pool", "ReduceMean", new[] { "tokens" }, new[] { "y" }, OnnxAttribute.Ints("axes", 1), OnnxAttribute.Int("keepdims", 0))
        .Output("y")
        .ToBytes();

    [Fact]
    public void Dim_fixes_a_named_free_dimension_as_the_attributes_Dimensions_does()
    {
        string path = _folder.Write("tokens.onnx", TokenModel());
        var result = CliResult.Run("inspect", path, "--dim", "sequence=16", "--dim=batch=2");
        Assert.True(result.ExitCode == 0, result.ToString());
        string[] lines = Lines(result.Out);
        Assert.Contains("  input_ids  int64    2x16", lines);
        Assert.Contains("  y          float32  2x4", lines);

        var without = CliResult.Run("inspect", path);
        Assert.True(without.ExitCode == ExitCodes.ModelError, without.ToString());
        Assert.Contains("QG0008", without.Error + without.Out, StringComparison.Ordinal);
        Assert.Contains("Dimensions = new[] { \"sequence=N\" }", without.Error + without.Out, StringComparison.Ordinal);

        var typo = CliResult.Run("inspect", path, "--dim", "seqence=16");
        Assert.True(typo.ExitCode == ExitCodes.ModelError, typo.ToString());
        Assert.Contains("QG0028", typo.Error + typo.Out, StringComparison.Ordinal);
        Assert.Contains("did you mean 'sequence'?", typo.Error + typo.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void MatMul_macs_use_the_inner_dimension()
    {
        byte[] model = new OnnxModelBuilder()
            .Input("x", 1, 6)
            .Initializer("w", new long[] { 6, 3 }, OnnxModelBuilder.RandomFloats(18, seed: 1))
            .Node("mm", "MatMul", new[] { "x", "w" }, new[] { "y" })
            .Output("y", 1, 3)
            .ToBytes();
        var result = CliResult.Run("inspect", _folder.Write("mm.onnx", model));
        Assert.True(result.ExitCode == 0, result.ToString());
        string[] lines = Lines(result.Out);
        Assert.Single(lines, l => l.StartsWith("  mm ", StringComparison.Ordinal) && l.Contains("MatMul  1x3", StringComparison.Ordinal) && l.EndsWith(" 18", StringComparison.Ordinal));
        Assert.Contains("Parameters: 18 (float weight elements the kernels read, after folding)", lines);
        Assert.Contains("  FP32            72 bytes", lines);
    }

    [Fact]
    public void Exit_3_for_a_missing_model_or_calibration_file()
    {
        var missing = CliResult.Run("inspect", _folder.File("missing.onnx"));
        Assert.Equal(ExitCodes.FileNotFound, missing.ExitCode);
        Assert.Equal("", missing.Out);
        Assert.Equal("quantgen: model not found: " + _folder.File("missing.onnx") + "\n", missing.Error);

        var calibration = CliResult.Run("inspect", Samples.ModelPath, "--calibration", _folder.File("missing.calib.json"));
        Assert.Equal(ExitCodes.FileNotFound, calibration.ExitCode);
        Assert.StartsWith("quantgen: calibration file not found: ", calibration.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Exit_5_for_a_file_that_is_not_a_model()
    {
        var result = CliResult.Run("inspect", _folder.Write("bad.onnx", new byte[] { 1, 2, 3, 4, 5 }));
        Assert.True(result.ExitCode == ExitCodes.ModelError, result.ToString());
        Assert.Equal("", result.Out);
        Assert.StartsWith("quantgen: ", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Exit_5_for_an_unreadable_calibration_file_with_its_diagnostic()
    {
        var result = CliResult.Run("inspect", Samples.ModelPath, "--calibration", _folder.Write("bad.calib.json", "not json"u8.ToArray()));
        Assert.True(result.ExitCode == ExitCodes.ModelError, result.ToString());
        Assert.Contains("INT8: QuantGen cannot compile this model to INT8 (1 error):", result.Out, StringComparison.Ordinal);
        Assert.Contains("\n  QG", result.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "inspect" }, "inspect needs the model")]
    [InlineData(new[] { "inspect", "a.onnx", "b.onnx" }, "unexpected argument 'b.onnx'")]
    [InlineData(new[] { "inspect", "a.onnx", "--data", "x.npy" }, "unknown option '--data' for inspect")]
    [InlineData(new[] { "inspect", "a.onnx", "--calibration" }, "--calibration needs a value")]
    [InlineData(new[] { "inspect", "a.onnx", "--calibration=" }, "--calibration needs a path")]
    [InlineData(new[] { "inspect", "a.onnx", "--calibration", "a", "--calibration=b" }, "--calibration is given twice")]
    public void Exit_2_for_usage_errors_with_a_pointer_to_the_help(string[] args, string said)
    {
        var result = CliResult.Run(args);
        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.StartsWith("quantgen: " + said, result.Error, StringComparison.Ordinal);
        Assert.EndsWith("Run 'quantgen inspect --help' for usage.\n", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_lists_the_option_and_the_exit_codes()
    {
        var result = CliResult.Run("inspect", "--help");
        Assert.Equal(0, result.ExitCode);
        foreach (string text in new[] { "quantgen inspect MODEL.onnx [--calibration PATH]", "--calibration PATH", "dynamic", "Exit codes:", "3  the model", "5  the model does not load" })
            Assert.Contains(text, result.Out, StringComparison.Ordinal);
    }
}
