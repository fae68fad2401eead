using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using QuantGen.Compiler.Ir;

namespace QuantGen.Compiler.Emit;

/// <summary>
/// Writes constant tensors as members of a nested <c>Weights</c> class. Each tensor is stored as little-endian
/// bytes packed eight to a <c>ulong</c> literal (the encoding that keeps megabytes of data fast to compile, see
/// design.md) and read through <c>MemoryMarshal.Cast</c>: the data sits in the assembly's data section and
/// reading it allocates nothing.
/// </summary>
public sealed class WeightEmitter
{
    private readonly List<(string Member, string Comment, Tensor Tensor)> _members = new();
    private readonly Dictionary<string, string> _byKey = new();
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    /// <summary>Registers a tensor under a key (the value name, or a kernel's derived data) and returns its member name.</summary>
    public string Add(string key, string comment, Tensor tensor)
    {
        if (_byKey.TryGetValue(key, out var existing))
            return existing;
        string name = CSharp.Identifier(key, "weight");
        string unique = name;
        for (int i = 2; !_names.Add(unique); i++)
            unique = name + "_" + i.ToString(CultureInfo.InvariantCulture);
        _byKey[key] = unique;
        _members.Add((unique, comment, tensor));
        return unique;
    }

    public int Count => _members.Count;

    public long TotalBytes => _members.Sum(m => (long)m.Tensor.Length * m.Tensor.Type.ByteSize());

    /// <summary>Writes the members into files of at most about <paramref name="bytesPerFile"/> bytes of data each.</summary>
    public IEnumerable<(int Index, Action<SourceWriter> Write)> Files(int bytesPerFile)
    {
        var chunks = new List<List<(string Member, string Comment, Tensor Tensor)>> { new() };
        long size = 0;
        foreach (var m in _members)
        {
            long bytes = (long)m.Tensor.Length * m.Tensor.Type.ByteSize();
            if (size > 0 && size + bytes > bytesPerFile)
            {
                chunks.Add(new());
                size = 0;
            }
            chunks[chunks.Count - 1].Add(m);
            size += bytes;
        }
        for (int i = 0; i < chunks.Count; i++)
        {
            var chunk = chunks[i];
            yield return (i, w =>
            {
                for (int m = 0; m < chunk.Count; m++)
                {
                    if (m > 0) w.Line();
                    WriteMember(w, chunk[m].Member, chunk[m].Comment, chunk[m].Tensor);
                }
            });
        }
    }

    /// <summary>The registered tensors laid out as one resource (see <see cref="WeightBlob"/>).</summary>
    public WeightBlob BuildBlob(string modelPath) => WeightBlob.Build(_members.Select(m => (m.Member, ToBytes(m.Tensor))), modelPath);

