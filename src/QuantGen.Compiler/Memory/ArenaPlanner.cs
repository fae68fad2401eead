using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Ops;

namespace QuantGen.Compiler.Memory;

/// <summary>The memory plan of one model: where each value lives, how big the workspace is, what Predict copies at the end.</summary>
public sealed class MemoryPlan
{
    public Dictionary<string, TensorStorage> Storage { get; } = new();

    /// <summary>Workspace size in bytes (a multiple of <see cref="ArenaPlanner.Alignment"/>).</summary>
    public int WorkspaceBytes { get; set; }

    /// <summary>Graph outputs that no kernel writes directly (an input, a constant, a second name for one buffer): copied last.</summary>
    public List<(string Value, int OutputIndex)> FinalCopies { get; } = new();

    /// <summary>
    /// Scratch memory of the nodes that ask for it (<see cref="Operator.ScratchBytes"/>), by node position: live only while
    /// that node runs, so it shares the workspace with tensors that are dead at that point.
    /// </summary>
    public Dictionary<int, (int ByteOffset, int Bytes)> Scratch { get; } = new();
}

/// <summary>
/// Plans scratch memory at build time. Views share their source's buffer; each graph output is written straight
/// into the caller's output span when possible; everything else gets a byte offset in one workspace, where two
/// buffers may overlap only if their lifetimes (first write to last read, in node order) do not. Placement is
/// greedy by size, largest first, at the lowest offset that fits. A kernel's scratch memory (packed im2col windows,
/// int32 accumulators) is one more buffer whose lifetime is its own node.
/// </summary>
public static class ArenaPlanner
{
    public const int Alignment = 64;

    public static MemoryPlan Plan(Graph graph, IReadOnlyList<string> inputParameters, IReadOnlyList<string> outputParameters)
    {
        var plan = new MemoryPlan();
        var root = new Dictionary<string, string>();
        string Root(string v) => root.TryGetValue(v, out var r) ? Root(r) : v;

        foreach (var node in graph.Nodes)
            if (OperatorRegistry.Find(node.Domain, node.OpType)!.IsView)
                root[node.Outputs[0]] = node.Inputs[0];

        // Lifetimes of root buffers, in node positions; graph outputs live to the end.
        var first = new Dictionary<string, int>();
        var last = new Dictionary<string, int>();
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            foreach (var o in graph.Nodes[i].Outputs.Where(o => o.Length > 0))
            {
                var r = Root(o);
                if (!first.ContainsKey(r)) first[r] = i;
                last[r] = Math.Max(last.TryGetValue(r, out var l) ? l : i, i);
            }
            foreach (var input in graph.Nodes[i].Inputs.Where(x => x.Length > 0))
                last[Root(input)] = i;
        }
        foreach (var o in graph.Outputs)
            last[Root(o)] = graph.Nodes.Count;

        for (int i = 0; i < graph.Inputs.Count; i++)
            plan.Storage[graph.Inputs[i]] = TensorStorage.Parameter(StorageKind.Input, inputParameters[i]);
        foreach (var v in graph.Values.Values.Where(v => v.IsConstant))
            plan.Storage[v.Name] = TensorStorage.Embedded(v.Name);

        // Graph outputs: write in place when the output's buffer is produced by a kernel and not yet claimed.
        for (int k = 0; k < graph.Outputs.Count; k++)
        {
            string output = graph.Outputs[k], r = Root(output);
            bool kernelBuffer = !plan.Storage.ContainsKey(r) && first.ContainsKey(r);
            if (kernelBuffer && graph[r].Type == graph[output].Type)
                plan.Storage[r] = TensorStorage.Parameter(StorageKind.Output, outputParameters[k]);
            else
                plan.FinalCopies.Add((output, k));
        }

        // Arena placement.
        var buffers = first.Keys.Where(r => !plan.Storage.ContainsKey(r))
            .Select(r => (Name: r, Node: -1, Bytes: Align(graph[r].Length * graph[r].Type.ByteSize()), First: first[r], Last: last[r]))
            .ToList();
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            var node = graph.Nodes[i];
            int scratch = OperatorRegistry.Find(node.Domain, node.OpType)!.ScratchBytes(new ShapeContext(node, graph));
            if (scratch > 0)
                buffers.Add((Name: "", Node: i, Bytes: Align(scratch), First: i, Last: i));
        }
        buffers = buffers.OrderByDescending(b => b.Bytes).ThenBy(b => b.First).ThenBy(b => b.Node).ThenBy(b => b.Name, StringComparer.Ordinal).ToList();
        var placed = new List<(int Offset, int Bytes, int First, int Last)>();
        foreach (var b in buffers)
        {
            int offset = 0;
            foreach (var p in placed.Where(p => p.First <= b.Last && b.First <= p.Last).OrderBy(p => p.Offset))
            {
                if (offset + b.Bytes <= p.Offset) break;
                offset = Math.Max(offset, p.Offset + p.Bytes);
            }
            placed.Add((offset, b.Bytes, b.First, b.Last));
            if (b.Node >= 0)
                plan.Scratch[b.Node] = (offset, b.Bytes);
            else
                plan.Storage[b.Name] = TensorStorage.InArena(offset);
            plan.WorkspaceBytes = Math.Max(plan.WorkspaceBytes, offset + b.Bytes);
        }

        // Views resolve to their root's storage.
        foreach (var v in root.Keys)
            plan.Storage[v] = plan.Storage[Root(v)];
        return plan;
    }

    private static int Align(int bytes) => Math.Max(Alignment, (bytes + Alignment - 1) / Alignment * Alignment);
}
