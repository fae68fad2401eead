using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using QuantGen.Compiler;
using QuantGen.Compiler.Calibration;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Onnx;
using QuantGen.Compiler.Ops;
using QuantGen.Compiler.Quantization;

namespace QuantGen.Cli.Commands;

/// <summary>
/// <c>quantgen inspect MODEL.onnx</c>: what the build would make of a model, without a build. Reads the file
/// (inputs, outputs, op histogram), runs the compiler's <see cref="ModelCompiler.Prepare"/> (the QG0005 list of
/// unsupported ops), then compiles it to FP32 and to INT8 with <see cref="ModelCompiler.Compile"/> and reads the
/// weight and workspace sizes from the generated code, so the figures are the build's own.
/// </summary>
internal static class InspectCommand
{
    public const string Help =
        """
        quantgen inspect: what QuantGen makes of a model: inputs and outputs, operators, support,
        parameters, weight bytes, MACs per layer, workspace, and the nodes INT8 keeps in float.

        Usage:
          quantgen inspect MODEL.onnx [--calibration PATH] [--dim NAME=SIZE ...]

          MODEL.onnx          The model, the same file the build compiles.
          --calibration PATH  The calibration file for the INT8 figures (static quantization), as
                              the build would read it. Without it, INT8 is dynamic: activations
                              quantized on each call from their own range.
          --dim NAME=SIZE     The size of a named free input dimension, as the attribute's
                              Dimensions (e.g. --dim sequence=128 for token ids); repeat it
                              for several.

        The report is plain text on stdout, the same on every machine (invariant culture). Shapes are
        those compiled: a free leading batch dimension becomes 1. Weight and workspace bytes come from
        compiling the model both ways, as the build does. A model QuantGen cannot compile still gets
        what could be read (inputs, outputs, operators), then its QG diagnostics, and exit code 5.
        """;

    private static readonly Regex s_weights = new(@"^// Weights: ([\d,]+) bytes embedded", RegexOptions.Multiline | RegexOptions.CultureInvariant);
    private static readonly Regex s_workspace = new(@"public const int WorkspaceBytes = (\d+);", RegexOptions.CultureInvariant);
    private static readonly Regex s_precision = new(@"^// Precision: (.*)\.\r?$", RegexOptions.Multiline | RegexOptions.CultureInvariant);

    public static int Run(IReadOnlyList<string> args, TextWriter stdout)
    {
        // The report must not depend on the machine's culture (thousands separators, decimal points).
        var culture = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
            return Inspect(args, stdout);
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }

