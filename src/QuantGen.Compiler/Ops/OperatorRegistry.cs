using System.Collections.Generic;
using System.Linq;

namespace QuantGen.Compiler.Ops;

/// <summary>The supported ONNX operators (domain ai.onnx), by op_type.</summary>
public static class OperatorRegistry
{
    private static readonly Dictionary<string, Operator> ByType = new Operator[]
    {
        new Add(), new Sub(), new Mul(), new Div(),
        new Relu(), new LeakyRelu(), new Clip(), new Sigmoid(), new Tanh(), new HardSigmoid(), new HardSwish(),
        new Identity(), new Dropout(), new Reshape(), new Flatten(), new Squeeze(), new Unsqueeze(),
        new Constant(), new Shape(),
        new Gemm(), new Conv(), new BatchNormalization(),
        new MaxPool(), new AveragePool(), new GlobalAveragePool(), new GlobalMaxPool(),
        new MatMul(), new Softmax(), new ReduceMean(),
        new Transpose(), new Concat(), new Gather(), new Slice(), new Pad(),
        new QuantizeLinear(), new DequantizeLinear(), new QLinearConv(), new QLinearMatMul(), new ConvInteger(), new MatMulInteger(),
        // Transformer ops, batch 1
        new Neg(), new Exp(), new Log(), new Sqrt(), new Erf(), new Gelu(), new Pow(),
        new Equal(), new Less(), new Greater(), new LessOrEqual(), new GreaterOrEqual(), new Where(), new Not(), new And(), new Or(), new Xor(),
        new Expand(), new ConstantOfShape(), new Range(), new Cast(), new CastLike(), new Trilu(),
        // Transformer ops, batch 2
        new ReduceSum(), new ReduceMax(), new Split(), new LayerNormalization(),
    }.ToDictionary(op => op.OpType);

    /// <summary>
    /// QuantGen's own integer operators, which the quantization pass puts in place of float ones (domain
    /// <see cref="QuantizedDomain"/>; never read from a model file).
    /// </summary>
    private static readonly Dictionary<string, Operator> Quantized = new Operator[]
    {
        new Quantized.QuantizeU8(), new Quantized.DequantizeU8(), new Quantized.QuantizeDynamic(),
        new Quantized.QConv(), new Quantized.QGemm(), new Quantized.QMatMul(),
        new Quantized.QAdd(), new Quantized.QGlobalAveragePool(), new Quantized.QAveragePool(), new Quantized.QConcat(), new Quantized.QLookup(), new Quantized.QGatherRows(),
    }.ToDictionary(op => op.OpType);

    public const string QuantizedDomain = "quantgen";

    public static Operator? Find(string domain, string opType) =>
        domain is "" or "ai.onnx" ? (ByType.TryGetValue(opType, out var op) ? op : null)
        : domain == QuantizedDomain && Quantized.TryGetValue(opType, out var q) ? q : null;

    public static IEnumerable<string> SupportedOps => ByType.Keys.OrderBy(k => k, System.StringComparer.Ordinal);
}
