using System.Collections.Generic;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops.Quantized;

/// <summary>
/// One integer layer's matrix product as the generated code calls it (KernelHelpers.GemmU8S8 for QConv,
/// GemvU8S8 for QGemm): what per-layer benchmarks replay to report GOPS against the machine's peak.
/// </summary>
/// <param name="Macs">Multiply-accumulates the layer needs (the GEMM may do more: padded pixels and quads).</param>
/// <param name="Calls">GEMM calls per Predict (batch x groups, or input rows for QGemm).</param>
/// <param name="Rows">GemmU8S8: output channels per group; GemvU8S8: blocks of 8 output channels.</param>
/// <param name="Pixels">GemmU8S8: columns (a multiple of 16); 0 for GemvU8S8.</param>
/// <param name="QuadOffsets">GemmU8S8: byte offset of each quad's operand; empty for GemvU8S8.</param>
/// <param name="OperandBytes">Bytes of the operand buffer the offsets point into (or of the padded input row).</param>
public sealed record LayerGemm(string Node, string OpType, string Description, long Macs, int Calls, bool IsGemv,
    int Rows, int K4, int Pixels, IReadOnlyList<int> QuadOffsets, int OperandBytes);

public static class LayerGemms
{
    /// <summary>The GEMM of every QConv and QGemm node of a quantized graph, in node order.</summary>
    public static IReadOnlyList<LayerGemm> Of(Graph graph)
    {
        var layers = new List<LayerGemm>();
        foreach (var node in graph.Nodes)
        {
            var ctx = new ShapeContext(node, graph);
            if (node.OpType == "QConv" && node.Domain == OperatorRegistry.QuantizedDomain)
            {
                var p = Conv.Read(ctx);
                var g = p.G;
                var l = QConvKernel.Plan(ctx);
                var offsets = QConvKernel.QuadOffsets(p, l).Longs!;
                layers.Add(new LayerGemm(node.Name, "Conv", OperatorRegistry.Find(node.Domain, node.OpType)!.Describe(ctx),
                    (long)g.N * p.M * g.OH * g.OW * l.K, g.N * p.Group, false, p.Mg, l.K4, l.Pixels,
                    System.Array.ConvertAll(offsets, v => (int)v), l.OperandBytes));
            }
            else if (node.OpType == "QGemm" && node.Domain == OperatorRegistry.QuantizedDomain)
            {
                var x = ctx.InputShape(0);
                var w = ctx.InputShape(1);
                int k = w[1], n = w[0], rows = Shapes.ElementCount(x) / k;
                layers.Add(new LayerGemm(node.Name, "Gemm", OperatorRegistry.Find(node.Domain, node.OpType)!.Describe(ctx), (long)rows * k * n, rows, true,
                    (n + 7) / 8, (k + 3) / 4, 0, System.Array.Empty<int>(), (k + 3) / 4 * 4));
            }
        }
        return layers;
    }
}
