using System;
using System.Linq;
using System.Security.Cryptography;
using QuantGen.Compiler.Emit;
using QuantGen.Compiler.Ir;
using QuantGen.Compiler.Transport;
using QuantGen.Testing;
using Xunit;

namespace QuantGen.Compiler.Tests.Emit;

/// <summary>The layout of the weights resource (see <see cref="WeightBlob"/>), and the code that reads it.</summary>
public class WeightBlobTests
{
    [Fact]
    public void Tensors_start_64_byte_aligned_in_registration_order_with_zero_padding()
    {
        var emitter = new WeightEmitter();
        var a = Tensor.FromFloats(new[] { 3 }, new[] { 1.5f, -2f, float.NaN });              // 12 bytes
        var b = Tensor.FromLongs(DataType.Int8, new[] { 5 }, new long[] { -128, -1, 0, 1, 127 }); // 5 bytes
        var c = Tensor.FromLongs(DataType.Int64, new[] { 9 }, Enumerable.Range(0, 9).Select(i => long.MinValue + i).ToArray()); // 72 bytes
        var d = Tensor.FromFloats(new[] { 0 }, Array.Empty<float>());
        string ma = emitter.Add("a", "a", a), mb = emitter.Add("b", "b", b), mc = emitter.Add("c", "c", c), md = emitter.Add("d", "d", d);

        var blob = emitter.BuildBlob("Models/m.onnx");

        Assert.Equal(new[] { ma, mb, mc, md }, blob.Entries.Select(e => e.Member));
        Assert.Equal(new long[] { 0, 64, 128, 256 }, blob.Entries.Select(e => e.Offset));
        Assert.Equal(new long[] { 12, 5, 72, 0 }, blob.Entries.Select(e => e.Length));
        Assert.Equal(256, blob.Bytes.Length); // even an empty tensor starts on the grid
        Assert.Equal(WeightEmitter.ToBytes(a), blob.Bytes.AsSpan(0, 12).ToArray());
        Assert.Equal(WeightEmitter.ToBytes(b), blob.Bytes.AsSpan(64, 5).ToArray());
        Assert.Equal(WeightEmitter.ToBytes(c), blob.Bytes.AsSpan(128, 72).ToArray());
        Assert.All(blob.Bytes.AsSpan(12, 52).ToArray().Concat(blob.Bytes.AsSpan(69, 59).ToArray()), x => Assert.Equal(0, x));
        // Little-endian, element by element, in the tensor's own width.
        Assert.Equal(BitConverter.GetBytes(long.MinValue + 3), blob.Bytes.AsSpan(128 + 24, 8).ToArray());
        Assert.Equal(new byte[] { 0x80, 0xFF, 0, 1, 0x7F }, blob.Bytes.AsSpan(64, 5).ToArray());
    }

    [Fact]
    public void Blob_carries_its_sha256_and_the_resource_name_of_the_model_path()
    {
        var emitter = new WeightEmitter();
        emitter.Add("w", "w", Tensor.FromFloats(new[] { 2 }, new[] { 1f, 2f }));
        var blob = emitter.BuildBlob(@"Models\sub\m.onnx");
        Assert.Equal(SHA256.HashData(blob.Bytes), blob.Sha256);
        Assert.Equal(Convert.ToHexString(blob.Sha256).ToLowerInvariant(), blob.Sha256Hex);
        Assert.Equal("QuantGen.Weights/Models/sub/m.onnx", blob.ResourceName);
    }

    [Fact]
    public void Resource_storage_emits_pointer_members_at_the_blob_offsets_and_no_literals()
    {
        byte[] model = new OnnxModelBuilder()
            .Input("x", 1, 4)
            .Initializer("W", new long[] { 4, 3 }, Enumerable.Range(0, 12).Select(i => i * 0.25f).ToArray())
            .Initializer("b", new long[] { 3 }, new[] { 1f, 2f, 3f })
            .Node("gemm", "Gemm", new[] { "x", "W", "b" }, new[] { "y" })
            .Output("y", 1, 3)
            .ToBytes();
        var options = new CompilerOptions { ModelPath = "Models/m.onnx", Precision = Precision.Float32, WeightStorage = WeightStorage.Resource };

        var result = ModelCompiler.Compile(model, options);
        var again = ModelCompiler.Compile(model, options);

        Assert.Empty(result.Diagnostics);
        Assert.NotNull(result.Weights);
        Assert.Equal(result.Weights!.Bytes, again.Weights!.Bytes); // the task and the generator must agree byte for byte
        string weights = result.Files.Single(f => f.HintName.EndsWith(".Weights.g.cs", StringComparison.Ordinal)).Source;
        Assert.DoesNotContain("new ulong[]", weights);
        Assert.Contains("private static unsafe partial class Weights", weights);
        Assert.Contains($"internal const long ResourceBytes = {result.Weights.Bytes.Length};", weights);
        Assert.Contains(result.Weights.Sha256Hex, weights);
        foreach (var e in result.Weights.Entries)
            Assert.Contains($"{e.Member} => new ReadOnlySpan<float>(Base + {e.Offset}, {e.Length / 4});", weights);

        var literals = ModelCompiler.Compile(model, options with { WeightStorage = WeightStorage.Literals });
        Assert.Null(literals.Weights);
        // Only the weights file differs: the kernels and Predict are the same code.
        Assert.Equal(literals.Files.Where(f => !f.HintName.Contains(".Weights")).Select(f => f.Source),
                     result.Files.Where(f => !f.HintName.Contains(".Weights")).Select(f => f.Source));
    }

    [Fact]
    public void Manifest_round_trips_and_rejects_other_text()
    {
        var content = new WeightsManifest.Content("Models/m.onnx", "QuantGen.Weights/Models/m.onnx", 1234, new string('a', 64), "Float32");
        Assert.True(WeightsManifest.TryRead(WeightsManifest.Write(content), out var read));
        Assert.Equal(content, read);
        Assert.False(WeightsManifest.TryRead("QuantGenWeights 2\nmodel: m\n", out _));
        Assert.False(WeightsManifest.TryRead(WeightsManifest.Write(content with { Sha256Hex = "abc" }), out _));
    }
}
