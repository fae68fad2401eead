using System;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// The sliding-window arithmetic Conv and the pooling ops share: kernel, strides, dilations, pads and auto_pad,
/// for 1-D and 2-D windows over an N x C x spatial input. 1-D windows are handled as 2-D with height 1.
/// </summary>
public sealed class WindowGeometry
{
    public int N, C, H, W;            // input
    public int KH, KW;                // kernel
    public int SY, SX, DY, DX;        // strides, dilations
    public int PadTop, PadLeft, PadBottom, PadRight;
    public int OH, OW;                // output
    public int SpatialRank;

    public bool HasPadding => PadTop != 0 || PadLeft != 0 || PadBottom != 0 || PadRight != 0;

    /// <summary>Output shape: N x <paramref name="channels"/> x spatial.</summary>
    public int[] OutputShape(int channels) => SpatialRank == 1 ? new[] { N, channels, OW } : new[] { N, channels, OH, OW };

    /// <param name="kernelFromWeights">Kernel dims from the weight tensor (Conv), or null to require kernel_shape.</param>
    /// <param name="allowCeil">Whether ceil_mode is meaningful (pooling).</param>
    public static WindowGeometry Read(OpContext ctx, int[] x, int[]? kernelFromWeights, bool allowCeil, bool allowDilations = true)
    {
        if (x.Length is not (3 or 4))
            throw x.Length == 5 ? ctx.Unsupported("3-D spatial input (" + Shapes.Format(x) + ")") : ctx.ShapeError($"the input must be N x C x L or N x C x H x W, got {Shapes.Format(x)}");
        int rank = x.Length - 2;
        var g = new WindowGeometry { SpatialRank = rank, N = x[0], C = x[1], H = rank == 1 ? 1 : x[2], W = x[x.Length - 1] };

        long[] kernel = ctx.Ints("kernel_shape") ?? (kernelFromWeights != null ? Array.ConvertAll(kernelFromWeights, v => (long)v) : throw ctx.Invalid("the 'kernel_shape' attribute is required"));
        long[] strides = ctx.Ints("strides") ?? Fill(rank, 1);
        long[] dilations = ctx.Ints("dilations") ?? Fill(rank, 1);
        if (!allowDilations && ctx.HasAttribute("dilations") && Array.Exists(dilations, d => d != 1))
            throw ctx.Unsupported("dilations");
        long[] pads = ctx.Ints("pads") ?? Fill(rank * 2, 0);
        if (kernel.Length != rank || strides.Length != rank || dilations.Length != rank || pads.Length != rank * 2)
            throw ctx.Invalid($"kernel_shape, strides, dilations and pads must have {rank}, {rank}, {rank} and {rank * 2} values for a {rank}-D window");
        if (kernelFromWeights != null && !Array.ConvertAll(kernelFromWeights, v => (long)v).AsSpan().SequenceEqual(kernel))
            throw ctx.ShapeError($"kernel_shape [{string.Join(", ", kernel)}] does not match the weights' {Shapes.Format(kernelFromWeights)}");
        // Bounds keep every window computation inside int arithmetic.
        const long Limit = 1 << 20;
        foreach (var v in kernel) if (v < 1 || v > Limit) throw ctx.Invalid($"kernel_shape value {v} is not in [1, {Limit}]");
        foreach (var v in strides) if (v > Limit) throw ctx.Invalid($"stride {v} is larger than {Limit}");
        foreach (var v in dilations) if (v > Limit) throw ctx.Invalid($"dilation {v} is larger than {Limit}");
        foreach (var v in pads) if (v > Limit) throw ctx.Invalid($"pad {v} is larger than {Limit}");
        foreach (var v in strides) if (v < 1) throw ctx.Invalid("strides must be positive");
        foreach (var v in dilations) if (v < 1) throw ctx.Invalid("dilations must be positive");
        foreach (var v in pads) if (v < 0) throw ctx.Invalid("pads must not be negative");

        int k = 0;
        if (rank == 2) { g.KH = (int)kernel[0]; g.SY = (int)strides[0]; g.DY = (int)dilations[0]; k = 1; }
        else { g.KH = 1; g.SY = 1; g.DY = 1; }
        g.KW = (int)kernel[k]; g.SX = (int)strides[k]; g.DX = (int)dilations[k];

        string autoPad = ctx.String("auto_pad", "NOTSET");
        bool ceil = allowCeil && ctx.Int("ceil_mode", 0) != 0;
        if (autoPad is "NOTSET")
        {
            if (rank == 2) { g.PadTop = (int)pads[0]; g.PadLeft = (int)pads[1]; g.PadBottom = (int)pads[2]; g.PadRight = (int)pads[3]; }
            else { g.PadLeft = (int)pads[0]; g.PadRight = (int)pads[1]; }
            g.OH = OutputSize(ctx, g.H, g.KH, g.SY, g.DY, g.PadTop, g.PadBottom, ceil);
            g.OW = OutputSize(ctx, g.W, g.KW, g.SX, g.DX, g.PadLeft, g.PadRight, ceil);
        }
        else if (autoPad is "VALID")
        {
            g.OH = OutputSize(ctx, g.H, g.KH, g.SY, g.DY, 0, 0, ceil);
            g.OW = OutputSize(ctx, g.W, g.KW, g.SX, g.DX, 0, 0, ceil);
        }
        else if (autoPad is "SAME_UPPER" or "SAME_LOWER")
        {
            bool upper = autoPad == "SAME_UPPER";
            (g.OH, g.PadTop, g.PadBottom) = Same(g.H, g.KH, g.SY, g.DY, upper);
            (g.OW, g.PadLeft, g.PadRight) = Same(g.W, g.KW, g.SX, g.DX, upper);
        }
        else
        {
            throw ctx.Invalid($"auto_pad '{autoPad}' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER");
        }
        if (g.OH < 1 || g.OW < 1)
            throw ctx.ShapeError($"the window does not fit: input {Shapes.Format(x)} gives output {g.OH}x{g.OW}");
        return g;
    }

