using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using QuantGen.Compiler.Execution;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Calibration;

/// <summary>
/// Computes a <see cref="CalibrationFile"/> in process: runs each input sample through the compiler's own float
/// reference (<see cref="ReferenceExecutor"/>) on the optimized graph (<see cref="ModelCompiler.Prepare"/>) and
/// feeds every float tensor that is a graph input or a node output to its <see cref="IRangeCollector"/>.
/// <para>
/// Streaming: <see cref="Observe(IReadOnlyList{Tensor})"/> runs one sample, hands its tensors to the collectors and
/// lets them go, so memory is one sample's tensors plus the collectors' fixed state, whatever the sample count.
/// </para>
/// <para>
/// Tensor names are those of the optimized graph, the graph the quantizer sees: after BatchNormalization folding
/// and activation fusion a Conv followed by Relu is one node whose output carries the Relu's output name and the
/// post-Relu values, and the Conv's pre-activation tensor has no entry. Constants (weights, folded values) and
/// non-float tensors have none either.
/// </para>
/// </summary>
public sealed class Calibrator
{
    /// <summary>
    /// The method when none is named, here and in <c>quantgen calibrate</c>: mse had the smallest mean and the smallest
    /// worst INT8 top-1 loss over the sample models (docs/accuracy.md, "Calibration methods"; reasons in
    /// docs/calibration.md).
    /// </summary>
    public const CalibrationMethod DefaultMethod = CalibrationMethod.Mse;

    private readonly Graph _graph;
    private readonly CalibrationAccumulator _accumulator;

    /// <summary>A calibrator for one of QuantGen's methods.</summary>
    public Calibrator(Graph graph, CalibrationMethod method = DefaultMethod, CalibratorSettings? settings = null)
        : this(graph, method, _ => RangeCollectors.Create(method, settings))
    {
    }

    /// <summary>A calibrator whose collectors come from <paramref name="createCollector"/> (called once per tensor name): how a new method plugs in.</summary>
    public Calibrator(Graph graph, CalibrationMethod method, Func<string, IRangeCollector> createCollector)
    {
        _graph = graph ?? throw new ArgumentNullException(nameof(graph));
        if (createCollector == null) throw new ArgumentNullException(nameof(createCollector));
        _accumulator = new CalibrationAccumulator(CalibratedTensors(graph), method, createCollector);
    }

    /// <summary>A calibrator that feeds <paramref name="accumulator"/>, which someone else may feed too (the CLI's engines share one).</summary>
    public Calibrator(Graph graph, CalibrationAccumulator accumulator)
    {
        _graph = graph ?? throw new ArgumentNullException(nameof(graph));
        _accumulator = accumulator ?? throw new ArgumentNullException(nameof(accumulator));
    }

    public CalibrationMethod Method => _accumulator.Method;

    /// <summary>The tensors observed, in ordinal order of their names.</summary>
    public IReadOnlyList<string> TensorNames => _accumulator.TensorNames;

    /// <summary>Samples observed so far.</summary>
    public long SampleCount => _accumulator.SampleCount;

    /// <summary>
    /// The tensors a calibration of <paramref name="graph"/> records: float graph inputs and float node outputs that
    /// are computed at run time, sorted by ordinal name.
    /// </summary>
    public static IEnumerable<string> CalibratedTensors(Graph graph)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var name in graph.Inputs.Concat(graph.Nodes.SelectMany(n => n.Outputs)))
        {
            var value = graph.Find(name);
            if (value != null && value.Type == DataType.Float && !value.IsConstant)
                names.Add(name);
        }
        return names;
    }

    /// <summary>Runs one sample: a tensor per graph input, in <see cref="Graph.Inputs"/> order.</summary>
    /// <exception cref="ArgumentException">The wrong number of inputs, or an input of the wrong length.</exception>
    public void Observe(IReadOnlyList<Tensor> inputs)
    {
        if (inputs == null) throw new ArgumentNullException(nameof(inputs));
        var values = ReferenceExecutor.Run(_graph, inputs);
        foreach (var name in _accumulator.TensorNames)
        {
            if (values.TryGetValue(name, out var tensor) && tensor.Floats != null)
                _accumulator.Observe(name, tensor.Floats);
        }
        _accumulator.AddSamples(1);
    }

    /// <summary>Runs one sample of a model with a single float input.</summary>
    public void Observe(float[] input)
    {
        if (input == null) throw new ArgumentNullException(nameof(input));
        var value = SingleFloatInput(_graph);
        if (input.Length != value.Length)
            throw new ArgumentException($"input '{value.Name}' needs {value.Length} values ({Shapes.Format(value.Shape!)}), got {input.Length}", nameof(input));
        Observe(new[] { Tensor.FromFloats(value.Shape!, input) });
    }

    /// <summary>The file for what was observed. Tensors whose collector saw no finite value are left out.</summary>
    /// <param name="modelSha256"><see cref="ModelHash.Sha256Hex"/> of the .onnx bytes the graph came from.</param>
    /// <param name="modelName">The model's file name.</param>
    /// <exception cref="InvalidOperationException">No sample was observed.</exception>
    public CalibrationFile Finish(string modelSha256, string modelName) => _accumulator.Finish(modelSha256, modelName);

    /// <summary>Calibrates a model with a single float input from a stream of samples (each the input's length).</summary>
    /// <exception cref="Diagnostics.ModelCompileException">The model does not compile (its diagnostics say why).</exception>
    public static CalibrationFile Calibrate(byte[] model, string modelPath, IEnumerable<float[]> samples,
        CalibrationMethod method = DefaultMethod, CalibratorSettings? settings = null)
    {
        if (samples == null) throw new ArgumentNullException(nameof(samples));
        var calibrator = new Calibrator(ModelCompiler.Prepare(model, modelPath), method, settings);
        SingleFloatInput(calibrator._graph);
        foreach (var sample in samples)
            calibrator.Observe(sample);
        return calibrator.Finish(ModelHash.Sha256Hex(model), Path.GetFileName(modelPath));
    }

    /// <summary>Calibrates a model from a stream of samples, each a tensor per graph input.</summary>
    /// <exception cref="Diagnostics.ModelCompileException">The model does not compile (its diagnostics say why).</exception>
    public static CalibrationFile Calibrate(byte[] model, string modelPath, IEnumerable<IReadOnlyList<Tensor>> samples,
        CalibrationMethod method = DefaultMethod, CalibratorSettings? settings = null)
    {
        if (samples == null) throw new ArgumentNullException(nameof(samples));
        var calibrator = new Calibrator(ModelCompiler.Prepare(model, modelPath), method, settings);
        foreach (var sample in samples)
            calibrator.Observe(sample);
        return calibrator.Finish(ModelHash.Sha256Hex(model), Path.GetFileName(modelPath));
    }

    private static Value SingleFloatInput(Graph graph)
    {
        if (graph.Inputs.Count != 1 || graph[graph.Inputs[0]].Type != DataType.Float)
            throw new ArgumentException($"samples as float arrays need a model with one float input; this one has {graph.Inputs.Count} inputs ({string.Join(", ", graph.Inputs.Select(n => graph[n].ToString()))}): pass a tensor per input");
        return graph[graph.Inputs[0]];
    }
}
