using System.Collections.Generic;

namespace QuantGen.Compiler;

/// <summary>Numeric precision of the generated code (mirrors the QuantGen.Precision enum users see).</summary>
public enum Precision
{
    Int8 = 0,
    Float32 = 1,
}

/// <summary>How the generated code carries the weights.</summary>
public enum WeightStorage
{
    /// <summary>As <c>ulong</c> literals in the source (the assembly's data section): the default, right for small models.</summary>
    Literals = 0,

    /// <summary>
    /// As one manifest resource (<see cref="Emit.WeightBlob"/>) written by the package's build task and read in place
    /// through a pointer into the loaded image: for models whose literals would take minutes and gigabytes to compile.
    /// </summary>
    Resource = 1,
}

/// <summary>What the generator knows about the class to fill in and how to compile the model.</summary>
public sealed record CompilerOptions
{
    /// <summary>The class name, e.g. "FashionNet".</summary>
    public string ClassName { get; init; } = "Model";

    /// <summary>The namespace, or "" for the global namespace.</summary>
    public string Namespace { get; init; } = "";

    /// <summary>Declarations of containing types, outermost first (e.g. "partial class Outer"), for nested classes.</summary>
    public IReadOnlyList<string> ContainingTypes { get; init; } = System.Array.Empty<string>();

    /// <summary>The model path as the user wrote it (for comments and messages).</summary>
    public string ModelPath { get; init; } = "model.onnx";

    public Precision Precision { get; init; } = Precision.Int8;

    /// <summary>Calibrated [min, max] of float tensors by name, for static INT8; null when there is no calibration.</summary>
    public IReadOnlyDictionary<string, (float Min, float Max)>? CalibrationRanges { get; init; }

    /// <summary>The calibration file's JSON text (see docs/calibration.md); null when there is none.</summary>
    public string? CalibrationJson { get; init; }

    /// <summary>Where the calibration file is (or was looked for), for messages and the generated header.</summary>
    public string CalibrationPath { get; init; } = "";

    /// <summary>Node names to keep in float when compiling to INT8.</summary>
    public IReadOnlyList<string> KeepFloat { get; init; } = System.Array.Empty<string>();

    /// <summary>
    /// Sizes of named free input dimensions as "name=size" entries (e.g. "sequence=128"): the [OnnxModel] option
    /// Dimensions. Every input dimension whose dim_param is listed gets that size; see <see cref="Onnx.DimensionBindings"/>.
    /// </summary>
    public IReadOnlyList<string> Dimensions { get; init; } = System.Array.Empty<string>();

    /// <summary>Prefix of generated file names; unique per class.</summary>
    public string HintPrefix { get; init; } = "Model";

    /// <summary>Weight bytes per generated file before it is split (keeps each file's compile memory bounded).</summary>
    public int WeightBytesPerFile { get; init; } = 4 * 1024 * 1024;

    /// <summary>Literals in the source, or a manifest resource the build task embeds (see <see cref="WeightStorage"/>).</summary>
    public WeightStorage WeightStorage { get; init; } = WeightStorage.Literals;
}
