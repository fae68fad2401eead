using QuantGen.Testing;
using Xunit;
using static QuantGen.Compiler.Tests.Ops.OpCheck;

namespace QuantGen.Compiler.Tests.Ops;

public class CastTests
{
    private const int Float = OnnxModelBuilder.ElementType.Float, Int64 = OnnxModelBuilder.ElementType.Int64, Int32 = OnnxModelBuilder.ElementType.Int32,
        Int8 = OnnxModelBuilder.ElementType.Int8, UInt8 = OnnxModelBuilder.ElementType.UInt8, Bool = OnnxModelBuilder.ElementType.Bool;

    private static OnnxAttribute To(int type) => OnnxAttribute.Int("to", type);

    [Fact]
    public void Float_to_every_supported_type_matches_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 13)
            .Input("x", 12)
            .Node("to_int64", "Cast", new[] { "x" }, new[] { "y_int64" }, To(Int64))
            .Node("to_int32", "Cast", new[] { "x" }, new[] { "y_int32" }, To(Int32))
            .Node("to_int8", "Cast", new[] { "x" }, new[] { "y_int8" }, To(Int8))
            .Node("to_uint8", "Cast", new[] { "x" }, new[] { "y_uint8" }, To(UInt8))
            .Node("to_bool", "Cast", new[] { "x" }, new[] { "y_bool" }, To(Bool))
            .Node("to_float", "Cast", new[] { "x" }, new[] { "y_float" }, To(Float))
            .Result("y_int64", Int64).Result("y_int32", Int32).Result("y_int8", Int8).Result("y_uint8", UInt8).Result("y_bool", Bool).Result("y_float")
            .ToBytes();
        // In range for every target (ONNX leaves out-of-range float-to-int undefined): truncation toward zero, -0, tiny values.
        Matches(model, new[] { 0f, -0f, 1.9f, 2.5f, 127f, 100.99f, 1e-30f, 0.5f, 3.5f, 126.4f, 64f, 9.99f });
        var signed = new OnnxModelBuilder(opset: 13)
            .Input("x", 6)
            .Node("to_int32", "Cast", new[] { "x" }, new[] { "y_int32" }, To(Int32))
            .Node("to_int8", "Cast", new[] { "x" }, new[] { "y_int8" }, To(Int8))
            .Node("to_bool", "Cast", new[] { "x" }, new[] { "y_bool" }, To(Bool))
            .Result("y_int32", Int32).Result("y_int8", Int8).Result("y_bool", Bool)
            .ToBytes();
        Matches(signed, new[] { -1.9f, -2.5f, -128f, -0.5f, -127.99f, 3f });
    }

    [Fact]
    public void Integers_and_bools_convert_and_wrap_like_OnnxRuntime()
    {
        var model = new OnnxModelBuilder(opset: 13)
            .LongInput("l", 6).BoolInput("b", 3).IntInput("i", 4)
            .Node("long_to_int32", "Cast", new[] { "l" }, new[] { "y_l_int32" }, To(Int32))
            .Node("long_to_float", "Cast", new[] { "l" }, new[] { "y_l_float" }, To(Float))
            .Node("long_to_bool", "Cast", new[] { "l" }, new[] { "y_l_bool" }, To(Bool))
            .Node("long_to_uint8", "Cast", new[] { "l" }, new[] { "y_l_uint8" }, To(UInt8))
            .Node("bool_to_float", "Cast", new[] { "b" }, new[] { "y_b_float" }, To(Float))
            .Node("bool_to_int64", "Cast", new[] { "b" }, new[] { "y_b_int64" }, To(Int64))
            .Node("int_to_int64", "Cast", new[] { "i" }, new[] { "y_i_int64" }, To(Int64))
            .Node("int_to_int8", "Cast", new[] { "i" }, new[] { "y_i_int8" }, To(Int8))
            .Result("y_l_int32", Int32).Result("y_l_float").Result("y_l_bool", Bool).Result("y_l_uint8", UInt8)
            .Result("y_b_float").Result("y_b_int64", Int64).Result("y_i_int64", Int64).Result("y_i_int8", Int8)
            .ToBytes();
        Matches(model, new long[] { 0, -1, 1L << 33, (1L << 32) + 5, 257, long.MinValue }, new[] { true, false, true }, new[] { 0, 300, -129, int.MinValue });
    }

    [Fact]
    public void NaN_casts_to_true()
    {
        var model = new OnnxModelBuilder(opset: 13).Input("x", 3)
            .Node("to_bool", "Cast", new[] { "x" }, new[] { "y" }, To(Bool)).Result("y", Bool).ToBytes();
        Matches(model, new[] { float.NaN, float.NegativeInfinity, -0f });
    }

    [Fact]
    public void Cast_of_build_time_shapes_folds()
    {
        // Shape -> Cast(float) -> Sqrt: the attention scale 1/sqrt(d) that exporters compute from the head size.
        var model = new OnnxModelBuilder(opset: 13)
            .Input("q", 2, 16)
            .Longs("last", 1)
            .Node("shape", "Shape", new[] { "q" }, new[] { "s" })
            .Node("d", "Gather", new[] { "s", "last" }, new[] { "dim" })
            .Node("as_float", "Cast", new[] { "dim" }, new[] { "df" }, To(Float))
            .Node("sqrt", "Sqrt", new[] { "df" }, new[] { "scale" })
            .Node("scaled", "Div", new[] { "q", "scale" }, new[] { "y" })
            .Result("y")
            .ToBytes();
        Matches(model, Floats(32, 1));
        Assert.Equal(new[] { "Div" }, System.Linq.Enumerable.ToArray(System.Linq.Enumerable.Select(ModelCompiler.Prepare(model, "scale.onnx").Nodes, n => n.OpType)));
    }

    [Fact]
    public void CastLike_takes_the_type_of_its_second_input()
    {
        var model = new OnnxModelBuilder(opset: 15)
            .Input("x", 2, 3).LongInput("ids", 3)
            .Initializer("like_float", new long[] { 1 }, new[] { 0f })
            .Initializer("like_long", new long[] { 1 }, new long[] { 0 })
            .Node("ids_to_float", "CastLike", new[] { "ids", "like_float" }, new[] { "f" })
            .Node("add", "Add", new[] { "x", "f" }, new[] { "y_float" })
            .Node("float_to_long", "CastLike", new[] { "x", "like_long" }, new[] { "y_long" })
            .Result("y_float").Result("y_long", Int64)
            .ToBytes();
        Matches(model, new[] { 1.5f, -2.7f, 0f, 9.9f, -0f, 100f }, new long[] { 3, -4, 1L << 40 });

        // A constant cast like a run-time tensor: the kernel casts the embedded constant, it does not fold.
        var constantLikeRuntime = new OnnxModelBuilder(opset: 15)
            .LongInput("ids", 3)
            .Initializer("c", new long[] { 3 }, new[] { 2.5f, -1.5f, 7f })
            .Node("c_like_ids", "CastLike", new[] { "c", "ids" }, new[] { "ci" })
            .Node("add", "Add", new[] { "ids", "ci" }, new[] { "y" })
            .Result("y", Int64)
            .ToBytes();
        Matches(constantLikeRuntime, new long[] { 1, 2, 3 });
    }

    [Fact]
    public void Unsupported_targets_are_diagnostics()
    {
        var toDouble = new OnnxModelBuilder(opset: 13).Input("x", 3)
            .Node("to_double", "Cast", new[] { "x" }, new[] { "y" }, To(OnnxModelBuilder.ElementType.Double)).Result("y", OnnxModelBuilder.ElementType.Double).ToBytes();
        Assert.Contains("DOUBLE", Fails(toDouble, "QG0005", "to_double"));

        var missing = new OnnxModelBuilder(opset: 13).Input("x", 3)
            .Node("no_to", "Cast", new[] { "x" }, new[] { "y" }).Result("y").ToBytes();
        Assert.Contains("'to'", Fails(missing, "QG0006", "no_to"));
    }
}