    private static int Inspect(IReadOnlyList<string> args, TextWriter stdout)
    {
        if (CalibrateOptions.AsksForHelp(args))
        {
            stdout.WriteLine(Help);
            stdout.WriteLine();
            stdout.WriteLine(ExitCodes.Table);
            return ExitCodes.Success;
        }

        var options = InspectOptions.Parse(args);
        CalibrateCommand.RequireFile(options.Model, "model");
        string? calibrationJson = null;
        if (options.Calibration != null)
        {
            CalibrateCommand.RequireFile(options.Calibration, "calibration file");
            try
            {
                calibrationJson = File.ReadAllText(options.Calibration);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CliException(ExitCodes.FileNotFound, $"cannot read the calibration file {options.Calibration}: {e.Message}");
            }
        }
        byte[] model = CalibrateCommand.ReadModel(options.Model);
        var externalData = CalibrateCommand.ExternalData(options.Model);
        var w = new Report(stdout);

        // What the file holds, before any pass.
        Graph file;
        try
        {
            file = OnnxModelReader.Read(model, options.Model, externalData, DimensionBindings.Parse(options.Dimensions, options.Model));
        }
        catch (ModelCompileException e)
        {
            throw CalibrateCommand.ModelFailure($"{options.Model}: the model does not load", e.Diagnostics);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new CliException(ExitCodes.ModelError, $"{options.Model}: the model does not load: {e.GetType().Name}: {e.Message}");
        }

        w.Line($"Model: {options.Model} (graph '{file.Name}', opset {file.Opset}, IR version {file.IrVersion})");

        Graph? graph = null;
        IReadOnlyList<ModelDiagnostic> failure = Array.Empty<ModelDiagnostic>();
        try
        {
            graph = ModelCompiler.Prepare(model, options.Model, externalData, options.Dimensions);
        }
        catch (ModelCompileException e)
        {
            failure = e.Diagnostics;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            failure = new[] { DiagnosticCatalog.UnexpectedError.Create(options.Model, e.GetType().Name + ": " + e.Message) };
        }

        // Shapes after shape inference when the model compiles; as declared in the file otherwise.
        var shapes = graph ?? file;
        w.Line();
        int nameWidth = shapes.Inputs.Concat(shapes.Outputs).Select(n => n.Length).DefaultIfEmpty(0).Max();
        WriteValues(w, "Inputs", shapes, shapes.Inputs, nameWidth);
        WriteValues(w, "Outputs", shapes, shapes.Outputs, nameWidth);

        w.Line();
        w.Line($"Operators in the ONNX file ({Count(file.Nodes.Count, "node")}):");
        var histogram = file.Nodes
            .GroupBy(n => n.Domain is "" or "ai.onnx" ? n.OpType : n.Domain + "." + n.OpType)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToList();
        int opWidth = histogram.Count == 0 ? 0 : histogram.Max(g => g.Key.Length);
        foreach (var g in histogram)
        {
            var first = g.First();
            string support = OperatorRegistry.Find(first.Domain, first.OpType) == null ? "  (unsupported)" : "";
            w.Line($"  {g.Key.PadRight(opWidth)}  {g.Count(),5}{support}");
        }

        if (graph == null)
        {
            w.Line();
            int errors = failure.Count(d => d.Severity == ModelDiagnosticSeverity.Error);
            w.Line($"QuantGen cannot compile this model ({Count(errors, "error")}):");
            foreach (var d in failure)
                w.Line("  " + d);
            return ExitCodes.ModelError;
        }
        w.Line("  All operators are supported.");

        w.Line();
        w.Line($"Parameters: {Parameters(graph):N0} (float weight elements the kernels read, after folding)");

        // Both builds, as the generator runs them.
        var fp32 = CompileAs(model, externalData, new CompilerOptions { ModelPath = options.Model, Precision = Precision.Float32, Dimensions = options.Dimensions });
        var int8Options = new CompilerOptions
        {
            ModelPath = options.Model,
            Precision = Precision.Int8,
            CalibrationJson = calibrationJson,
            CalibrationPath = options.Calibration ?? "",
            Dimensions = options.Dimensions,
        };
        var int8 = CompileAs(model, externalData, int8Options);

        w.Line();
        w.Line("Weights:");
        w.Line($"  FP32  {fp32.WeightBytes,12:N0} bytes");
        if (int8.Failure == null)
            w.Line($"  INT8  {int8.WeightBytes,12:N0} bytes  ({Ratio(fp32.WeightBytes, int8.WeightBytes)} of FP32)");

        w.Line();
        WriteMacs(w, graph);

        w.Line();
        w.Line("Workspace (scratch memory per call):");
        w.Line($"  FP32  {fp32.WorkspaceBytes,12:N0} bytes");
        if (int8.Failure == null)
            w.Line($"  INT8  {int8.WorkspaceBytes,12:N0} bytes");

        w.Line();
        if (int8.Failure != null)
        {
            int errors = int8.Failure.Count(d => d.Severity == ModelDiagnosticSeverity.Error);
            w.Line($"INT8: QuantGen cannot compile this model to INT8 ({Count(errors, "error")}):");
            foreach (var d in int8.Failure)
                w.Line("  " + d);
            return ExitCodes.ModelError;
        }
        string precision = int8.Precision.StartsWith("Int8, ", StringComparison.Ordinal) ? int8.Precision.Substring("Int8, ".Length) : int8.Precision;
        w.Line($"INT8: {precision}");
        string nextToModel = CalibrationFile.DefaultPathFor(options.Model);
        if (options.Calibration == null && File.Exists(nextToModel))
            w.Line($"  ({nextToModel} is next to the model: pass --calibration {nextToModel} for the static INT8 the build would make with it)");
        var floatNodes = FloatNodes(model, externalData, int8Options);
        if (floatNodes.Count == 0)
        {
            w.Line("  Every node runs in INT8 or needs no quantization.");
        }
        else
        {
            w.Line($"  {Count(floatNodes.Count, "node")} stay float:");
            foreach (var (node, op, reason) in floatNodes)
                w.Line($"    {node} ({op}): {reason}");
        }
        foreach (var d in int8.Diagnostics.Where(d => d.Id != DiagnosticCatalog.FloatNodes.Id && d.Id != DiagnosticCatalog.NoCalibration.Id))
            w.Line("  " + d);

        w.Line();
        w.Line("Nodes of the ONNX file (the names KeepFloat takes):");
        int nodeWidth = file.Nodes.Select(n => n.Name.Length).DefaultIfEmpty(0).Max();
        foreach (var node in file.Nodes)
            w.Line($"  {node.Name.PadRight(nodeWidth)}  {node.OpType}");
        return ExitCodes.Success;
    }

