using System.Collections.Generic;
using System.Globalization;

namespace QuantGen.Compiler.Diagnostics;

/// <summary>A QGxxxx diagnostic kind: its id, severity, message format and the fix to suggest.</summary>
public sealed class DiagnosticDescriptorInfo
{
    internal DiagnosticDescriptorInfo(string id, ModelDiagnosticSeverity severity, string title, string messageFormat, string help)
    {
        Id = id;
        Severity = severity;
        Title = title;
        MessageFormat = messageFormat;
        Help = help;
    }

    public string Id { get; }
    public ModelDiagnosticSeverity Severity { get; }
    public string Title { get; }
    public string MessageFormat { get; }

    /// <summary>How to fix it; appended to every message so the user sees it in the build output. May use the message's placeholders.</summary>
    public string Help { get; }

    public ModelDiagnostic Create(params object[] args) =>
        new(Id, Severity, string.Format(CultureInfo.InvariantCulture, MessageFormat + " " + Help, args));
}

/// <summary>
/// Every diagnostic QuantGen reports, in one place. docs/diagnostics.md is written from this list
/// (a test keeps the two in step), so add new ones at the end and never reuse an id.
/// </summary>
public static class DiagnosticCatalog
{
    public static readonly DiagnosticDescriptorInfo UnexpectedError = new(
        "QG0001", ModelDiagnosticSeverity.Error, "QuantGen failed unexpectedly",
        "QuantGen failed while compiling '{0}': {1}",
        "This is a bug in QuantGen: please report it with the model and this message.");

    public static readonly DiagnosticDescriptorInfo ModelNotFound = new(
        "QG0002", ModelDiagnosticSeverity.Error, "Model file not found among AdditionalFiles",
        "The model '{0}' named by [OnnxModel] on '{1}' is not among the project's AdditionalFiles (models found: {2}).",
        "Add <AdditionalFiles Include=\"path/to/model.onnx\" /> to the project file, and give [OnnxModel] the path relative to the project folder.");

    public static readonly DiagnosticDescriptorInfo InvalidTargetClass = new(
        "QG0003", ModelDiagnosticSeverity.Error, "[OnnxModel] class must be static partial",
        "The class '{0}' carries [OnnxModel] but is not declared 'static partial'.",
        "Declare it as 'public static partial class {0};' so QuantGen can add Predict to it.");

    public static readonly DiagnosticDescriptorInfo MalformedModel = new(
        "QG0004", ModelDiagnosticSeverity.Error, "Model is not a valid ONNX file",
        "'{0}' is not a valid ONNX model: {1}.",
        "Re-export the model (e.g. torch.onnx.export) and check it with onnx.checker.check_model.");

    public static readonly DiagnosticDescriptorInfo UnsupportedOperator = new(
        "QG0005", ModelDiagnosticSeverity.Error, "Unsupported ONNX operator",
        "Node '{0}' uses operator {1} (domain '{2}', opset {3}), which QuantGen does not support{4}.",
        "See docs/ops.md for the supported operators; re-export the model with supported ops or file an issue for this one.");

    public static readonly DiagnosticDescriptorInfo InvalidAttribute = new(
        "QG0006", ModelDiagnosticSeverity.Error, "Invalid node attribute or input",
        "Node '{0}' ({1}): {2}.",
        "The model does not follow the ONNX operator specification here; re-export it or fix the node.");

    public static readonly DiagnosticDescriptorInfo ShapeMismatch = new(
        "QG0007", ModelDiagnosticSeverity.Error, "Shape mismatch",
        "Node '{0}' ({1}): {2}.",
        "The shapes flowing into this node are not compatible; check the model's input shape and the exporter's output.");

    public static readonly DiagnosticDescriptorInfo FreeDimension = new(
        "QG0008", ModelDiagnosticSeverity.Error, "Free dimension in a model input",
        "Input '{0}' has the free dimension '{1}' at axis {2}; QuantGen compiles for static shapes and only a leading batch dimension may stay free (it becomes 1){3}.",
        "Fix named free dimensions at build time with the [OnnxModel] option Dimensions (\"name=size\" entries with the model's dim_param names, e.g. Dimensions = new[] {{ \"sequence=128\" }}), or export the model with fixed sizes (e.g. without dynamic_axes for them).");

    public static readonly DiagnosticDescriptorInfo ExternalDataRefused = new(
        "QG0009", ModelDiagnosticSeverity.Error, "External tensor data refused",
        "Tensor '{0}' keeps its data in the external file '{1}': {2}.",
        "Keep external data files inside the model's own folder, or save the model with all tensors inside the .onnx file (onnx.save_model(..., save_as_external_data=False)).");

