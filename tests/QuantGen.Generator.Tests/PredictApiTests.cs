using System;
using System.Linq;
using System.Reflection;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Testing.OnnxModelBuilder;

namespace QuantGen.Generator.Tests;

/// <summary>
/// The generated API as users call it: constants, parameter names after the ONNX names, and argument checks that
/// name the parameter and the expected length.
/// </summary>
public class PredictApiTests
{
    private const string TinyHarness = """
        namespace Tests;

        public static class TinyHarness
        {
            public static void Predict(float[] input, float[] output) => TinyNet.Predict(input, output);
            public static void PredictIn(float[] input, float[] output, byte[] workspace) => TinyNet.Predict(input, output, workspace);
        }
        """;

    private static CompiledAssembly LoadTiny()
    {
        var run = GeneratorHarness.RunModel(SnapshotTests.TinyCnn(), className: "TinyNet");
        Assert.Empty(run.AllDiagnostics);
        return CompiledAssembly.Load(run, TinyHarness);
    }

    [Fact]
    public void Constants_of_a_single_input_and_output_model()
    {
        using var assembly = LoadTiny();
        Assert.Equal(36, assembly.Constant("Tests.TinyNet", "InputLength"));
        Assert.Equal(3, assembly.Constant("Tests.TinyNet", "OutputLength"));
        Assert.True((int)assembly.Constant("Tests.TinyNet", "WorkspaceBytes")! > 0);
    }

