using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Onnx;
using QuantGen.Compiler.Passes;

namespace QuantGen.Compiler;

/// <summary>The result of compiling one model: generated files (empty on error) and diagnostics.</summary>
/// <remarks>
/// <paramref name="Weights"/> is set when <see cref="CompilerOptions.WeightStorage"/> is
/// <see cref="WeightStorage.Resource"/>: the exact bytes the generated code expects in its manifest resource.
/// </remarks>
public sealed record CompileResult(IReadOnlyList<GeneratedFile> Files, IReadOnlyList<ModelDiagnostic> Diagnostics, WeightBlob? Weights = null);

/// <summary>
/// The model compiler's entry point. The passes, in order:
/// import → supported-op check → shape inference with constant folding → remove Identity/Dropout →
/// fold BatchNormalization → fuse decomposed LayerNormalization → fuse decomposed GELU → fuse activations →
/// remove dead nodes → (INT8) quantization, then embedding tables → Conv+MaxPool and Conv+Add lowering → memory planning and C# emission.
/// </summary>
public static class ModelCompiler
{
    /// <summary>Imports and optimizes a model: the graph the emitter (and the reference executor) work from.</summary>
    /// <param name="dimensions">"name=size" entries for named free input dimensions (the Dimensions option); null for none.</param>
    public static Graph Prepare(byte[] model, string modelPath, Func<string, byte[]?>? externalData = null, IReadOnlyList<string>? dimensions = null)
    {
        var graph = OnnxModelReader.Read(model, modelPath, externalData, DimensionBindings.Parse(dimensions, modelPath));
        CheckSupportedOperators.Run(graph);
        ShapeInference.Run(graph);
        RemoveIdentities.Run(graph);
        FoldBatchNormalization.Run(graph);
        // Before FuseActivations and quantization: the patterns are matched op by op, and INT8 must see the fused
        // nodes (a decomposed LayerNorm's mean, variance and rsqrt lose too much in 8 bits).
        FuseLayerNormalization.Run(graph);
        FuseGelu.Run(graph);
        FuseActivations.Run(graph);
        RemoveDeadNodes.Run(graph);
        return graph;
    }

    /// <summary>Compiles a model to C#. Never throws: every failure becomes a diagnostic.</summary>
    public static CompileResult Compile(byte[] model, CompilerOptions options, Func<string, byte[]?>? externalData = null)
    {
        // Generated text must not depend on the build machine's culture.
        var culture = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
            var diagnostics = new List<ModelDiagnostic>();
            var graph = Prepare(model, options.ModelPath, externalData, options.Dimensions);
            var header = new EmitHeader { Precision = "Float32", FloatWeightBytes = ModelEmitter.ConstantBytes(graph) };
            if (options.Precision == Precision.Int8)
            {
                var setup = Quantization.QuantizationSetup.Resolve(graph, model, options, diagnostics);
                var report = Quantize(graph, options with { CalibrationRanges = setup.Ranges, KeepFloat = setup.KeepFloat.ToList() });
                Quantization.QuantizationSetup.Report(report, options, diagnostics);
                header.Precision = "Int8, " + setup.Description;
                foreach (var f in report.FloatNodes) header.FloatReasons[f.Node] = f.Reason;
                // Lowering for the generated code only: tools that read the quantized graph see every node.
                FuseConvMaxPool.Run(graph);
                FuseConvAdd.Run(graph);
            }
            var emitter = new ModelEmitter(graph, options, header);
            var files = emitter.Emit();
            return new CompileResult(files, diagnostics, emitter.WeightBlob);
        }
        catch (ModelCompileException e)
        {
            return new CompileResult(Array.Empty<GeneratedFile>(), e.Diagnostics);
        }
        catch (Exception e) when (e is not OutOfMemoryException and not ThreadAbortException)
        {
            return Failed(DiagnosticCatalog.UnexpectedError.Create(options.ModelPath, e.GetType().Name + ": " + e.Message + " " + FirstFrame(e)));
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }

    /// <summary>The INT8 pass: integer kernels where calibration covers them, float elsewhere.</summary>
    public static Quantization.QuantizationReport Quantize(Graph graph, CompilerOptions options)
    {
        var report = options.CalibrationRanges == null
            ? DynamicQuantization.Run(graph, options.KeepFloat)
            : QuantizeGraph.Run(graph, new Quantization.QuantizationOptions
            {
                Ranges = options.CalibrationRanges,
                KeepFloat = options.KeepFloat,
            });
        QuantizeEmbeddings.Run(graph, options.KeepFloat, report);
        // Quantize/Dequantize and the integer ops have their own shape rules; re-run them over the new graph.
        ShapeInference.Run(graph);
        return report;
    }

    private static CompileResult Failed(ModelDiagnostic d) => new(Array.Empty<GeneratedFile>(), new[] { d });

    private static string FirstFrame(Exception e)
    {
        string trace = e.StackTrace ?? "";
        int end = trace.IndexOf('\n');
        return (end < 0 ? trace : trace.Substring(0, end)).Trim();
    }
}
