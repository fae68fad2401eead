using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Emit;

/// <summary>Build-time data a kernel embeds in the assembly; the weight emitter gives it its final member name.</summary>
public sealed class EmbeddedTensor
{
    private static int s_counter;

    public EmbeddedTensor(string nodeName, string suffix, Tensor tensor)
    {
        NodeName = nodeName;
        Suffix = suffix;
        Tensor = tensor;
        PlaceholderName = "__qg_embed_" + System.Threading.Interlocked.Increment(ref s_counter);
    }

    public string NodeName { get; }
    public string Suffix { get; }
    public Tensor Tensor { get; }

    /// <summary>A unique token in the kernel text, replaced by the member name once all names are known.</summary>
    public string PlaceholderName { get; }
}
