using System;
using System.Collections.Generic;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace QuantGen.Compiler.Emit;

/// <summary>
/// The weights of a model compiled with <see cref="WeightStorage.Resource"/>: one manifest resource that the
/// generated code reads in place. Layout (version 1): the tensors in the order the emitter registered them, each
/// as its little-endian elements (<see cref="WeightEmitter.ToBytes"/>) starting at a multiple of
/// <see cref="Alignment"/> bytes from the start, zero bytes between them; no header. Integrity and identity are
/// carried by the generated code instead: it knows each tensor's offset and length, the total length and the
/// SHA-256 of the whole blob, and checks the last two before the first read.
/// </summary>
/// <remarks>
/// The blob is computed by the same compiler passes in two places: the build task (which writes it into obj/ and
/// embeds it, since a source generator cannot add resources) and the generator (which only hashes it). Both run
/// <see cref="ModelCompiler.Compile"/> on the same model with the same options, so they agree by construction;
/// when they do not (the options given to the task differ from the attribute's), the generator reports it at build
/// time and the hash check reports it at run time.
/// </remarks>
public sealed class WeightBlob
{
    /// <summary>Offset alignment of every tensor in the blob (a cache line: whole-vector loads never straddle two).</summary>
    public const int Alignment = 64;

    /// <summary>Prefix of the manifest resource name; the model's project-relative path follows.</summary>
    public const string ResourcePrefix = "QuantGen.Weights/";

    private WeightBlob(byte[] bytes, IReadOnlyList<Entry> entries, string resourceName)
    {
        Bytes = bytes;
        Entries = entries;
        ResourceName = resourceName;
        using var sha = SHA256.Create();
        Sha256 = sha.ComputeHash(bytes);
    }

    /// <summary>Where one tensor lies: its generated member name, byte offset and byte length.</summary>
    public sealed record Entry(string Member, long Offset, long Length);

    public byte[] Bytes { get; }

    public IReadOnlyList<Entry> Entries { get; }

    /// <summary>The manifest resource name the generated code looks up.</summary>
    public string ResourceName { get; }

    /// <summary>SHA-256 of <see cref="Bytes"/>.</summary>
    public byte[] Sha256 { get; }

    public string Sha256Hex => Hex(Sha256);

    /// <summary>The resource name for a model, by its path as [OnnxModel] matches it (project-relative, '/' separators).</summary>
    public static string ResourceNameFor(string modelPath) => ResourcePrefix + modelPath.Replace('\\', '/');

    /// <summary>Lays out <paramref name="tensors"/> (member name, little-endian bytes) as described above.</summary>
    public static WeightBlob Build(IEnumerable<(string Member, byte[] Bytes)> tensors, string modelPath)
    {
        var entries = new List<Entry>();
        long size = 0;
        var parts = new List<byte[]>();
        foreach (var (member, bytes) in tensors)
        {
            size = AlignUp(size);
            entries.Add(new Entry(member, size, bytes.Length));
            parts.Add(bytes);
            size += bytes.Length;
        }
        if (size > int.MaxValue)
            throw new NotSupportedException($"The model's weights take {size:N0} bytes; one resource holds at most 2 GB.");
        var blob = new byte[size];
        for (int i = 0; i < parts.Count; i++)
            Buffer.BlockCopy(parts[i], 0, blob, (int)entries[i].Offset, parts[i].Length);
        return new WeightBlob(blob, entries, ResourceNameFor(modelPath));
    }

    public static long AlignUp(long offset) => (offset + Alignment - 1) / Alignment * Alignment;

    public static string Hex(byte[] bytes)
    {
        var text = new StringBuilder(bytes.Length * 2);
        foreach (byte b in bytes)
            text.Append(b.ToString("x2", CultureInfo.InvariantCulture));
        return text.ToString();
    }
}