    private sealed record Build(long WeightBytes, int WorkspaceBytes, string Precision, IReadOnlyList<ModelDiagnostic> Diagnostics, IReadOnlyList<ModelDiagnostic>? Failure);

    /// <summary>Compiles as the generator does and reads the figures from the generated main file's header and constants.</summary>
    private static Build CompileAs(byte[] model, Func<string, byte[]?> externalData, CompilerOptions options)
    {
        var result = ModelCompiler.Compile(model, options, externalData);
        if (result.Files.Count == 0)
            return new Build(0, 0, "", result.Diagnostics, result.Diagnostics);
        string main = result.Files[0].Source;
        var weights = s_weights.Match(main);
        var workspace = s_workspace.Match(main);
        var precision = s_precision.Match(main);
        if (!weights.Success || !workspace.Success || !precision.Success)
            throw new InvalidOperationException("the generated code lacks the Weights header, the Precision header or WorkspaceBytes");
        return new Build(
            long.Parse(weights.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture),
            int.Parse(workspace.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture),
            precision.Groups[1].Value.Trim(),
            result.Diagnostics,
            null);
    }

    /// <summary>The nodes INT8 keeps in float and why: the quantization pass as <see cref="ModelCompiler.Compile"/> runs it.</summary>
    private static IReadOnlyList<(string Node, string OpType, string Reason)> FloatNodes(byte[] model, Func<string, byte[]?> externalData, CompilerOptions options)
    {
        var graph = ModelCompiler.Prepare(model, options.ModelPath, externalData, options.Dimensions);
        var setup = QuantizationSetup.Resolve(graph, model, options, new List<ModelDiagnostic>());
        var report = ModelCompiler.Quantize(graph, options with { CalibrationRanges = setup.Ranges, KeepFloat = setup.KeepFloat.ToList() });
        return report.FloatNodes;
    }

