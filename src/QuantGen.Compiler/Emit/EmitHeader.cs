using System.Collections.Generic;

namespace QuantGen.Compiler.Emit;

/// <summary>Facts about the compilation that the generated files state for their reader.</summary>
public sealed class EmitHeader
{
    /// <summary>"Float32", or "Int8, ..." with how activations are quantized.</summary>
    public string Precision { get; set; } = "Float32";

    /// <summary>Bytes the model's weights take in float32, to set against what is embedded.</summary>
    public long FloatWeightBytes { get; set; }

    /// <summary>Why a node runs in float in an INT8 model, by node name.</summary>
    public Dictionary<string, string> FloatReasons { get; } = new();
}
