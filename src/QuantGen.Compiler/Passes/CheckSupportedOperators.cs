using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Ops;

namespace QuantGen.Compiler.Passes;

/// <summary>Reports every node whose operator QuantGen lacks, all in one build (not one per build).</summary>
public static class CheckSupportedOperators
{
    public static void Run(Graph graph)
    {
        var errors = new List<ModelDiagnostic>();
        foreach (var node in graph.Nodes.Where(n => OperatorRegistry.Find(n.Domain, n.OpType) == null))
        {
            string domain = node.Domain.Length == 0 ? "ai.onnx" : node.Domain;
            string hint = node.Domain is "" or "ai.onnx" ? "" : " (QuantGen supports only the standard ai.onnx domain)";
            errors.Add(DiagnosticCatalog.UnsupportedOperator.Create(node.Name, node.OpType, domain, graph.Opset, hint));
        }
        if (errors.Count > 0)
            throw new ModelCompileException(errors);
    }
}
