using System;
using System.Linq;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Ops.OpCheck;

namespace QuantGen.Compiler.Tests.Ops;

public class ConstantOfShapeAndRangeTests
{
    private static OnnxAttribute FloatValue(float v) => OnnxAttribute.TensorValue("value", OnnxModelBuilder.ElementType.Float, new long[] { 1 }, BitConverter.GetBytes(v));

    [Fact]
    public void ConstantOfShape_from_a_shape_folds_and_matches_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 13)
            .Input("x", 2, 3)
            .Longs("empty_shape", 0, 4)
            .Node("shape", "Shape", new[] { "x" }, new[] { "s" })
            .Node("zeros", "ConstantOfShape", new[] { "s" }, new[] { "z" })
            .Node("negative_zeros", "ConstantOfShape", new[] { "s" }, new[] { "nz" }, FloatValue(-0f))
            .Node("minus_inf", "ConstantOfShape", new[] { "s" }, new[] { "mi" }, FloatValue(float.NegativeInfinity))
            .Node("sum", "Add", new[] { "x", "z" }, new[] { "y_zeros" })
            .Node("masked", "Add", new[] { "x", "mi" }, new[] { "y_minus_inf" })
            .Node("int_ones", "ConstantOfShape", new[] { "s" }, new[] { "y_ints" },
                OnnxAttribute.TensorValue("value", OnnxModelBuilder.ElementType.Int32, new long[] { 1 }, BitConverter.GetBytes(7)))
            .Node("empty", "ConstantOfShape", new[] { "empty_shape" }, new[] { "y_empty" })
            .Results("y_zeros", "y_minus_inf").Result("nz").Result("y_ints", OnnxModelBuilder.ElementType.Int32).Result("y_empty")
            .ToBytes();
        var x = Floats(6, 1);
        x[0] = -0f;
        using var generated = MatchesOnnxRuntime(model, x);
        var outputs = generated.Run(x);
        Assert.True(((float[])outputs[2]).All(float.IsNegative)); // -0 stays -0
        Assert.Empty(outputs[4]);
    }

    [Fact]
    public void Range_folds_for_every_type_and_direction()
    {
        var model = new OnnxModelBuilder(opset: 13)
            .Input("x", 5)
            .Initializer("l0", new long[0], new long[] { 0 }).Initializer("l5", new long[0], new long[] { 5 }).Initializer("l1", new long[0], new long[] { 1 })
            .Initializer("f_start", new long[0], new[] { 1f }).Initializer("f_limit", new long[0], new[] { -1.2f }).Initializer("f_delta", new long[0], new[] { -0.3f })
            .RawInitializer("i_start", OnnxModelBuilder.ElementType.Int32, new long[0], BitConverter.GetBytes(10))
            .RawInitializer("i_limit", OnnxModelBuilder.ElementType.Int32, new long[0], BitConverter.GetBytes(-3))
            .RawInitializer("i_delta", OnnxModelBuilder.ElementType.Int32, new long[0], BitConverter.GetBytes(-4))
            .Node("positions", "Range", new[] { "l0", "l5", "l1" }, new[] { "p" })
            .Node("as_float", "Cast", new[] { "p" }, new[] { "pf" }, OnnxAttribute.Int("to", 1))
            .Node("add_positions", "Add", new[] { "x", "pf" }, new[] { "y_positions" })
            .Node("float_down", "Range", new[] { "f_start", "f_limit", "f_delta" }, new[] { "y_float" })
            .Node("int32_down", "Range", new[] { "i_start", "i_limit", "i_delta" }, new[] { "y_int32" })
            .Node("empty", "Range", new[] { "l5", "l0", "l1" }, new[] { "y_empty" })
            .Results("y_positions", "y_float").Result("y_int32", OnnxModelBuilder.ElementType.Int32).Result("y_empty", OnnxModelBuilder.ElementType.Int64)
            .ToBytes();
        using var generated = MatchesOnnxRuntime(model, Floats(5, 3));
        Assert.Equal(new[] { 10, 6, 2, -2 }, (int[])generated.Run(Floats(5, 3))[2]);
        var graph = ModelCompiler.Prepare(model, "range.onnx");
        Assert.Equal(new[] { "Add" }, graph.Nodes.Select(n => n.OpType).ToArray());
    }

    [Fact]
    public void Bad_inputs_are_diagnostics()
    {
        var zeroDelta = new OnnxModelBuilder(opset: 13).Input("x", 1)
            .Initializer("a", new long[0], new long[] { 0 }).Initializer("b", new long[0], new long[] { 5 }).Initializer("d", new long[0], new long[] { 0 })
            .Node("zero_delta", "Range", new[] { "a", "b", "d" }, new[] { "r" }).Node("use", "Identity", new[] { "x" }, new[] { "y" })
            .Result("r", OnnxModelBuilder.ElementType.Int64).Result("y").ToBytes();
        Assert.Contains("delta is 0", Fails(zeroDelta, "QG0006", "zero_delta"));

        var runtimeLimit = new OnnxModelBuilder(opset: 13).LongInput("n")
            .Initializer("a", new long[0], new long[] { 0 }).Initializer("d", new long[0], new long[] { 1 })
            .Node("runtime_limit", "Range", new[] { "a", "n", "d" }, new[] { "r" }).Result("r", OnnxModelBuilder.ElementType.Int64).ToBytes();
        Fails(runtimeLimit, "QG0005", "runtime_limit");

        var twoValues = new OnnxModelBuilder(opset: 13).Input("x", 2).Longs("s", 2)
            .Node("shape_of", "Shape", new[] { "x" }, new[] { "sx" })
            .Node("two_values", "ConstantOfShape", new[] { "sx" }, new[] { "y" },
                OnnxAttribute.TensorValue("value", OnnxModelBuilder.ElementType.Float, new long[] { 2 }, new byte[8]))
            .Result("y").ToBytes();
        Assert.Contains("one element", Fails(twoValues, "QG0006", "two_values"));

        var huge = new OnnxModelBuilder(opset: 13).Input("x", 2).Longs("s", 100000, 100000)
            .Node("huge", "ConstantOfShape", new[] { "s" }, new[] { "c" }).Node("use", "Identity", new[] { "x" }, new[] { "y" })
            .Result("c").Result("y").ToBytes();
        Assert.Contains("at most", Fails(huge, "QG0005", "huge"));

        var doubleValue = new OnnxModelBuilder(opset: 13).Input("x", 2)
            .Node("shape_of", "Shape", new[] { "x" }, new[] { "sx" })
            .Node("double_value", "ConstantOfShape", new[] { "sx" }, new[] { "y" },
                OnnxAttribute.TensorValue("value", OnnxModelBuilder.ElementType.Double, new long[] { 1 }, new byte[8]))
            .Result("y").ToBytes();
        var diagnostics = OpCheck.Diagnostics(doubleValue);
        Assert.NotEmpty(diagnostics);
        Assert.DoesNotContain(diagnostics, d => d.Id == "QG0001");
    }
}
