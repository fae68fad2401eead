using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Ops;
using QuantGen.Compiler.Ops.Quantized;

namespace QuantGen.Compiler.Passes;

/// <summary>
/// Lowering for INT8 code: a QAdd one of whose inputs is a static QConv's output, read by nothing else (a residual
/// block's second convolution and its shortcut), moves into that QConv, which requantizes its accumulators to the
/// convolution's uint8 values and adds the residual right away, without storing the convolution's output. The
/// arithmetic is the two nodes' own, in the same order, so the result is equal bit for bit. The QConv gets the
/// residual as input 5 and the QAdd's attributes with an <c>add_</c> prefix; <c>add_conv_is_a</c> says which operand
/// of the add the convolution was. It runs after quantization, only for the code the generator emits.
/// </summary>
public static class FuseConvAdd
{
    public const string Prefix = "add_";
    public const string ConvIsA = "add_conv_is_a";

    public static void Run(Graph graph)
    {
        foreach (var add in graph.Nodes.Where(n => n.OpType == "QAdd" && n.Domain == OperatorRegistry.QuantizedDomain).ToList())
        {
            for (int side = 0; side < 2; side++)
            {
                string input = add.Inputs[side], residual = add.Inputs[1 - side];
                var conv = graph.Producer(input);
                if (conv == null || conv.OpType != "QConv" || conv.Domain != OperatorRegistry.QuantizedDomain || input == residual)
                    continue;
                if (graph.IsGraphOutput(input) || graph.Consumers(input).Count() != 1)
                    continue;
                var ctx = new ShapeContext(conv, graph);
                if (QConv.IsDynamic(ctx) || QConv.PoolsOutput(ctx) || QConv.AddsResidual(ctx) || conv.Inputs.Count != 5)
                    continue;
                // The residual must exist before the convolution runs: it is produced earlier in node order (or is an input).
                var residualProducer = graph.Producer(residual);
                if (residualProducer != null && graph.Nodes.IndexOf(residualProducer) > graph.Nodes.IndexOf(conv))
                    continue;
                var attributes = conv.Attributes.ToDictionary(a => a.Key, a => a.Value);
                foreach (var name in QAdd.AttributeNames)
                    if (add.Attributes.TryGetValue(name, out var attribute))
                        attributes[Prefix + name] = CopyAs(Prefix + name, attribute);
                attributes[ConvIsA] = new NodeAttribute(ConvIsA, AttributeKind.Int) { Int = side == 0 ? 1 : 0 };
                var fused = new Node(conv.Name, conv.OpType, conv.Domain, conv.Inputs.Concat(new[] { residual }).ToList(), new[] { add.Outputs[0] }, attributes)
                {
                    Activation = conv.Activation,
                };
                GraphMatching.Replace(graph, new[] { conv, add }, fused);
                break;
            }
        }
        graph.RemoveUnusedValues();
    }

    private static NodeAttribute CopyAs(string name, NodeAttribute a) => new(name, a.Kind) { Int = a.Int };
}