    /// <summary>
    /// The body of the Weights class when the weights live in <paramref name="blob"/>'s manifest resource: a pointer to
    /// the resource's bytes in the loaded image, found, length- and hash-checked once, and one span member per tensor
    /// over it. The class must be declared <c>unsafe</c>.
    /// </summary>
    public void WriteResourceMembers(SourceWriter w, WeightBlob blob, string modelPath)
    {
        string model = CSharp.CommentText(modelPath).Replace("\\", "\\\\").Replace("\"", "\\\"");
        w.Line($"internal const string ResourceName = \"{blob.ResourceName.Replace("\\", "\\\\").Replace("\"", "\\\"")}\";");
        w.Line($"internal const long ResourceBytes = {blob.Bytes.Length};");
        w.Line();
        w.Line($"// SHA-256 of the resource: {blob.Sha256Hex}.");
        w.Line("private static ReadOnlySpan<byte> ResourceSha256 => new byte[]");
        w.Line("{");
        w.Indent();
        w.Line(string.Join(" ", blob.Sha256.Select(b => "0x" + b.ToString("X2", CultureInfo.InvariantCulture) + ",")));
        w.Outdent();
        w.Line("};");
        w.Line();
        w.Line("// Keeps the resource (and, for a collectible assembly, the image it points into) alive.");
        w.Line("private static System.IO.UnmanagedMemoryStream s_resource;");
        w.Line("private static byte* s_base;");
        w.Line();
        w.Line("// The first tensor read finds and checks the resource; after that this is one load and one compare.");
        w.Line("private static byte* Base");
        w.Line("{");
        w.Line("    [MethodImpl(MethodImplOptions.AggressiveInlining)]");
        w.Line("    get { byte* p = s_base; return p != null ? p : Load(); }");
        w.Line("}");
        w.Line();
        w.Line("/// <summary>Points into the resource in place (no copy); throws if it is missing or not the one this code was generated for.</summary>");
        w.Line("/// <remarks>Two threads may both run this: they store the same pointer.</remarks>");
        w.Line("[MethodImpl(MethodImplOptions.NoInlining)]");
        using (w.Block("internal static byte* Load()"))
        {
            w.Line("var stream = typeof(Weights).Assembly.GetManifestResourceStream(ResourceName);");
            w.Line("if (stream == null)");
            w.Line($"    throw new InvalidOperationException(\"QuantGen: the weights of '{model}' are missing: this assembly has no manifest resource '\" + ResourceName + \"'. They are embedded by the QuantGen package's build targets (QuantGenWeights=Resource); build the project with them.\");");
            w.Line("if (stream is not System.IO.UnmanagedMemoryStream mapped)");
            w.Line($"    throw new NotSupportedException(\"QuantGen: the manifest resource '\" + ResourceName + \"' is not mapped in memory (got \" + stream.GetType().Name + \"), so the weights of '{model}' cannot be read in place.\");");
            w.Line("byte* p = mapped.PositionPointer;");
            w.Line("if (mapped.Length != ResourceBytes)");
            w.Line($"    throw new InvalidOperationException(\"QuantGen: the manifest resource '\" + ResourceName + \"' has \" + mapped.Length + \" bytes; the code generated for '{model}' expects \" + ResourceBytes + \". The resource and the generated code come from different builds: rebuild the project.\");");
            w.Line("Span<byte> hash = stackalloc byte[32];");
            w.Line("System.Security.Cryptography.SHA256.HashData(new ReadOnlySpan<byte>(p, (int)ResourceBytes), hash);");
            w.Line("if (!hash.SequenceEqual(ResourceSha256))");
            w.Line($"    throw new InvalidOperationException(\"QuantGen: the manifest resource '\" + ResourceName + \"' does not match the code generated for '{model}' (SHA-256 mismatch): the weights were modified or come from another build. Rebuild the project.\");");
            w.Line("s_resource = mapped;");
            w.Line("s_base = p;");
            w.Line("return p;");
        }
        for (int i = 0; i < _members.Count; i++)
        {
            var (member, comment, tensor) = _members[i];
            var entry = blob.Entries[i];
            w.Line();
            w.Line($"// {CSharp.CommentText(comment)}: {tensor.Type} {Shapes.Format(tensor.Shape)}, {entry.Length} bytes at offset {entry.Offset}.");
            w.Line($"internal static ReadOnlySpan<{tensor.Type.CSharpName()}> {member} => new ReadOnlySpan<{tensor.Type.CSharpName()}>(Base + {entry.Offset}, {tensor.Length});");
        }
    }

    private static void WriteMember(SourceWriter w, string member, string comment, Tensor tensor)
    {
        string type = tensor.Type.CSharpName();
        var bytes = ToBytes(tensor);
        int words = (bytes.Length + 7) / 8;
        w.Line($"// {CSharp.CommentText(comment)}: {tensor.Type} {Shapes.Format(tensor.Shape)}, {bytes.Length} bytes.");
        w.Line($"internal static ReadOnlySpan<{type}> {member} => MemoryMarshal.Cast<ulong, {type}>({member}_Data).Slice(0, {tensor.Length});");
        if (words == 0)
        {
            w.Line($"private static ReadOnlySpan<ulong> {member}_Data => default;");
            return;
        }
        w.Line($"private static ReadOnlySpan<ulong> {member}_Data => new ulong[]");
        w.Line("{");
        w.Indent();
        var line = new StringBuilder();
        for (int i = 0; i < words; i++)
        {
            ulong word = 0;
            for (int b = 7; b >= 0; b--)
            {
                int at = i * 8 + b;
                word = (word << 8) | (at < bytes.Length ? bytes[at] : (byte)0);
            }
            line.Append("0x").Append(word.ToString("X16", CultureInfo.InvariantCulture)).Append(',');
            if (i % 8 == 7 || i == words - 1)
            {
                w.Line(line.ToString());
                line.Clear();
            }
            else
            {
                line.Append(' ');
            }
        }
        w.Outdent();
        w.Line("};");
    }

    /// <summary>The tensor's elements as little-endian bytes in its own element type.</summary>
    internal static byte[] ToBytes(Tensor t)
    {
        int size = t.Type.ByteSize();
        var bytes = new byte[t.Length * size];
        for (int i = 0; i < t.Length; i++)
        {
            ulong bits = t.Type switch
            {
                DataType.Float => (uint)BitConverter.ToInt32(BitConverter.GetBytes(t.Floats![i]), 0),
                _ => unchecked((ulong)t.Longs![i]),
            };
            for (int b = 0; b < size; b++)
                bytes[i * size + b] = (byte)(bits >> (8 * b));
        }
        return bytes;
    }
}
