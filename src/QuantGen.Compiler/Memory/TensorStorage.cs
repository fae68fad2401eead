namespace QuantGen.Compiler.Memory;

public enum StorageKind { Input, Output, Arena, Constant }

/// <summary>Where a value's elements live while Predict runs.</summary>
public sealed record TensorStorage(StorageKind Kind, string Name, int ByteOffset = 0)
{
    /// <summary>A span parameter of Predict (model input or output).</summary>
    public static TensorStorage Parameter(StorageKind kind, string parameter) => new(kind, parameter);

    /// <summary>A slice of the workspace, at a planned byte offset.</summary>
    public static TensorStorage InArena(int byteOffset) => new(StorageKind.Arena, "workspace", byteOffset);

    /// <summary>Embedded data (the weight emitter resolves the member name from the value name).</summary>
    public static TensorStorage Embedded(string valueName) => new(StorageKind.Constant, valueName);
}
