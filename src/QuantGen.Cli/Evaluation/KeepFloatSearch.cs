using System;
using System.Collections.Generic;
using System.Linq;

namespace QuantGen.Cli.Evaluation;

/// <summary>
/// Finds a small set of nodes to keep in float (KeepFloat) that brings INT8's top-1 drop within a budget. Greedy: add
/// candidates, most sensitive first, re-measuring after each, until the drop is within budget; then try to take each
/// added node out again (the first ones added may be useless once later ones are float), so no node of the answer can
/// be dropped without breaking the budget. Every measurement is a real INT8 evaluation over the samples; none is
/// estimated.
/// </summary>
internal static class KeepFloatSearch
{
    /// <summary>One measurement: the nodes kept in float (on top of the user's) and the drop they give, in points.</summary>
    public sealed record Step(IReadOnlyList<string> Added, double Drop, string Action);

    /// <param name="Added">The nodes the search chose, beyond the user's own KeepFloat.</param>
    public sealed record Result(IReadOnlyList<string> Added, double Drop, bool WithinBudget, IReadOnlyList<Step> Steps);

    /// <param name="candidates">Node names in the order to try them, most sensitive first.</param>
    /// <param name="budget">The drop allowed, in points.</param>
    /// <param name="initialDrop">The drop with none of the candidates kept float (already measured).</param>
    /// <param name="measure">The drop, in points, with the given candidates kept float.</param>
    /// <param name="onStep">Called after each measurement (progress for the user).</param>
    public static Result Run(IReadOnlyList<string> candidates, double budget, double initialDrop,
        Func<IReadOnlyList<string>, double> measure, Action<Step>? onStep = null)
    {
        var steps = new List<Step>();
        var chosen = new List<string>();
        double drop = initialDrop;
        // A tiny tolerance: drops are multiples of 100/N and the budget is typed in decimal.
        const double epsilon = 1e-9;

        foreach (string candidate in candidates)
        {
            if (drop <= budget + epsilon) break;
            chosen.Add(candidate);
            drop = measure(chosen.ToArray());
            Record(new Step(chosen.ToArray(), drop, "+ " + candidate));
        }
        if (drop > budget + epsilon)
            return new Result(chosen, drop, false, steps);

        // Pruning: the last node added is needed (without it the budget was not met); the others may not be.
        for (int i = chosen.Count - 2; i >= 0; i--)
        {
            var without = chosen.Where((_, j) => j != i).ToArray();
            double d = measure(without);
            bool keepOut = d <= budget + epsilon;
            Record(new Step(without, d, (keepOut ? "- " : "needed: ") + chosen[i]));
            if (keepOut)
            {
                chosen.RemoveAt(i);
                drop = d;
            }
        }
        return new Result(chosen, drop, true, steps);

        void Record(Step step)
        {
            steps.Add(step);
            onStep?.Invoke(step);
        }
    }
}
