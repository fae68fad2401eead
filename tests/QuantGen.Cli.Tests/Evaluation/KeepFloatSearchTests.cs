using System;
using System.Collections.Generic;
using System.Linq;
using QuantGen.Cli.Evaluation;
using Xunit;

namespace QuantGen.Cli.Tests.Evaluation;

public sealed class KeepFloatSearchTests
{
    /// <summary>A made-up model: each node adds its cost to the drop unless it is kept float.</summary>
    private static Func<IReadOnlyList<string>, double> Costs(Dictionary<string, double> cost, List<string[]>? calls = null) => keep =>
    {
        calls?.Add(keep.ToArray());
        return cost.Where(kv => !keep.Contains(kv.Key)).Sum(kv => kv.Value);
    };

    [Fact]
    public void Nothing_is_measured_when_the_drop_is_within_budget_already()
    {
        var calls = new List<string[]>();
        var r = KeepFloatSearch.Run(new[] { "a", "b" }, 0.5, 0.3, Costs(new() { ["a"] = 0.3 }, calls));
        Assert.True(r.WithinBudget);
        Assert.Empty(r.Added);
        Assert.Empty(calls);
    }

    [Fact]
    public void Adds_in_the_given_order_then_drops_what_later_nodes_made_useless()
    {
        // "a" looks worst (first) but costs little; "c" is the real culprit.
        var cost = new Dictionary<string, double> { ["a"] = 0.1, ["b"] = 0.2, ["c"] = 3 };
        var steps = new List<KeepFloatSearch.Step>();
        var r = KeepFloatSearch.Run(new[] { "a", "b", "c" }, 0.5, 3.3, Costs(cost), steps.Add);
        Assert.True(r.WithinBudget);
        Assert.Equal(new[] { "c" }, r.Added);
        Assert.Equal(0.3, r.Drop, 9);
        Assert.Equal(new[] { "+ a", "+ b", "+ c", "- b", "- a" }, steps.Select(s => s.Action));
    }

    [Fact]
    public void Keeps_a_node_whose_removal_breaks_the_budget()
    {
        var cost = new Dictionary<string, double> { ["a"] = 0.4, ["b"] = 0.4 };
        var r = KeepFloatSearch.Run(new[] { "a", "b" }, 0.3, 0.8, Costs(cost));
        Assert.Equal(new[] { "a", "b" }, r.Added);
        Assert.Equal(0, r.Drop);
        Assert.Contains(r.Steps, s => s.Action == "needed: a");
    }

    [Fact]
    public void Says_so_when_no_set_reaches_the_budget()
    {
        var r = KeepFloatSearch.Run(new[] { "a" }, 0.1, 1, _ => 0.7);
        Assert.False(r.WithinBudget);
        Assert.Equal(0.7, r.Drop);
    }
}
