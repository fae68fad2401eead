using System;
using System.Linq;
using QuantGen.Compiler.Diagnostics;
using QuantGen.Compiler.Onnx;
using QuantGen.Testing;
using Xunit;
using static QuantGen.Testing.OnnxModelBuilder;

// Not "...Tests.Onnx": that namespace would hide QuantGen.Compiler.Onnx from the tests that write "Onnx.OnnxModelReader".
namespace QuantGen.Compiler.Tests.OnnxImport;

/// <summary>The Dimensions option as the reader applies it: named free input dimensions get their build-time size.</summary>
public class DimensionBindingsTests
{
    /// <summary>input_ids and attention_mask [batch, sequence], plus a float input with a fixed and a named dim.</summary>
    private static byte[] Model() => new OnnxModelBuilder(opset: 13)
        .TypedInput("input_ids", ElementType.Int64, "batch", "sequence")
        .TypedInput("attention_mask", ElementType.Int64, "batch", "sequence")
        .TypedInput("features", ElementType.Float, "batch", 4)
        .Node("cast", "Cast", new[] { "attention_mask" }, new[] { "mask_f" }, OnnxAttribute.Int("to", ElementType.Float))
        .Output("mask_f")
        .ToBytes();

    private static Ir.Graph Read(params string[] entries) =>
        OnnxModelReader.Read(Model(), "m.onnx", null, DimensionBindings.Parse(entries, "m.onnx"));

    [Fact]
    public void Every_input_with_the_named_dimension_gets_its_size_and_the_batch_stays_1()
    {
        var graph = Read("sequence=128");
        Assert.Equal(new[] { 1, 128 }, graph["input_ids"].Shape);
        Assert.Equal(new[] { 1, 128 }, graph["attention_mask"].Shape);
        Assert.Equal(new[] { 1, 4 }, graph["features"].Shape);
    }

    [Fact]
    public void The_batch_can_be_named_too()
    {
        var graph = Read("batch=3", "sequence=7");
        Assert.Equal(new[] { 3, 7 }, graph["input_ids"].Shape);
        Assert.Equal(new[] { 3, 4 }, graph["features"].Shape);
    }

    [Fact]
    public void Without_the_option_the_sequence_is_QG0008_naming_the_option()
    {
        var e = Assert.Throws<ModelCompileException>(() => Read());
        var d = Assert.Single(e.Diagnostics);
        Assert.Equal("QG0008", d.Id);
        Assert.Contains("Input 'input_ids' has the free dimension 'sequence' at axis 1", d.Message);
        Assert.Contains("Dimensions = new[] { \"sequence=N\" }", d.Message);
    }

    [Fact]
    public void An_unnamed_free_dimension_is_QG0008_that_points_at_a_re_export()
    {
        var model = new OnnxModelBuilder(opset: 13)
            .TypedInput("ids", ElementType.Int64, 1, null)
            .Node("cast", "Cast", new[] { "ids" }, new[] { "y" }, OnnxAttribute.Int("to", ElementType.Float))
            .Output("y").ToBytes();
        var d = Assert.Single(Assert.Throws<ModelCompileException>(() => OnnxModelReader.Read(model, "m.onnx")).Diagnostics);
        Assert.Equal("QG0008", d.Id);
        Assert.Contains("'?' at axis 1", d.Message);
        Assert.Contains("it has no name (dim_param), so only a re-export can fix its size", d.Message);
        Assert.DoesNotContain("\"?=N\"", d.Message);
    }

    [Fact]
    public void A_rank_1_token_input_needs_the_option_for_its_only_dimension()
    {
        var model = new OnnxModelBuilder(opset: 13)
            .TypedInput("ids", ElementType.Int32, "tokens")
            .Node("cast", "Cast", new[] { "ids" }, new[] { "y" }, OnnxAttribute.Int("to", ElementType.Float))
            .Output("y").ToBytes();
        Assert.Equal("QG0008", Assert.Single(Assert.Throws<ModelCompileException>(() => OnnxModelReader.Read(model, "m.onnx")).Diagnostics).Id);
        Assert.Equal(new[] { 5 }, OnnxModelReader.Read(model, "m.onnx", null, DimensionBindings.Parse(new[] { "tokens=5" }, "m.onnx"))["ids"].Shape);
    }

    [Fact]
    public void Every_bad_entry_is_reported_at_once()
    {
        var e = Assert.Throws<ModelCompileException>(() => DimensionBindings.Parse(new[] { "sequence", "batch=0", "ok=3", "ok=4" }, "m.onnx"));
        Assert.Equal(new[] { "QG0027", "QG0027", "QG0027" }, e.Diagnostics.Select(d => d.Id));
        Assert.Contains("\"sequence\"", e.Diagnostics[0].Message);
        Assert.Contains("at least 1, not 0", e.Diagnostics[1].Message);
        Assert.Contains("'ok' is given more than once", e.Diagnostics[2].Message);
    }

    [Fact]
    public void Unknown_names_are_reported_before_the_free_dimension_they_failed_to_fix()
    {
        var e = Assert.Throws<ModelCompileException>(() => Read("seq_len=128", "sequenc=128"));
        Assert.Equal(new[] { "QG0028", "QG0028" }, e.Diagnostics.Select(d => d.Id));
        Assert.Contains("'seq_len'", e.Diagnostics[0].Message);
        Assert.Contains("'batch', 'sequence'", e.Diagnostics[0].Message);
        Assert.Contains("did you mean 'sequence'?", e.Diagnostics[1].Message);
    }

    [Fact]
    public void Names_are_case_sensitive_as_in_onnx()
    {
        var e = Assert.Throws<ModelCompileException>(() => Read("Sequence=16"));
        Assert.Contains("did you mean 'sequence'?", Assert.Single(e.Diagnostics).Message);
    }

    [Fact]
    public void Sizes_are_checked_against_the_int_range_of_generated_code()
    {
        // 2 x 2^30 elements: each size is valid, the tensor is not (QG0017).
        var e = Assert.Throws<ModelCompileException>(() => Read("batch=2", "sequence=1073741824"));
        Assert.Equal("QG0017", Assert.Single(e.Diagnostics).Id);
    }
}
