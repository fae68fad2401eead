using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Google.Protobuf;
using QuantGen.Compiler;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Onnx;
using QuantGen.Compiler.Onnx.Proto;
using QuantGen.Compiler.Ops;
using QuantGen.Testing;

namespace QuantGen.Conformance;

/// <summary>
/// A node test made ready to generate: the model (with build-time inputs baked in), its prepared graph, the
/// inputs as arrays in the graph's order and the expected outputs.
/// </summary>
internal sealed class PreparedTest
{
    private PreparedTest(NodeTest test, byte[] model, Graph graph, Array[] inputs, Tensor[] expected, IReadOnlyList<string> baked)
    {
        Test = test;
        Model = model;
        Graph = graph;
        Inputs = inputs;
        Expected = expected;
        Baked = baked;
    }

    public NodeTest Test { get; }
    public byte[] Model { get; }
    public Graph Graph { get; }
    public Array[] Inputs { get; }
    public Tensor[] Expected { get; }

    /// <summary>Graph inputs turned into initializers (see <see cref="Create"/>).</summary>
    public IReadOnlyList<string> Baked { get; }

    /// <summary>A C# identifier unique in the suite: the test's directory name.</summary>
    public string ClassName => Test.Name;

    /// <summary>
    /// Reads the test. QuantGen compiles static shapes, so inputs that every consuming operator reads only at build
    /// time (<see cref="Operator.IsRuntimeInput"/> false: Reshape's shape, Squeeze and Unsqueeze axes, Clip bounds,
    /// BatchNormalization statistics) become initializers holding the test's values: the node tests feed them as
    /// graph inputs, which a model QuantGen compiles would not.
    /// Throws <see cref="ModelCompileException"/> when the compiler rejects the model.
    /// </summary>
    public static PreparedTest Create(NodeTest test)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(test.ModelPath));
        var graph = model.Graph;
        var initializers = new HashSet<string>(graph.Initializer.Select(i => i.Name), StringComparer.Ordinal);
        var runtimeInputs = graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
        var given = ReadTensors(test.DataSetPath, "input_");
        if (given.Count != runtimeInputs.Count)
            throw new InvalidDataException($"{test.Name}: {given.Count} input files for {runtimeInputs.Count} graph inputs");

        var baked = new List<string>();
        var values = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        for (int i = 0; i < runtimeInputs.Count; i++)
        {
            var input = runtimeInputs[i];
            var proto = given[i].Clone();
            proto.Name = input.Name;
            if (ReadOnlyAtBuildTime(graph, input.Name))
            {
                graph.Initializer.Add(proto);
                graph.Input.Remove(input);
                baked.Add(input.Name);
            }
            else
            {
                values[input.Name] = proto;
            }
        }
        byte[] bytes = baked.Count > 0 ? model.ToByteArray() : File.ReadAllBytes(test.ModelPath);

        var prepared = ModelCompiler.Prepare(bytes, test.Name + ".onnx");
        var inputs = prepared.Inputs.Select(name => ToArray(TensorProtoReader.Read(values[name], test.ModelPath, null))).ToArray();
        var expected = ReadTensors(test.DataSetPath, "output_").Select(t => TensorProtoReader.Read(t, test.ModelPath, null)).ToArray();
        return new PreparedTest(test, bytes, prepared, inputs, expected, baked);
    }

    private static bool ReadOnlyAtBuildTime(GraphProto graph, string input)
    {
        bool consumed = false;
        foreach (var node in graph.Node)
        {
            for (int i = 0; i < node.Input.Count; i++)
            {
                if (node.Input[i] != input) continue;
                var op = OperatorRegistry.Find(node.Domain, node.OpType);
                if (op == null || op.IsRuntimeInput(i)) return false;
                consumed = true;
            }
        }
        return consumed && !graph.Output.Any(o => o.Name == input);
    }

    private static List<TensorProto> ReadTensors(string dir, string prefix)
    {
        var list = new List<TensorProto>();
        for (int i = 0; File.Exists(Path.Combine(dir, $"{prefix}{i}.pb")); i++)
            list.Add(TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dir, $"{prefix}{i}.pb"))));
        return list;
    }

    /// <summary>The array type Predict takes for the tensor's element type.</summary>
    internal static Array ToArray(Tensor t) => t.Type switch
    {
        DataType.Float => (float[])t.Floats!.Clone(),
        DataType.Int64 => (long[])t.Longs!.Clone(),
        DataType.Int32 => Array.ConvertAll(t.Longs!, v => (int)v),
        DataType.Int8 => Array.ConvertAll(t.Longs!, v => (sbyte)v),
        DataType.UInt8 => Array.ConvertAll(t.Longs!, v => (byte)v),
        DataType.Bool => Array.ConvertAll(t.Longs!, v => v != 0),
        _ => throw new ArgumentOutOfRangeException(nameof(t), t.Type, null),
    };
}