    /// <summary>Retired in 0.1.0, when INT8 landed: never reported; kept so the id is not reused.</summary>
    public static readonly DiagnosticDescriptorInfo RetiredInt8NotAvailable = new(
        "QG0010", ModelDiagnosticSeverity.Error, "Retired: INT8 precision not available",
        "'{0}' asks for Precision.Int8 (QuantGen versions before 0.1.0 could not compile it).",
        "Nothing to do: INT8 compiles today; without a calibration file it is dynamic (QG0021).");

    public static readonly DiagnosticDescriptorInfo UnsupportedDataType = new(
        "QG0011", ModelDiagnosticSeverity.Error, "Unsupported element type",
        "Tensor '{0}' has element type {1}, which QuantGen does not support.",
        "QuantGen computes in float32 with int64/int32/int8/uint8/bool tensors; convert the model (e.g. from float16 or double) before compiling it.");

    public static readonly DiagnosticDescriptorInfo UnsupportedOpset = new(
        "QG0012", ModelDiagnosticSeverity.Error, "Unsupported opset or IR version",
        "'{0}' uses {1}, which QuantGen does not support (it supports ai.onnx opsets 7 to 21 and IR versions 3 to 10).",
        "Convert the model with onnx.version_converter, or export it with an opset in that range.");

    public static readonly DiagnosticDescriptorInfo CorruptModelText = new(
        "QG0013", ModelDiagnosticSeverity.Error, "Model transport file is corrupt",
        "The text form of '{0}' that the QuantGen build step wrote is unreadable: {1}.",
        "Delete the project's obj/ folder and rebuild; if it persists, check that QuantGen's build targets are imported.");

    public static readonly DiagnosticDescriptorInfo InvalidAttributeArgument = new(
        "QG0014", ModelDiagnosticSeverity.Error, "Invalid [OnnxModel] argument",
        "[OnnxModel] on '{0}': {1}.",
        "Give [OnnxModel] a non-empty path to a .onnx file that is listed in AdditionalFiles.");

    public static readonly DiagnosticDescriptorInfo AmbiguousModel = new(
        "QG0015", ModelDiagnosticSeverity.Error, "Ambiguous model path",
        "The model '{0}' named by [OnnxModel] on '{1}' matches several AdditionalFiles: {2}.",
        "Give the path relative to the project folder (e.g. \"Models/fashion.onnx\").");

    public static readonly DiagnosticDescriptorInfo GraphStructure = new(
        "QG0016", ModelDiagnosticSeverity.Error, "Invalid graph structure",
        "The graph of '{0}' is invalid: {1}.",
        "Check the model with onnx.checker.check_model and re-export it.");

    public static readonly DiagnosticDescriptorInfo TensorTooLarge = new(
        "QG0017", ModelDiagnosticSeverity.Error, "Tensor too large",
        "Tensor '{0}' has the shape {1}: more than 2^31 - 1 elements, the most QuantGen can address.",
        "Export the model with smaller fixed dimensions (for example a batch size of 1).");

    public static readonly DiagnosticDescriptorInfo CalibrationForAnotherModel = new(
        "QG0018", ModelDiagnosticSeverity.Warning, "Calibration file computed for another model",
        "The calibration file '{0}' was computed for another model (it records the model hash {1}..., but '{2}' hashes to {3}...); QuantGen ignores it and quantizes activations dynamically.",
        "Recalibrate for this model: quantgen calibrate {2} --data X.npy --output {0} (X.npy holds representative inputs, first axis = sample).");

    public static readonly DiagnosticDescriptorInfo UnreadableCalibration = new(
        "QG0019", ModelDiagnosticSeverity.Error, "Unreadable calibration file",
        "The calibration file '{0}' for '{2}' cannot be read: {1}.",
        "Fix the file where the message points, or write it again with: quantgen calibrate {2} --data X.npy --output {0} (docs/calibration.md describes the format).");

    public static readonly DiagnosticDescriptorInfo MissingCalibrationStatistics = new(
        "QG0020", ModelDiagnosticSeverity.Warning, "Calibration file lacks tensors",
        "The calibration file '{0}' lacks statistics for the tensors of {1} node(s), which stay in float: {2}.",
        "Recalibrate with this version of QuantGen: quantgen calibrate {3} --data X.npy --output {0} (tensor names are those of QuantGen's optimized graph, which can change between versions).");

    public static readonly DiagnosticDescriptorInfo NoCalibration = new(
        "QG0021", ModelDiagnosticSeverity.Warning, "No calibration: dynamic quantization",
        "No calibration file for '{0}' (looked for '{1}'): weights are INT8 and activations are quantized on each call from their own range, which is slower and less accurate than calibrated INT8.",
        "Compute one from representative inputs (quantgen calibrate {0} --data X.npy) and list it as an AdditionalFile, or set Precision = QuantGen.Precision.Float32.");

