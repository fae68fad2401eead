using System;
using System.Collections.Generic;
using System.Linq;
using Google.Protobuf;
using QuantGen.Compiler.Onnx.Proto;

namespace QuantGen.Generator.Tests;

/// <summary>
/// Damages a valid model where a parser cannot notice: attribute values (huge, negative, zero), op types, node inputs
/// (renamed, dropped, empty), tensor dims and types, new nodes and outputs. Byte flips mostly hit weights or break
/// the protobuf; these reach the passes and the emitter.
/// </summary>
internal static class ModelMutator
{
    private static readonly long[] Interesting =
    {
        0, 1, 2, 3, -1, -2, 5, 7, 28, 100, 1000, 65536, int.MaxValue, (long)int.MaxValue + 1, int.MinValue,
        long.MaxValue, long.MinValue, 1L << 40, -(1L << 40),
    };

    private static readonly string[] Ops =
    {
        "Add", "Sub", "Mul", "Div", "Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Identity",
        "Dropout", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Constant", "Shape", "Gemm", "Conv", "BatchNormalization",
        "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
    };

    private static readonly string[] AttributeNames =
    {
        "group", "axis", "kernel_shape", "strides", "pads", "dilations", "transA", "transB", "alpha", "beta", "auto_pad",
        "ceil_mode", "keepdims", "allowzero", "axes", "min", "max",
    };

    /// <summary>Applies one or two mutations to <paramref name="model"/>; returns what it did.</summary>
    public static string Mutate(ModelProto model, Random random, int caseIndex)
    {
        var g = model.Graph;
        var done = new List<string>();
        long Number() => random.Next(3) == 0 ? random.Next(-3, 40) : Interesting[random.Next(Interesting.Length)];
        List<string> Values(bool withNodeOutputs) => g.Initializer.Select(x => x.Name).Concat(g.Input.Select(x => x.Name))
            .Concat(withNodeOutputs ? g.Node.SelectMany(x => x.Output) : Enumerable.Empty<string>()).ToList();

        for (int m = random.Next(1, 3); m > 0; m--)
        {
            var node = g.Node[random.Next(g.Node.Count)];
            switch (random.Next(12))
            {
                case 0 when node.Attribute.Count > 0:
                {
                    var a = node.Attribute[random.Next(node.Attribute.Count)];
                    if (a.Ints.Count > 0)
                    {
                        int i = random.Next(a.Ints.Count);
                        a.Ints[i] = Number();
                        done.Add($"{node.Name}.{a.Name}[{i}] = {a.Ints[i]}");
                    }
                    else
                    {
                        a.I = Number();
                        a.F = a.I;
                        done.Add($"{node.Name}.{a.Name} = {a.I}");
                    }
                    break;
                }
                case 1:
                {
                    string name = AttributeNames[random.Next(AttributeNames.Length)];
                    var a = new AttributeProto { Name = name };
                    switch (random.Next(5))
                    {
                        case 0: a.Type = AttributeProto.Types.AttributeType.Int; a.I = Number(); break;
                        case 1:
                            a.Type = AttributeProto.Types.AttributeType.Ints;
                            for (int i = random.Next(0, 6); i > 0; i--) a.Ints.Add(Number());
                            break;
                        case 2: a.Type = AttributeProto.Types.AttributeType.Float; a.F = (float)(random.NextDouble() * 4 - 2); break;
                        case 3: a.Type = AttributeProto.Types.AttributeType.String; a.S = ByteString.CopyFromUtf8(new[] { "SAME_UPPER", "VALID", "SAME_LOWER", "x" }[random.Next(4)]); break;
                        default:
                            a.Type = AttributeProto.Types.AttributeType.Tensor;
                            a.T = new TensorProto { DataType = 7 };
                            a.T.Int64Data.Add(Number());
                            break;
                    }
                    foreach (var old in node.Attribute.Where(x => x.Name == name).ToList()) node.Attribute.Remove(old);
                    node.Attribute.Add(a);
                    done.Add($"{node.Name} gets {a}");
                    break;
                }
                case 2:
                    node.OpType = Ops[random.Next(Ops.Length)];
                    done.Add($"{node.Name} becomes {node.OpType}");
                    break;
                case 3 when node.Input.Count > 0:
                {
                    int i = random.Next(node.Input.Count);
                    var values = Values(withNodeOutputs: true);
                    values.Add("");
                    node.Input[i] = values[random.Next(values.Count)];
                    done.Add($"{node.Name} input {i} = '{node.Input[i]}'");
                    break;
                }
                case 4 when node.Input.Count > 0:
                    node.Input.RemoveAt(random.Next(node.Input.Count));
                    done.Add($"{node.Name} loses an input");
                    break;
                case 5:
                {
                    var values = Values(withNodeOutputs: false);
                    node.Input.Add(values[random.Next(values.Count)]);
                    done.Add($"{node.Name} gets input '{node.Input[node.Input.Count - 1]}'");
                    break;
                }
                case 6:
                {
                    var init = g.Initializer[random.Next(g.Initializer.Count)];
                    if (init.Dims.Count == 0) break;
                    int i = random.Next(init.Dims.Count);
                    init.Dims[i] = Number();
                    done.Add($"{init.Name}.dims[{i}] = {init.Dims[i]}");
                    break;
                }
                case 7:
                {
                    var init = g.Initializer[random.Next(g.Initializer.Count)];
                    var dims = init.Dims.ToList();
                    init.Dims.Clear();
                    if (random.Next(2) == 0) init.Dims.Add(dims.Aggregate(1L, (a, b) => a * b));
                    else { init.Dims.Add(1); init.Dims.AddRange(dims); }
                    done.Add($"{init.Name} reshaped to [{string.Join(",", init.Dims)}]");
                    break;
                }
                case 8:
                {
                    var dims = g.Input[0].Type.TensorType.Shape.Dim;
                    int i = random.Next(dims.Count + 1);
                    if (i == dims.Count) { dims.Add(new TensorShapeProto.Types.Dimension { DimValue = Number() }); done.Add("input gets a dimension"); }
                    else if (random.Next(3) == 0) { dims.RemoveAt(i); done.Add($"input loses dimension {i}"); }
                    else { dims[i] = new TensorShapeProto.Types.Dimension { DimValue = Number() }; done.Add($"input dimension {i} = {dims[i].DimValue}"); }
                    break;
                }
                case 9:
                {
                    var init = g.Initializer[random.Next(g.Initializer.Count)];
                    init.DataType = new[] { 1, 2, 3, 6, 7, 9 }[random.Next(6)];
                    done.Add($"{init.Name} has type {init.DataType}");
                    break;
                }
                case 10:
                {
                    var values = Values(withNodeOutputs: true);
                    var added = new NodeProto { Name = "mutant" + caseIndex, OpType = Ops[random.Next(Ops.Length)] };
                    for (int i = random.Next(1, 4); i > 0; i--) added.Input.Add(values[random.Next(values.Count)]);
                    added.Output.Add("mutant_out" + caseIndex);
                    g.Node.Add(added);
                    if (random.Next(2) == 0) g.Output.Add(new ValueInfoProto { Name = "mutant_out" + caseIndex });
                    else g.Output[0].Name = "mutant_out" + caseIndex;
                    done.Add($"new node {added.OpType}({string.Join(", ", added.Input)})");
                    break;
                }
                case 11:
                {
                    var values = Values(withNodeOutputs: true);
                    g.Output[0].Name = values[random.Next(values.Count)];
                    done.Add($"the output is '{g.Output[0].Name}'");
                    break;
                }
            }
        }
        return done.Count == 0 ? "nothing" : string.Join("; ", done);
    }
}
