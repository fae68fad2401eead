using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Generator.Tests;

/// <summary>
/// The values passed between pipeline steps must be plain, equatable data: a Compilation, symbol, syntax node or
/// semantic model in them defeats Roslyn's caching (they never compare equal across runs) and keeps whole old
/// compilations alive in the IDE.
/// </summary>
public class PipelineModelTests
{
    private static readonly Type[] Forbidden = { typeof(Compilation), typeof(ISymbol), typeof(SyntaxNode), typeof(SemanticModel), typeof(SyntaxTree), typeof(Location) };

    private static readonly Type[] PipelineModels =
    {
        typeof(ModelRequest), typeof(ModelText), typeof(DiagnosticInfo), typeof(GenerationResult),
        typeof(GeneratedSource), typeof(LocationInfo), typeof(RequestLocation), typeof(EquatableArray<string>),
        typeof(JsonText), typeof(CompileInput), typeof(WeightsManifestText),
    };

    public static IEnumerable<object[]> Models => PipelineModels.Select(t => new object[] { t });

    [Theory]
    [MemberData(nameof(Models))]
    public void Holds_no_Roslyn_object(Type type)
    {
        var problems = new List<string>();
        Walk(type, type.Name, new HashSet<Type>(), problems);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Has_value_equality(Type type)
    {
        Assert.True(typeof(IEquatable<>).MakeGenericType(type).IsAssignableFrom(type), $"{type.Name} does not implement IEquatable<{type.Name}>");
    }

    [Fact]
    public void Every_value_a_step_produced_is_a_checked_model()
    {
        // Catches a new model type that is not in the list above, and anything Roslyn-bound at run time.
        string source = """
            namespace Tests;

            [QuantGen.OnnxModel("Models/model.onnx")]
            public static partial class Model;
            """;
        var calibration = QuantGen.Compiler.Calibration.Calibrator.Calibrate(SnapshotTests.TinyCnn(), "Models/model.onnx", new[] { OnnxModelBuilder.RandomFloats(36, 1) }).Write();
        var run = GeneratorHarness.Run(new[] { source }, new AdditionalText[] { ModelFiles.Transport(SnapshotTests.TinyCnn()), new InMemoryAdditionalText("/project/Models/model.calib.json", calibration),
            // A weights manifest (of another model, so this one keeps its literals): the step that reads it runs.
            new InMemoryAdditionalText("/project/obj/quantgen/Models/other.onnx.qgw", QuantGen.Compiler.Transport.WeightsManifest.Write(new("Models/other.onnx", "QuantGen.Weights/Models/other.onnx", 64, new string('0', 64), "Int8"))) });
        Assert.Empty(run.AllDiagnostics);
        var steps = typeof(OnnxModelGenerator.Steps).GetFields().Select(f => (string)f.GetRawConstantValue()!).ToArray();
        var outputs = GeneratorCaching.StepOutputs(run).Where(o => steps.Contains(o.Step)).ToList();
        Assert.Equal(steps.OrderBy(s => s), outputs.Select(o => o.Step).Distinct().OrderBy(s => s));
        foreach (var (step, value) in outputs)
        {
            Assert.Contains(value.GetType(), PipelineModels);
            var problems = new List<string>();
            WalkValue(value, step, new HashSet<object>(ReferenceEqualityComparer.Instance), problems);
            Assert.True(problems.Count == 0, string.Join("\n", problems));
        }
    }

    private sealed record LeakyModel(string Name, EquatableArray<string> Items, ISymbol Symbol, IReadOnlyList<SyntaxNode> Nodes);

    [Fact]
    public void The_check_finds_Roslyn_objects()
    {
        var problems = new List<string>();
        Walk(typeof(LeakyModel), nameof(LeakyModel), new HashSet<Type>(), problems);
        Assert.Equal(2, problems.Count);
        Assert.Contains(problems, p => p.Contains("Symbol", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("SyntaxNode", StringComparison.Ordinal));
    }

    /// <summary>Every instance field (auto-property backing fields included), through generic arguments and arrays.</summary>
    private static void Walk(Type type, string path, HashSet<Type> seen, List<string> problems)
    {
        if (Forbidden.Any(f => f.IsAssignableFrom(type)))
        {
            problems.Add($"{path} is a {type.Name}");
            return;
        }
        if (type.IsPrimitive || type.IsEnum || type == typeof(string) || !seen.Add(type))
            return;
        if (type.IsArray)
        {
            Walk(type.GetElementType()!, path + "[]", seen, problems);
            return;
        }
        foreach (var argument in type.IsGenericType ? type.GetGenericArguments() : Type.EmptyTypes)
            Walk(argument, $"{path}<{argument.Name}>", seen, problems);
        // Roslyn's own plain structs (TextSpan, LinePositionSpan) and BCL types are fine; look inside ours.
        if (type.Assembly != typeof(OnnxModelGenerator).Assembly && type.Assembly != typeof(PipelineModelTests).Assembly)
            return;
        for (var t = type; t != null && t != typeof(object); t = t.BaseType)
            foreach (var field in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                Walk(field.FieldType, path + "." + field.Name, seen, problems);
    }

    private static void WalkValue(object? value, string path, HashSet<object> seen, List<string> problems)
    {
        if (value == null)
            return;
        var type = value.GetType();
        if (Forbidden.Any(f => f.IsInstanceOfType(value)))
        {
            problems.Add($"{path} holds a {type.Name}");
            return;
        }
        if (type.IsPrimitive || type.IsEnum || value is string || (!type.IsValueType && !seen.Add(value)))
            return;
        if (value is System.Collections.IEnumerable items)
        {
            int i = 0;
            foreach (var item in items)
                WalkValue(item, $"{path}[{i++}]", seen, problems);
        }
        if (type.Assembly != typeof(OnnxModelGenerator).Assembly && !type.IsGenericType)
            return;
        foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
            WalkValue(field.GetValue(value), path + "." + field.Name, seen, problems);
    }
}