    public static readonly DiagnosticDescriptorInfo FloatNodes = new(
        "QG0022", ModelDiagnosticSeverity.Info, "Nodes kept in float",
        "'{0}' runs {1} node(s) in float between dequantize and quantize steps: {2}.",
        "Nothing to do unless accuracy or speed suffers; the generated code says why each stays float (KeepFloat, no INT8 kernel, no statistics).");

    public static readonly DiagnosticDescriptorInfo UnknownKeepFloatNode = new(
        "QG0023", ModelDiagnosticSeverity.Error, "Unknown node in KeepFloat",
        "KeepFloat names '{0}', which is not a node of '{1}'{2}.",
        "Use node names exactly as they appear in the ONNX file (quantgen inspect lists them).");

    public static readonly DiagnosticDescriptorInfo CalibrationNotFound = new(
        "QG0024", ModelDiagnosticSeverity.Error, "Calibration file not found among AdditionalFiles",
        "The calibration file '{0}' named by [OnnxModel] on '{1}' is not among the project's AdditionalFiles.",
        "List it: <AdditionalFiles Include=\"{0}\" />, with the path relative to the project folder.");

    public static readonly DiagnosticDescriptorInfo AmbiguousCalibration = new(
        "QG0025", ModelDiagnosticSeverity.Error, "Ambiguous calibration path",
        "The calibration path '{0}' of '{1}' matches several AdditionalFiles: {2}.",
        "Give the path relative to the project folder, including its folders.");

    public static readonly DiagnosticDescriptorInfo ReservedClassName = new(
        "QG0026", ModelDiagnosticSeverity.Error, "Class name reserved by the generated code",
        "The class '{0}' carries [OnnxModel], but '{0}' is the name of a member QuantGen adds to it ({1}).",
        "Rename the class (a class cannot contain a member of its own name).");

    public static readonly DiagnosticDescriptorInfo InvalidDimensionEntry = new(
        "QG0027", ModelDiagnosticSeverity.Error, "Invalid Dimensions entry",
        "Dimensions entry \"{0}\" on [OnnxModel] for '{1}': {2}.",
        "Write each entry as \"name=size\" with the name of a free input dimension (its ONNX dim_param, e.g. \"sequence=128\") and a size from 1 to 2147483647, each name once.");

    public static readonly DiagnosticDescriptorInfo UnknownDimension = new(
        "QG0028", ModelDiagnosticSeverity.Error, "Unknown dimension in Dimensions",
        "Dimensions names '{0}', which is not a named dimension of any input of '{1}' (its inputs' named dimensions: {2}{3}).",
        "Use the dim_param names of the model's inputs exactly as the exporter wrote them (QG0008 names each free one), or remove the entry.");

    public static readonly DiagnosticDescriptorInfo WeightsResourceMismatch = new(
        "QG0029", ModelDiagnosticSeverity.Error, "Weights resource built with other options",
        "The weights resource the QuantGen build task wrote for '{0}' (SHA-256 {1}) is not the one the code generated for '{2}' reads (SHA-256 {3}): the task compiled the model with other options than [OnnxModel] gives ({4}).",
        "Give the model's AdditionalFiles item the same options as the attribute: QuantGenPrecision=\"Float32\" or \"Int8\", QuantGenKeepFloat=\"node;node\", QuantGenCalibration=\"path\", QuantGenDimensions=\"name=size;name=size\"; or set QuantGenWeights=\"Literals\" to embed the weights in the source instead.");

    /// <summary>All descriptors, in id order (docs/diagnostics.md is generated from this).</summary>
    public static IReadOnlyList<DiagnosticDescriptorInfo> All { get; } = new[]
    {
        UnexpectedError, ModelNotFound, InvalidTargetClass, MalformedModel, UnsupportedOperator, InvalidAttribute,
        ShapeMismatch, FreeDimension, ExternalDataRefused, RetiredInt8NotAvailable, UnsupportedDataType, UnsupportedOpset,
        CorruptModelText, InvalidAttributeArgument, AmbiguousModel, GraphStructure, TensorTooLarge,
        CalibrationForAnotherModel, UnreadableCalibration, MissingCalibrationStatistics,
        NoCalibration, FloatNodes, UnknownKeepFloatNode, CalibrationNotFound, AmbiguousCalibration,
        ReservedClassName, InvalidDimensionEntry, UnknownDimension, WeightsResourceMismatch,
    };
}
