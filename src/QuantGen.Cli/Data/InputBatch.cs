using System;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using QuantGen.Compiler.Ir;

namespace QuantGen.Cli.Data;

/// <summary>
/// One graph input's values for a batch of samples, in the input's own element type: floats for a float input, integers
/// for an int64 or int32 input (token ids, attention masks). Sample s occupies [s × length, (s + 1) × length).
/// </summary>
internal sealed class InputBatch
{
    private int[]? _int32;

    private InputBatch(Value input, int capacity)
    {
        Input = input;
        Capacity = capacity;
        if (input.Type == DataType.Float)
            Floats = new float[(long)capacity * input.Length];
        else
            Longs = new long[(long)capacity * input.Length];
    }

    public Value Input { get; }

    /// <summary>How many samples fit.</summary>
    public int Capacity { get; }

    /// <summary>The values of a float input; null for an integer input.</summary>
    public float[]? Floats { get; }

    /// <summary>The values of an integer input, widened to long; null for a float input.</summary>
    public long[]? Longs { get; }

    /// <summary>A batch of <paramref name="capacity"/> samples for <paramref name="input"/> (float, int64 or int32).</summary>
    public static InputBatch For(Value input, int capacity) => new(input, capacity);

    /// <summary>Whether <see cref="For"/> takes an input of this type.</summary>
    public static bool Supports(DataType type) => type is DataType.Float or DataType.Int64 or DataType.Int32;

    /// <summary>Sample <paramref name="index"/> alone, copied into a batch of one.</summary>
    public InputBatch Sample(int index)
    {
        var one = new InputBatch(Input, 1);
        int length = Input.Length;
        if (Floats != null) Array.Copy(Floats, (long)index * length, one.Floats!, 0, length);
        else Array.Copy(Longs!, (long)index * length, one.Longs!, 0, length);
        return one;
    }

    /// <summary>The first sample as a tensor of the input's shape and type (the reference executor's input).</summary>
    public Tensor ToTensor() => Floats != null
        ? Tensor.FromFloats(Input.Shape!, Floats.AsSpan(0, Input.Length).ToArray())
        : Tensor.FromLongs(Input.Type, Input.Shape!, Longs.AsSpan(0, Input.Length).ToArray());

    /// <summary>The first <paramref name="count"/> samples as an ONNX Runtime tensor over this batch's memory (no copy, except int32 inputs, narrowed once per call).</summary>
    public OrtValue ToOrtValue(int count)
    {
        var shape = Input.Shape!.Select(d => (long)d).ToArray();
        shape[0] = count; // the batch dimension (1 in QuantGen's shape, which compiles for batch 1)
        int values = count * Input.Length;
        if (Floats != null)
            return OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, Floats.AsMemory(0, values), shape);
        if (Input.Type == DataType.Int64)
            return OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, Longs.AsMemory(0, values), shape);
        _int32 ??= new int[Longs!.Length];
        for (int i = 0; i < values; i++)
            _int32[i] = checked((int)Longs![i]);
        return OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, _int32.AsMemory(0, values), shape);
    }
}
