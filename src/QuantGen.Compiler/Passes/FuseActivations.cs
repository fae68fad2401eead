using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Ops;

namespace QuantGen.Compiler.Passes;

/// <summary>
/// Moves an activation (Relu, Clip, LeakyRelu, HardSigmoid, HardSwish) into the kernel that produces its input,
/// when that kernel can apply it as it stores and nothing else reads the pre-activation value.
/// </summary>
public static class FuseActivations
{
    private static readonly string[] Fusable = { "Relu", "Clip", "LeakyRelu", "HardSigmoid", "HardSwish" };

    public static void Run(Graph graph)
    {
        foreach (var act in graph.Nodes.Where(n => Fusable.Contains(n.OpType)).ToList())
        {
            string input = act.Inputs[0];
            var producer = graph.Producer(input);
            if (producer == null || producer.Activation != null || producer.Outputs.Count(o => o.Length > 0) != 1)
                continue;
            var producerOp = OperatorRegistry.Find(producer.Domain, producer.OpType)!;
            if (!producerOp.CanFuseActivation || graph[input].Type != DataType.Float)
                continue;
            if (graph.IsGraphOutput(input) || graph.Consumers(input).Count() != 1)
                continue;
            var op = (ActivationOperator)OperatorRegistry.Find(act.Domain, act.OpType)!;
            producer.Activation = op.Describe(new ShapeContext(act, graph));
            producer.Outputs[0] = act.Outputs[0];
            producer.Absorbed.Add(act.Name);
            graph.Nodes.Remove(act);
        }
        graph.RemoveUnusedValues();
    }
}