    [Theory]
    [InlineData(35, 3, "input", 36)]
    [InlineData(37, 3, "input", 36)]
    [InlineData(0, 3, "input", 36)]
    [InlineData(36, 2, "output", 3)]
    [InlineData(36, 4, "output", 3)]
    public void Wrong_lengths_throw_ArgumentException_naming_the_parameter_and_the_expected_length(int inputLength, int outputLength, string parameter, int expected)
    {
        using var assembly = LoadTiny();
        var predict = assembly.Method<Action<float[], float[]>>("Tests.TinyHarness", "Predict");

        var e = Assert.Throws<ArgumentException>(() => predict(new float[inputLength], new float[outputLength]));

        Assert.Equal(parameter, e.ParamName);
        Assert.Contains($"Expected {expected} elements", e.Message, StringComparison.Ordinal);
        Assert.Contains($"got {(parameter == "input" ? inputLength : outputLength)}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_workspace_that_is_too_small_throws_naming_it_and_the_size_needed()
    {
        using var assembly = LoadTiny();
        var predict = assembly.Method<Action<float[], float[], byte[]>>("Tests.TinyHarness", "PredictIn");
        int needed = (int)assembly.Constant("Tests.TinyNet", "WorkspaceBytes")!;

        var e = Assert.Throws<ArgumentException>(() => predict(new float[36], new float[3], new byte[needed - 1]));

        Assert.Equal("workspace", e.ParamName);
        Assert.Contains($"at least {needed} bytes", e.Message, StringComparison.Ordinal);
        Assert.Contains($"got {needed - 1}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_caller_workspace_gives_the_same_result_as_the_thread_workspace()
    {
        using var assembly = LoadTiny();
        var predict = assembly.Method<Action<float[], float[]>>("Tests.TinyHarness", "Predict");
        var predictIn = assembly.Method<Action<float[], float[], byte[]>>("Tests.TinyHarness", "PredictIn");
        int needed = (int)assembly.Constant("Tests.TinyNet", "WorkspaceBytes")!;
        var input = RandomFloats(36, seed: 3, scale: 1);

        var expected = new float[3];
        predict(input, expected);
        var actual = new float[3];
        var workspace = Enumerable.Repeat((byte)0xCD, needed + 100).ToArray(); // larger and dirty: both allowed
        predictIn(input, actual, workspace);

        Assert.Equal(expected, actual);
    }

    /// <summary>Two inputs, two outputs: shifted = pixels - Threshold, gate.out = Sigmoid(Threshold).</summary>
    private static byte[] TwoInTwoOut() => new OnnxModelBuilder(graphName: "two_by_two")
        .Input("pixels", 1, 6)
        .Input("Threshold", 1, 1)
        .Node("sub", "Sub", new[] { "pixels", "Threshold" }, new[] { "shifted" })
        .Node("gate", "Sigmoid", new[] { "Threshold" }, new[] { "gate.out" })
        .Output("shifted", 1, 6)
        .Output("gate.out", 1, 1)
        .ToBytes();

    private const string TwoHarness = """
        namespace Tests;

        public static class TwoHarness
        {
            public static void Predict(float[] pixels, float[] threshold, float[] shifted, float[] gate)
                => TwoNet.Predict(pixels: pixels, threshold: threshold, shifted: shifted, gate_out: gate);
        }
        """;

    [Fact]
    public void Several_inputs_and_outputs_are_parameters_named_after_the_ONNX_names_in_model_order()
    {
        var run = GeneratorHarness.RunModel(TwoInTwoOut(), className: "TwoNet");
        Assert.Empty(run.AllDiagnostics);
        // The harness calls Predict with named arguments, so it compiles only if the names are right.
        using var assembly = CompiledAssembly.Load(run, TwoHarness);

        var predict = assembly.Assembly.GetType("Tests.TwoNet")!.GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Single(m => m.Name == "Predict" && m.GetParameters().Length == 4);
        Assert.Equal(new[] { "pixels", "threshold", "shifted", "gate_out" }, predict.GetParameters().Select(p => p.Name));
        Assert.Equal(new[] { typeof(ReadOnlySpan<float>), typeof(ReadOnlySpan<float>), typeof(Span<float>), typeof(Span<float>) }, predict.GetParameters().Select(p => p.ParameterType));

        Assert.Equal(6, assembly.Constant("Tests.TwoNet", "PixelsLength"));
        Assert.Equal(1, assembly.Constant("Tests.TwoNet", "ThresholdLength"));
        Assert.Equal(6, assembly.Constant("Tests.TwoNet", "ShiftedLength"));
        Assert.Equal(1, assembly.Constant("Tests.TwoNet", "Gate_outLength"));
        Assert.Null(assembly.Constant("Tests.TwoNet", "InputLength"));
        Assert.Null(assembly.Constant("Tests.TwoNet", "OutputLength"));

        var call = assembly.Method<Action<float[], float[], float[], float[]>>("Tests.TwoHarness", "Predict");
        var shifted = new float[6];
        var gate = new float[1];
        call(new float[] { 1, 2, 3, 4, 5, 6 }, new float[] { 2.5f }, shifted, gate);
        Assert.Equal(new[] { -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 3.5f }, shifted);
        Assert.Equal(1 / (1 + MathF.Exp(-2.5f)), gate[0], 1e-6f);
    }

    [Theory]
    [InlineData(5, 1, 6, 1, "pixels", 6)]
    [InlineData(6, 2, 6, 1, "threshold", 1)]
    [InlineData(6, 1, 7, 1, "shifted", 6)]
    [InlineData(6, 1, 6, 0, "gate_out", 1)]
    public void Several_inputs_and_outputs_each_check_their_own_length(int pixels, int threshold, int shifted, int gate, string parameter, int expected)
    {
        var run = GeneratorHarness.RunModel(TwoInTwoOut(), className: "TwoNet");
        using var assembly = CompiledAssembly.Load(run, TwoHarness);
        var call = assembly.Method<Action<float[], float[], float[], float[]>>("Tests.TwoHarness", "Predict");

        var e = Assert.Throws<ArgumentException>(() => call(new float[pixels], new float[threshold], new float[shifted], new float[gate]));

        Assert.Equal(parameter, e.ParamName);
        Assert.Contains($"Expected {expected} elements", e.Message, StringComparison.Ordinal);
    }
}
