using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace QuantGen.Testing;

/// <summary>
/// Reads what the incremental driver did in each tracked step (steps need <c>trackIncrementalGeneratorSteps</c>,
/// which <see cref="GeneratorHarness"/> turns on), and the double-run check NetEscapades.EnumGenerators uses:
/// run the generator, run it again on an equal compilation, and expect every step to be served from cache.
/// </summary>
public static class GeneratorCaching
{
    /// <summary>The run reasons of every output of the step <paramref name="stepName"/> in the run.</summary>
    public static IReadOnlyList<IncrementalStepRunReason> Reasons(GeneratorRun run, string stepName) =>
        run.RunResult.Results
            .SelectMany(r => r.TrackedSteps.TryGetValue(stepName, out var steps) ? steps : Enumerable.Empty<IncrementalGeneratorRunStep>())
            .SelectMany(step => step.Outputs.Select(o => o.Reason))
            .ToList();

    /// <summary>Fails unless the step ran and every output is Cached or Unchanged.</summary>
    public static void AssertCached(GeneratorRun run, params string[] stepNames)
    {
        foreach (var name in stepNames)
        {
            var reasons = Reasons(run, name);
            if (reasons.Count == 0)
                throw new InvalidOperationException($"The step '{name}' did not run (is its tracking name right?).");
            if (reasons.Any(r => r is not (IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged)))
                throw new InvalidOperationException($"The step '{name}' was not served from cache: {string.Join(", ", reasons)}.");
        }
    }

    /// <summary>
    /// Fails unless every output of the step is Cached: the step's work was skipped. (Unchanged means it ran again and
    /// happened to produce an equal value, which for an expensive step such as compiling a model is the cost we avoid.)
    /// </summary>
    public static void AssertNotRun(GeneratorRun run, params string[] stepNames)
    {
        foreach (var name in stepNames)
        {
            var reasons = Reasons(run, name);
            if (reasons.Count == 0)
                throw new InvalidOperationException($"The step '{name}' did not run (is its tracking name right?).");
            if (reasons.Any(r => r != IncrementalStepRunReason.Cached))
                throw new InvalidOperationException($"The step '{name}' ran again: {string.Join(", ", reasons)}.");
        }
    }

    /// <summary>
    /// Runs the generator on <paramref name="sources"/>, then again with the same driver on a clone of the
    /// compilation: every output of the generator's own steps (<paramref name="stepNames"/>; Roslyn's internal steps
    /// such as "Compilation" always re-run) must be Cached/Unchanged in the second run, and both runs must produce the
    /// same files and diagnostics. Returns the first run.
    /// </summary>
    public static GeneratorRun AssertSecondRunCached(IEnumerable<string> sources, IEnumerable<AdditionalText> additionalFiles, IReadOnlyCollection<string> stepNames)
    {
        var compilation = GeneratorHarness.CreateCompilation(sources);
        var first = GeneratorHarness.Run(Array.Empty<string>(), additionalFiles, compilation: compilation);
        var second = GeneratorHarness.Run(Array.Empty<string>(), Array.Empty<AdditionalText>(), first.Driver, compilation.Clone());

        var steps = second.RunResult.Results.SelectMany(r => r.TrackedSteps).Where(s => stepNames.Contains(s.Key)).ToList();
        var missing = stepNames.Where(name => !steps.Any(s => s.Key == name)).ToList();
        if (missing.Count > 0)
            throw new InvalidOperationException("These steps did not run: " + string.Join(", ", missing));
        var notCached = steps
            .SelectMany(s => s.Value.SelectMany(step => step.Outputs).Select(o => (Step: s.Key, o.Reason)))
            .Where(o => o.Reason is not (IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged))
            .ToList();
        if (notCached.Count > 0)
            throw new InvalidOperationException("The second run re-did work: " + string.Join(", ", notCached.Select(o => $"{o.Step}={o.Reason}")));

        if (!first.Sources.OrderBy(s => s.Key, StringComparer.Ordinal).SequenceEqual(second.Sources.OrderBy(s => s.Key, StringComparer.Ordinal)))
            throw new InvalidOperationException("The second run generated different files.");
        if (!first.GeneratorDiagnostics.Select(d => d.ToString()).SequenceEqual(second.GeneratorDiagnostics.Select(d => d.ToString())))
            throw new InvalidOperationException("The second run reported different diagnostics.");
        return first;
    }

    /// <summary>
    /// Every value a tracked step produced, for walking them by reflection (nothing Roslyn-bound may be in them:
    /// holding a Compilation or symbol defeats caching and keeps old compilations alive).
    /// </summary>
    public static IEnumerable<(string Step, object Value)> StepOutputs(GeneratorRun run) =>
        run.RunResult.Results
            .SelectMany(r => r.TrackedSteps)
            .SelectMany(s => s.Value.SelectMany(step => step.Outputs).Select(o => (s.Key, o.Value)));
}
