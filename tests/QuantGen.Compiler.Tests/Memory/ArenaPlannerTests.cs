using System.Linq;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Memory;
using QuantGen.Compiler.Tests.Passes;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Compiler.Tests.Memory;

public class ArenaPlannerTests
{
    private static Graph Chain(int length, int width)
    {
        var builder = new OnnxModelBuilder().Input("x", 1, width);
        string previous = "x";
        for (int i = 0; i < length; i++)
        {
            string next = i == length - 1 ? "y" : "t" + i;
            builder.Node(i % 2 == 0 ? "Sigmoid" : "Tanh", new[] { previous }, new[] { next });
            previous = next;
        }
        return PassTestModels.Imported(builder.Output("y"));
    }

    [Fact]
    public void A_chain_reuses_two_buffers_and_writes_the_last_one_into_the_output()
    {
        var graph = Chain(length: 6, width: 100);
        var plan = ArenaPlanner.Plan(graph, new[] { "input" }, new[] { "output" });

        Assert.Equal(StorageKind.Input, plan.Storage["x"].Kind);
        Assert.Equal(StorageKind.Output, plan.Storage["y"].Kind);
        Assert.Empty(plan.FinalCopies);
        // 400 bytes per tensor, aligned to 448; neighbours overlap in time, so two slots suffice.
        Assert.Equal(2 * 448, plan.WorkspaceBytes);
    }

    [Fact]
    public void Buffers_alive_at_the_same_time_never_overlap()
    {
        // A diamond: a and b are both alive when the Add reads them.
        var builder = new OnnxModelBuilder()
            .Input("x", 1, 64)
            .Node("Sigmoid", new[] { "x" }, new[] { "a" })
            .Node("Tanh", new[] { "x" }, new[] { "b" })
            .Node("Relu", new[] { "a" }, new[] { "c" })
            .Node("Add", new[] { "c", "b" }, new[] { "d" })
            .Node("Sigmoid", new[] { "d" }, new[] { "y" })
            .Output("y");
        var graph = PassTestModels.Imported(builder);
        var plan = ArenaPlanner.Plan(graph, new[] { "input" }, new[] { "output" });

        var arena = new[] { "a", "b", "c", "d" };
        int Position(string v) => graph.Nodes.FindIndex(n => n.Outputs.Contains(v));
        int LastUse(string v) => graph.Nodes.FindLastIndex(n => n.Inputs.Contains(v));
        foreach (var p in arena)
            foreach (var q in arena.Where(q => string.CompareOrdinal(q, p) > 0))
            {
                bool liveTogether = Position(p) <= LastUse(q) && Position(q) <= LastUse(p);
                int pStart = plan.Storage[p].ByteOffset, qStart = plan.Storage[q].ByteOffset;
                bool overlapInMemory = pStart < qStart + 256 && qStart < pStart + 256;
                Assert.False(liveTogether && overlapInMemory, $"{p} and {q} share memory while both are alive");
            }
    }

    [Fact]
    public void A_view_shares_its_source_buffer_and_an_output_that_is_an_input_is_copied()
    {
        var builder = new OnnxModelBuilder()
            .Input("x", 1, 2, 3)
            .Initializer("shape", new long[] { 2 }, new long[] { 1, 6 })
            .Node("Sigmoid", new[] { "x" }, new[] { "s" })
            .Node("Reshape", new[] { "s", "shape" }, new[] { "y" })
            .Node("Identity", new[] { "x" }, new[] { "z" })
            .Output("y")
            .Output("z");
        var graph = PassTestModels.Imported(builder);
        var plan = ArenaPlanner.Plan(graph, new[] { "x" }, new[] { "y", "z" });

        Assert.Equal(plan.Storage["s"], plan.Storage["y"]);
        Assert.Equal(StorageKind.Output, plan.Storage["s"].Kind);
        Assert.Equal(("z", 1), Assert.Single(plan.FinalCopies));
        Assert.Equal(0, plan.WorkspaceBytes);
    }
}
