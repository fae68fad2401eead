namespace QuantGen.Compiler.Ir;

/// <summary>Element types QuantGen computes with. Values match ONNX TensorProto.DataType.</summary>
public enum DataType
{
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    Int32 = 6,
    Int64 = 7,
    Bool = 9,
}

public static class DataTypes
{
    /// <summary>Maps an ONNX element type number to a supported type; null when QuantGen has no support for it.</summary>
    public static DataType? FromOnnx(int onnxType) => onnxType switch
    {
        1 => DataType.Float,
        2 => DataType.UInt8,
        3 => DataType.Int8,
        6 => DataType.Int32,
        7 => DataType.Int64,
        9 => DataType.Bool,
        _ => null,
    };

    /// <summary>The ONNX name of an element type number, for messages.</summary>
    public static string OnnxName(int onnxType) => onnxType switch
    {
        0 => "UNDEFINED", 1 => "FLOAT", 2 => "UINT8", 3 => "INT8", 4 => "UINT16", 5 => "INT16",
        6 => "INT32", 7 => "INT64", 8 => "STRING", 9 => "BOOL", 10 => "FLOAT16", 11 => "DOUBLE",
        12 => "UINT32", 13 => "UINT64", 14 => "COMPLEX64", 15 => "COMPLEX128", 16 => "BFLOAT16",
        _ => "type " + onnxType,
    };

    public static bool IsInteger(this DataType type) => type is DataType.UInt8 or DataType.Int8 or DataType.Int32 or DataType.Int64 or DataType.Bool;

    /// <summary>Bytes per element in generated code.</summary>
    public static int ByteSize(this DataType type) => type switch
    {
        DataType.Float => 4,
        DataType.UInt8 or DataType.Int8 or DataType.Bool => 1,
        DataType.Int32 => 4,
        DataType.Int64 => 8,
        _ => throw new System.ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>The C# keyword of the element type in generated code.</summary>
    public static string CSharpName(this DataType type) => type switch
    {
        DataType.Float => "float",
        DataType.UInt8 => "byte",
        DataType.Int8 => "sbyte",
        DataType.Int32 => "int",
        DataType.Int64 => "long",
        DataType.Bool => "bool",
        _ => throw new System.ArgumentOutOfRangeException(nameof(type)),
    };
}
