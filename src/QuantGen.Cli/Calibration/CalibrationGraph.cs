using System;
using System.Collections.Generic;
using System.Linq;
using Google.Protobuf;
using QuantGen.Compiler.Onnx.Proto;

namespace QuantGen.Cli.Calibration;

/// <summary>
/// A copy of the model's protobuf for ONNX Runtime calibration: every tensor QuantGen needs a range for becomes an
/// extra graph output, so one Run returns them all. Names are those of QuantGen's optimized graph
/// (<see cref="Compiler.Calibration.Calibrator.CalibratedTensors"/>): fusion keeps the name of the last fused node's
/// output (a Conv+Relu carries the Relu's output name and the post-Relu values, which is what ONNX Runtime computes
/// for that name too), so each is a tensor of the original graph. Graph inputs are not outputs: their values are the
/// data fed in, observed directly.
/// </summary>
internal sealed class CalibrationGraph
{
    private CalibrationGraph(byte[] model, IReadOnlyList<string> outputs, IReadOnlyList<string> missing, IReadOnlyDictionary<string, bool> batchFree)
    {
        Model = model;
        Outputs = outputs;
        Missing = missing;
        BatchFree = batchFree;
    }

    /// <summary>The modified model's bytes.</summary>
    public byte[] Model { get; }

    /// <summary>The tensors ONNX Runtime returns, in output order (the model's own outputs among them when calibrated).</summary>
    public IReadOnlyList<string> Outputs { get; }

    /// <summary>Tensors QuantGen records that no node of the original graph produces (ONNX Runtime cannot return them).</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>Per graph input: whether its first dimension is free (a symbol or unset), so a batch of samples fits in one run.</summary>
    public IReadOnlyDictionary<string, bool> BatchFree { get; }

    /// <param name="model">The .onnx bytes.</param>
    /// <param name="tensors">The tensors to record, graph inputs included.</param>
    public static CalibrationGraph Create(byte[] model, IEnumerable<string> tensors)
    {
        var proto = ModelProto.Parser.ParseFrom(model);
        var graph = proto.Graph ?? throw new InvalidOperationException("the model has no graph");
        var initializers = new HashSet<string>(graph.Initializer.Select(t => t.Name), StringComparer.Ordinal);
        var inputs = graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
        var inputNames = new HashSet<string>(inputs.Select(i => i.Name), StringComparer.Ordinal);
        var produced = new HashSet<string>(graph.Node.SelectMany(n => n.Output).Where(o => o.Length > 0), StringComparer.Ordinal);
        var existingOutputs = new HashSet<string>(graph.Output.Select(o => o.Name), StringComparer.Ordinal);

        var outputs = new List<string>();
        var missing = new List<string>();
        foreach (var name in tensors)
        {
            if (inputNames.Contains(name))
                continue;
            if (!produced.Contains(name))
            {
                missing.Add(name);
                continue;
            }
            outputs.Add(name);
            if (existingOutputs.Contains(name))
                continue;
            // Element type float, no shape: ONNX Runtime infers the shape, and only float tensors are calibrated.
            graph.Output.Add(new ValueInfoProto
            {
                Name = name,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1 /* TensorProto.DataType.FLOAT */ } },
            });
        }

        var batchFree = inputs.ToDictionary(i => i.Name, i =>
        {
            var dims = i.Type?.TensorType?.Shape?.Dim;
            return dims != null && dims.Count > 1 && dims[0].ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue;
        }, StringComparer.Ordinal);
        return new CalibrationGraph(proto.ToByteArray(), outputs, missing, batchFree);
    }
}
