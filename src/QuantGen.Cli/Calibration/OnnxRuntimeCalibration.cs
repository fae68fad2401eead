using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using QuantGen.Cli.Data;
using QuantGen.Compiler.Calibration;

namespace QuantGen.Cli.Calibration;

/// <summary>
/// Runs the FP32 model in ONNX Runtime with every calibrated tensor as an extra output (<see cref="CalibrationGraph"/>)
/// and streams the values to the collectors, a batch at a time: memory is one batch's inputs and tensors plus the
/// collectors' fixed state. A batch holds several samples when every input's first dimension is free; a model with a
/// fixed batch of 1 runs one sample per call. A model that declares a free batch dimension but cannot run it (a Reshape
/// to a constant [1, -1], say) fails on the first batch, and is then run one sample at a time.
/// </summary>
internal sealed class OnnxRuntimeCalibration : IDisposable
{
    private readonly InferenceSession _session;
    private readonly CalibrationGraph _graph;

    public OnnxRuntimeCalibration(CalibrationGraph graph)
    {
        _graph = graph;
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        _session = new InferenceSession(graph.Model, options);
    }

    /// <summary>The batch size actually used (1 after a fallback).</summary>
    public int Batch { get; private set; }

    /// <summary>Why the batch fell back to 1, when it did.</summary>
    public string? BatchFallback { get; private set; }

    /// <summary>Runs every sample of <paramref name="data"/> and hands the tensors to <paramref name="accumulator"/>.</summary>
    /// <param name="batch">Samples per run wanted (--batch).</param>
    /// <param name="progress">Called with the samples done after each run.</param>
    public void Run(InputFiles data, CalibrationAccumulator accumulator, int batch, Action<long> progress)
    {
        var inputs = data.Inputs;
        Batch = inputs.All(i => _graph.BatchFree.TryGetValue(i.Name, out bool free) && free) ? (int)Math.Min(batch, data.Samples) : 1;
        var batches = data.CreateBatches(Batch);
        var outputNames = _graph.Outputs.ToArray();
        using var runOptions = new RunOptions();

        long done = 0;
        bool first = true;
        while (done < data.Samples)
        {
            int count = (int)Math.Min(Batch, data.Samples - done);
            data.Read(count, batches);
            try
            {
                RunBatch(batches, count, outputNames, runOptions, accumulator);
            }
            catch (OnnxRuntimeException e) when (first && count > 1)
            {
                // The declared free batch dimension does not work for this graph: one sample per run, from the buffer
                // already read, then on.
                BatchFallback = e.Message;
                for (int s = 0; s < count; s++)
                    RunBatch(batches.Select(b => b.Sample(s)).ToArray(), 1, outputNames, runOptions, accumulator);
                Batch = 1;
                batches = data.CreateBatches(1);
            }
            first = false;
            done += count;
            accumulator.AddSamples(count);
            progress(done);
        }
    }

    private void RunBatch(InputBatch[] batches, int count, string[] outputNames, RunOptions runOptions, CalibrationAccumulator accumulator)
    {
        var values = new OrtValue[batches.Length];
        try
        {
            for (int i = 0; i < batches.Length; i++)
                values[i] = batches[i].ToOrtValue(count);
            using var results = _session.Run(runOptions, batches.Select(b => b.Input.Name).ToArray(), values, outputNames);
            // Float inputs are calibrated like any activation; integer inputs (token ids) are not quantized.
            foreach (var batch in batches)
            {
                if (batch.Floats != null)
                    accumulator.Observe(batch.Input.Name, batch.Floats.AsSpan(0, count * batch.Input.Length));
            }
            for (int o = 0; o < outputNames.Length; o++)
                accumulator.Observe(outputNames[o], results[o].GetTensorDataAsSpan<float>());
        }
        finally
        {
            foreach (var value in values)
                value?.Dispose();
        }
    }

    public void Dispose() => _session.Dispose();
}
