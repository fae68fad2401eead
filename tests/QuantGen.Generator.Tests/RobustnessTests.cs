using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using QuantGen.Testing;
using Xunit;
using Xunit.Abstractions;

namespace QuantGen.Generator.Tests;

/// <summary>
/// The generator runs inside the compiler: damaged models must end in diagnostics or in code that compiles, never in
/// an exception, a QG0001 "unexpected" error or a hang. The sample CNN is truncated at 100 points and has single
/// bytes flipped at 200 points (fixed seed, so a failure reproduces), and nodes, attributes and shapes are mutated.
/// </summary>
public class RobustnessTests
{
    private static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Generated code is compiled for this many of the damaged models that still produce code (the rest share its shape).</summary>
    private const int CompiledCases = 6;

    private readonly ITestOutputHelper _output;

    public RobustnessTests(ITestOutputHelper output) => _output = output;

    private static byte[] SampleModel() =>
        File.ReadAllBytes(Path.Combine(ModelFiles.RepoRoot, "samples", "FashionMnist", "Models", "fashion_cnn.onnx"));

    [Fact]
    public void Truncated_models_give_diagnostics_never_crashes()
    {
        var model = SampleModel();
        var cases = Enumerable.Range(0, 100)
            .Select(i => (long)model.Length * i / 100)
            .Select(length => ($"truncated to {length} of {model.Length} bytes", model.AsSpan(0, (int)length).ToArray()));
        Check(cases);
    }

    [Fact]
    public void Models_with_a_flipped_byte_give_diagnostics_or_compiling_code()
    {
        var model = SampleModel();
        var random = new Random(20240611);
        var cases = new List<(string, byte[])>();
        for (int i = 0; i < 200; i++)
        {
            // Spread the positions evenly, jittered, so the small header and graph are hit as well as the weights.
            int position = (int)((long)model.Length * i / 200) + random.Next(model.Length / 200);
            byte mask = (byte)random.Next(1, 256);
            var damaged = (byte[])model.Clone();
            damaged[position] ^= mask;
            cases.Add(($"byte {position} xor 0x{mask:x2}", damaged));
        }
        // The header and graph structure (before the weights) are where the interesting damage is: hit them densely.
        for (int position = 0; position < 200; position++)
        {
            var damaged = (byte[])model.Clone();
            damaged[position] ^= 0xFF;
            cases.Add(($"byte {position} xor 0xff", damaged));
        }
        Check(cases);
    }

    // This test (and a longer run of the same mutator) found: an empty input name where the op requires the input
    // (KeyNotFoundException), strides/dilations past int range cast to 0 (DivideByZeroException), Conv weights of
    // rank < 2 (new int[-1]), an input larger than 2^31 elements (OverflowException), and an output and an input
    // with the same parameter name (CS0100 in the generated code). All are diagnostics now.
    // Every other case compiles to INT8 (the default: dynamic quantization, as no calibration file is given), so the
    // quantization passes see the damaged graphs too.
    [Fact]
    public void Models_with_mutated_nodes_attributes_and_shapes_give_diagnostics_or_compiling_code()
    {
        var model = SampleModel();
        var random = new Random(4242);
        var cases = Enumerable.Range(0, 200).Select(i =>
        {
            var proto = Compiler.Onnx.Proto.ModelProto.Parser.ParseFrom(model);
            string what = ModelMutator.Mutate(proto, random, i);
            return ($"mutation {i} ({(i % 2 == 0 ? "Float32" : "Int8")}): {what}", Google.Protobuf.MessageExtensions.ToByteArray(proto));
        }).ToList();
        Check(cases, compileAll: true, int8: i => i % 2 == 1);
    }

    private void Check(IEnumerable<(string Name, byte[] Model)> cases, bool compileAll = false, Func<int, bool>? int8 = null)
    {
        var failures = new List<string>();
        var outcomes = new Dictionary<string, int>();
        int compiled = 0, index = -1;
        var compiledShapes = new HashSet<string>(StringComparer.Ordinal); // generated code apart from its weights
        foreach (var (name, bytes) in cases)
        {
            string arguments = int8?.Invoke(++index) == true ? "" : ", Precision = QuantGen.Precision.Float32";
            var task = Task.Run(() => GeneratorHarness.RunModel(bytes, attributeArguments: arguments));
            GeneratorRun run;
            try
            {
                if (!task.Wait(CaseTimeout))
                {
                    failures.Add($"{name}: no result after {CaseTimeout.TotalSeconds} s");
                    continue;
                }
                run = task.Result;
            }
            catch (AggregateException e)
            {
                failures.Add($"{name}: {e.InnerException}");
                continue;
            }

            // Warnings and infos (QG0021 dynamic quantization, QG0022 float nodes) come with code; errors without.
            var diagnostics = run.GeneratorDiagnostics;
            bool failed = diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);
            string outcome = (failed ? "" : "code ") + string.Join("+", diagnostics.Select(d => d.Id).Distinct().OrderBy(id => id, StringComparer.Ordinal));
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            if (diagnostics.Any(d => d.Id == "QG0001"))
                failures.Add($"{name}: {string.Join("; ", diagnostics.Select(d => d.GetMessage()))}");
            else if (failed && run.Sources.Count > 0)
                failures.Add($"{name}: both errors and code");
            else if (!failed && run.Sources.Count == 0)
                failures.Add($"{name}: neither errors nor code");
            else if (!failed && (compileAll ? compiledShapes.Add(string.Concat(run.Sources.Where(f => !f.Key.Contains(".Weights", StringComparison.Ordinal)).Select(f => f.Value))) : compiled++ < CompiledCases))
            {
                var errors = run.OutputCompilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Take(5).ToList();
                if (errors.Count > 0)
                    failures.Add($"{name}: the generated code does not compile: {string.Join("; ", errors)}");
            }
        }
        foreach (var (outcome, count) in outcomes.OrderByDescending(o => o.Value))
            _output.WriteLine($"{count,4} {outcome}");
        Assert.True(failures.Count == 0, $"{failures.Count} damaged models broke the generator:\n" + string.Join("\n", failures.Take(30)));
    }
}
