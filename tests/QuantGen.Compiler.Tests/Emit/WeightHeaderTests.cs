using System.Linq;
using System.Text.RegularExpressions;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Tests.Quantization;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Compiler.Tests.Emit;

/// <summary>
/// The "// Weights:" line of a generated file. Its float32 figure (<see cref="ModelEmitter.ConstantBytes"/>) is what a
/// Float32 build embeds, so a Float32 build states one figure, and INT8 builds compare against the right number.
/// </summary>
public class WeightHeaderTests
{
    private static readonly Regex Header = new(@"^// Weights: (.*)$", RegexOptions.Multiline);

    private static string WeightsLine(byte[] model)
    {
        var result = ModelCompiler.Compile(model, GeneratedModel.Options(Precision.Float32));
        Assert.Empty(result.Diagnostics);
        return Header.Match(result.Files[0].Source).Groups[1].Value;
    }

    [Fact]
    public void Scalar_operands_and_constant_Gather_indices_are_not_counted_as_weights()
    {
        // A Mul by a scalar (a literal in the code), a Pow by a scalar exponent, an Add of a bias (embedded), then a
        // Gather of row 0 at a constant index (copies at build-time indices): 8 floats embedded, nothing else.
        var model = new OnnxModelBuilder(opset: 17)
            .Input("x", 2, 8)
            .Initializer("scale", new long[0], new[] { 0.25f })
            .Initializer("three", new long[0], new[] { 3f })
            .Initializer("bias", new long[] { 8 }, OnnxModelBuilder.RandomFloats(8, 1, 1f))
            .Initializer("row", new long[0], new long[] { 0 })
            .Node("mul", "Mul", new[] { "x", "scale" }, new[] { "m" })
            .Node("pow", "Pow", new[] { "m", "three" }, new[] { "p" })
            .Node("add", "Add", new[] { "p", "bias" }, new[] { "a" })
            .Node("gather", "Gather", new[] { "a", "row" }, new[] { "y" }, OnnxAttribute.Int("axis", 0))
            .Output("y", 8)
            .ToBytes();
        Assert.Equal(32, ModelEmitter.ConstantBytes(ModelCompiler.Prepare(model, "model.onnx")));
        Assert.Equal("32 bytes embedded.", WeightsLine(model));
    }

    [Fact]
    public void The_sample_ViT_in_Float32_states_one_figure()
    {
        // 24 bytes used to be counted and not embedded: the 4 attention scales (Mul by 0.25) and the int64 index of the
        // class token's Gather.
        Assert.Equal("556,072 bytes embedded.", WeightsLine(QuantTestKit.SampleModel("fashion_vit.onnx")));
    }
}