    private static int OutputSize(OpContext ctx, int input, int kernel, int stride, int dilation, int padBegin, int padEnd, bool ceil)
    {
        int span = (kernel - 1) * dilation + 1;
        int numerator = input + padBegin + padEnd - span;
        if (numerator < 0) throw ctx.ShapeError($"the window ({span}) is larger than the padded input ({input + padBegin + padEnd})");
        int output = (ceil ? (numerator + stride - 1) / stride : numerator / stride) + 1;
        // As PyTorch and ONNX Runtime do: the last window must start inside the input or its leading padding.
        if (ceil && (output - 1) * stride >= input + padBegin)
            output--;
        return output;
    }

    private static (int Output, int Begin, int End) Same(int input, int kernel, int stride, int dilation, bool upper)
    {
        int output = (input + stride - 1) / stride;
        int span = (kernel - 1) * dilation + 1;
        int total = Math.Max(0, (output - 1) * stride + span - input);
        int small = total / 2, large = total - small;
        return upper ? (output, small, large) : (output, large, small);
    }

    private static long[] Fill(int n, long v)
    {
        var a = new long[n];
        for (int i = 0; i < n; i++) a[i] = v;
        return a;
    }

    /// <summary>The input row a window position reads, as C#: "oy * 2 + ky - 1", without "* 1" and "- 0".</summary>
    public string InputRow(string output, string kernel) => Coordinate(output, SY, kernel, DY, PadTop);

    /// <summary>The input column a window position reads, as C#.</summary>
    public string InputColumn(string output, string kernel) => Coordinate(output, SX, kernel, DX, PadLeft);

    private static string Coordinate(string output, int stride, string kernel, int dilation, int pad) =>
        (stride == 1 ? output : $"{output} * {stride}") + " + " + (dilation == 1 ? kernel : $"{kernel} * {dilation}") + (pad != 0 ? $" - {pad}" : "");

    public string Describe()
    {
        string k = SpatialRank == 1 ? $"k{KW}" : KH == KW ? $"k{KH}" : $"k{KH}x{KW}";
        string s = SpatialRank == 1 ? $"s{SX}" : SY == SX ? $"s{SY}" : $"s{SY}x{SX}";
        string p = HasPadding ? (SpatialRank == 1 ? $" p{PadLeft},{PadRight}" : $" p{PadTop},{PadLeft},{PadBottom},{PadRight}") : "";
        string d = DY != 1 || DX != 1 ? $" d{DY}x{DX}" : "";
        return k + " " + s + p + d;
    }
}