    /// <summary>Elements of the float constants kernels read at run time (what <see cref="ModelEmitter.ConstantBytes"/> counts).</summary>
    private static long Parameters(Graph graph)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            var op = OperatorRegistry.Find(node.Domain, node.OpType)!;
            var ctx = new ShapeContext(node, graph);
            for (int i = 0; i < node.Inputs.Count; i++)
                if (node.HasInput(i) && graph[node.Inputs[i]].IsConstant && graph[node.Inputs[i]].Type == DataType.Float && op.EmbedsConstant(ctx, i))
                    names.Add(node.Inputs[i]);
        }
        return names.Sum(n => (long)graph[n].Length);
    }

    private static void WriteValues(Report w, string title, Graph graph, IReadOnlyList<string> names, int width)
    {
        w.Line($"{title}:");
        foreach (string name in names)
        {
            var value = graph[name];
            w.Line($"  {name.PadRight(width)}  {TypeName(value.Type),-7}  {(value.Shape == null ? "?" : Shapes.Format(value.Shape))}");
        }
    }

    private static void WriteMacs(Report w, Graph graph)
    {
        var rows = new List<(string Node, string Op, string Shape, long Macs)>();
        foreach (var node in graph.Nodes)
        {
            long? macs = Macs(graph, node);
            if (macs == null) continue;
            var output = graph[node.Outputs[0]];
            rows.Add((node.Name, node.OpType, output.Shape == null ? "?" : Shapes.Format(output.Shape), macs.Value));
        }
        w.Line("MACs per layer (Conv, Gemm, MatMul; batch 1):");
        if (rows.Count == 0)
        {
            w.Line("  none");
            return;
        }
        long total = rows.Sum(r => r.Macs);
        int nodeWidth = Math.Max("node".Length, Math.Max("total".Length, rows.Max(r => r.Node.Length)));
        int opWidth = Math.Max("op".Length, rows.Max(r => r.Op.Length));
        int shapeWidth = Math.Max("output".Length, rows.Max(r => r.Shape.Length));
        int macsWidth = Math.Max("MACs".Length, total.ToString("N0", CultureInfo.InvariantCulture).Length);
        w.Line($"  {"node".PadRight(nodeWidth)}  {"op".PadRight(opWidth)}  {"output".PadRight(shapeWidth)}  {"MACs".PadLeft(macsWidth)}");
        foreach (var r in rows)
            w.Line($"  {r.Node.PadRight(nodeWidth)}  {r.Op.PadRight(opWidth)}  {r.Shape.PadRight(shapeWidth)}  {r.Macs.ToString("N0", CultureInfo.InvariantCulture).PadLeft(macsWidth)}");
        w.Line($"  {"total".PadRight(nodeWidth)}  {"".PadRight(opWidth)}  {"".PadRight(shapeWidth)}  {total.ToString("N0", CultureInfo.InvariantCulture).PadLeft(macsWidth)}");
    }

    /// <summary>Multiply-accumulates of one Conv, Gemm or MatMul at its compiled shapes; null for other ops or unknown shapes.</summary>
    private static long? Macs(Graph graph, Node node)
    {
        if (node.Domain is not ("" or "ai.onnx") || node.Outputs.Count == 0) return null;
        var output = graph.Find(node.Outputs[0])?.Shape;
        var a = node.HasInput(0) ? graph.Find(node.Inputs[0])?.Shape : null;
        var b = node.HasInput(1) ? graph.Find(node.Inputs[1])?.Shape : null;
        if (output == null || a == null || b == null) return null;
        long outputs = Shapes.ElementCount(output);
        switch (node.OpType)
        {
            case "Conv":
                // Weight [M, C/group, k1, k2, ...]: each output element sums over C/group * k1 * k2 * ...
                return b.Length < 2 ? null : outputs * b.Skip(1).Aggregate(1L, (p, d) => p * d);
            case "Gemm":
            {
                bool transA = node.Attributes.TryGetValue("transA", out var t) && t.Int != 0;
                if (a.Length != 2) return null;
                return outputs * (transA ? a[0] : a[1]);
            }
            case "MatMul":
                return a.Length == 0 ? null : outputs * a[^1];
            default:
                return null;
        }
    }

    private static string TypeName(DataType type) => type switch
    {
        DataType.Float => "float32",
        DataType.UInt8 => "uint8",
        DataType.Int8 => "int8",
        DataType.Int32 => "int32",
        DataType.Int64 => "int64",
        DataType.Bool => "bool",
        _ => type.ToString().ToLowerInvariant(),
    };

    private static string Ratio(long fp32, long int8) =>
        fp32 == 0 ? "n/a" : (100.0 * int8 / fp32).ToString("0.0", CultureInfo.InvariantCulture) + "%";

    private static string Count(int n, string noun) => n == 1 ? $"1 {noun}" : string.Create(CultureInfo.InvariantCulture, $"{n} {noun}s");

    /// <summary>The report's lines (formatted in the invariant culture, which <see cref="Run"/> sets).</summary>
    private sealed class Report(TextWriter writer)
    {
        public void Line() => writer.WriteLine();

        public void Line(string text) => writer.WriteLine(text);
    }
}
