using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;
using System.Text;

namespace Fortunes;

/// <summary>
/// The committed test slices (Data/*.npy.gz, written by train/fortunes_data.py): NumPy .npy files of int64, first
/// axis = sample, gzip-compressed. Loading allocates; the measured loops only read the arrays.
/// </summary>
public sealed class FortunesData
{
    /// <summary>The classifier's categories, in the order of its logits (fortunes_data.CLASSIFIER_CATEGORIES).</summary>
    public static readonly string[] Categories = ["computers", "politics", "science", "songs-poems", "startrek", "zippy"];

    public const int LmContext = 64;
    public const int ClassifierLength = 128;
    public const int VocabularySize = 101;

    /// <summary>Language model windows: input ids and next-token targets, [count, 64] each, row-major.</summary>
    public required long[] LmInputIds { get; init; }
    public required long[] LmTargets { get; init; }
    public int LmWindows => LmInputIds.Length / LmContext;

    /// <summary>Classifier test examples: [CLS] + characters + padding, its mask, [count, 128]; labels [count].</summary>
    public required long[] ClassifierInputIds { get; init; }
    public required long[] ClassifierAttentionMask { get; init; }
    public required long[] ClassifierLabels { get; init; }
    public int ClassifierExamples => ClassifierLabels.Length;

    public static FortunesData Load(string? directory = null)
    {
        directory ??= Path.Combine(AppContext.BaseDirectory, "Data");
        long[] Read(string name, int rowLength) => ReadInt64Npy(Path.Combine(directory, name), rowLength);
        return new FortunesData
        {
            LmInputIds = Read("lm_test_input_ids.npy.gz", LmContext),
            LmTargets = Read("lm_test_targets.npy.gz", LmContext),
            ClassifierInputIds = Read("classifier_test_input_ids.npy.gz", ClassifierLength),
            ClassifierAttentionMask = Read("classifier_test_attention_mask.npy.gz", ClassifierLength),
            ClassifierLabels = Read("classifier_test_labels.npy.gz", 1),
        };
    }

    /// <summary>
    /// Reads a gzip-compressed .npy of little-endian int64 ('&lt;i8', C order) whose samples hold
    /// <paramref name="rowLength"/> values each (the product of the shape after the first axis).
    /// </summary>
    public static long[] ReadInt64Npy(string path, int rowLength)
    {
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var bytes = new MemoryStream();
        gzip.CopyTo(bytes);
        var data = bytes.GetBuffer().AsSpan(0, (int)bytes.Length);
        // Format 1.0/2.0/3.0: "\x93NUMPY", major, minor, header length (uint16 in 1.0, uint32 after), header text.
        if (data.Length < 10 || data[0] != 0x93 || !data.Slice(1, 5).SequenceEqual("NUMPY"u8))
            throw new InvalidDataException($"{path}: not a .npy file");
        int headerLength = data[6] == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(8)) : (int)BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(8));
        int start = data[6] == 1 ? 10 : 12;
        string header = Encoding.ASCII.GetString(data.Slice(start, headerLength));
        if (!header.Contains("'descr': '<i8'", StringComparison.Ordinal) || !header.Contains("'fortran_order': False", StringComparison.Ordinal))
            throw new InvalidDataException($"{path}: expected little-endian int64 in C order, header {header.Trim()}");
        var payload = data.Slice(start + headerLength);
        if (payload.Length % (8 * rowLength) != 0)
            throw new InvalidDataException($"{path}: {payload.Length} bytes of data is not a whole number of {rowLength}-value samples");
        var values = new long[payload.Length / 8];
        for (int i = 0; i < values.Length; i++)
            values[i] = BinaryPrimitives.ReadInt64LittleEndian(payload.Slice(8 * i));
        return values;
    }
}
