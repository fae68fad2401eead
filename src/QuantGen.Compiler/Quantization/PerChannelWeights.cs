using System;

namespace QuantGen.Compiler.Quantization;

/// <summary>int8 weights, symmetric, one scale per output channel: real = q * Scales[c], q in [-127, 127].</summary>
public sealed class PerChannelWeights
{
    public PerChannelWeights(sbyte[] values, float[] scales)
    {
        Values = values;
        Scales = scales;
    }

    /// <summary>Row-major like the float weights they came from; channel c is the c-th block of <see cref="PerChannel"/>.</summary>
    public sbyte[] Values { get; }
    public float[] Scales { get; }
    public int Channels => Scales.Length;
    public int PerChannel => Values.Length / Math.Max(1, Scales.Length);

    /// <summary>
    /// Quantizes <paramref name="weights"/> whose first dimension is the output channel: scale = max|w| / 127,
    /// q = round_half_even(w / scale). An all-zero channel gets scale 1 (all its q are 0, the channel stays exact).
    /// </summary>
    public static PerChannelWeights Quantize(float[] weights, int channels)
    {
        if (channels <= 0 || weights.Length % channels != 0)
            throw new ArgumentException($"{weights.Length} weights do not split into {channels} channels");
        int per = weights.Length / channels;
        var q = new sbyte[weights.Length];
        var scales = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            float max = 0;
            for (int i = c * per; i < (c + 1) * per; i++) max = Math.Max(max, Math.Abs(weights[i]));
            float scale = max > 0 ? max / 127f : 1f;
            scales[c] = scale;
            for (int i = c * per; i < (c + 1) * per; i++)
            {
                double r = Math.Round(weights[i] / scale, MidpointRounding.ToEven);
                q[i] = (sbyte)Math.Max(-127, Math.Min(127, r));
            }
        }
        return new PerChannelWeights(q, scales);
    }

    /// <summary>Sum of the q values of channel <paramref name="c"/> (for folding the input zero point into the bias).</summary>
    public int ChannelSum(int c)
    {
        int sum = 0;
        for (int i = c * PerChannel; i < (c + 1) * PerChannel; i++) sum += Values[i];
        return sum;
    }
}
