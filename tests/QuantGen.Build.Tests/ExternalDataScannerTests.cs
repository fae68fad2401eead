using System;
using System.IO;
using Xunit;

namespace QuantGen.Build.Tests;

public class ExternalDataScannerTests
{
    private static byte[] ReadModel(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Models", name));

    [Fact]
    public void Model_with_embedded_weights_has_no_external_data()
    {
        Assert.Empty(ExternalDataScanner.FindLocations(ReadModel("tiny.onnx")));
    }

    [Fact]
    public void Finds_the_file_onnx_save_model_wrote_for_initializers()
    {
        // Both initializers (W and b) live in the one file; it is listed once.
        Assert.Equal(new[] { "tiny_external.weights" }, ExternalDataScanner.FindLocations(ReadModel("tiny_external.onnx")));
    }

    [Fact]
    public void Finds_initializers_attribute_tensors_and_subgraphs_in_order_without_duplicates()
    {
        var constantNode = new ProtoWriter()
            .String(4, "Constant")
            .Message(5, new ProtoWriter().String(1, "value").Message(5, ProtoWriter.ExternalTensor("c", "constant.bin")));
        var subgraph = new ProtoWriter().Message(5, ProtoWriter.ExternalTensor("s", "sub/branch.bin"));
        var ifNode = new ProtoWriter()
            .String(4, "If")
            .Message(5, new ProtoWriter().String(1, "then_branch").Message(6, subgraph))
            .Message(5, new ProtoWriter().String(1, "else_branch").Message(11, new ProtoWriter().Message(5, ProtoWriter.ExternalTensor("e", "else.bin"))))
            .Message(5, new ProtoWriter().String(1, "tensors").Message(10, ProtoWriter.ExternalTensor("t", "constant.bin")));
        var graph = new ProtoWriter()
            .Message(1, constantNode)
            .Message(1, ifNode)
            .Message(5, ProtoWriter.ExternalTensor("w", "weights.bin"))
            .Message(5, ProtoWriter.ExternalTensor("w2", "weights.bin"));

        Assert.Equal(
            new[] { "constant.bin", "sub/branch.bin", "else.bin", "weights.bin" },
            ExternalDataScanner.FindLocations(ProtoWriter.Model(graph)));
    }

    [Fact]
    public void Location_counts_only_when_data_location_is_external()
    {
        var graph = new ProtoWriter().Message(5, ProtoWriter.ExternalTensor("w", "weights.bin", markedExternal: false));
        Assert.Empty(ExternalDataScanner.FindLocations(ProtoWriter.Model(graph)));
    }

    [Fact]
    public void Data_location_may_come_before_external_data_and_unknown_fields_are_skipped()
    {
        var tensor = new ProtoWriter()
            .Varint(14, 1)
            .Fixed32(4, 0x3F800000)           // float_data
            .Raw(0x51, 1, 2, 3, 4, 5, 6, 7, 8) // field 10 (double_data), fixed64
            .Message(13, ProtoWriter.Entry("location", "w.bin"));
        var graph = new ProtoWriter().String(2, "g").Message(5, tensor);
        Assert.Equal(new[] { "w.bin" }, ExternalDataScanner.FindLocations(ProtoWriter.Model(graph)));
    }

    [Fact]
    public void Empty_input_has_no_external_data()
    {
        Assert.Empty(ExternalDataScanner.FindLocations(Array.Empty<byte>()));
    }

    [Theory]
    [InlineData(new byte[] { 0x3A, 0x05, 0x00 })]                         // graph claims 5 bytes, has 1
    [InlineData(new byte[] { 0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F })]       // graph claims 4 GB
    [InlineData(new byte[] { 0x08 })]                                     // tag without value
    [InlineData(new byte[] { 0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 })] // varint over 10 bytes
    [InlineData(new byte[] { 0x0B, 0x0C })]                               // group (wire types 3, 4)
    [InlineData(new byte[] { 0x0E })]                                     // wire type 6 does not exist
    [InlineData(new byte[] { 0x00, 0x01 })]                               // field number 0
    [InlineData(new byte[] { 0x09, 0x01, 0x02 })]                         // fixed64 cut short
    public void Malformed_input_answers_nothing(byte[] model)
    {
        Assert.Empty(ExternalDataScanner.FindLocations(model));
    }

    [Fact]
    public void A_malformed_tail_discards_what_was_found_before_it()
    {
        byte[] good = ReadModel("tiny_external.onnx");
        byte[] model = new byte[good.Length + 2];
        good.CopyTo(model, 0);
        model[good.Length] = 0x3A;     // another graph field...
        model[good.Length + 1] = 0x7F; // ...claiming 127 bytes that are not there
        Assert.Empty(ExternalDataScanner.FindLocations(model));
    }

    [Fact]
    public void Invalid_utf8_in_a_location_answers_nothing()
    {
        var tensor = new ProtoWriter()
            .Message(13, new ProtoWriter().String(1, "location").Bytes(2, new byte[] { 0xC3, 0x28 }))
            .Varint(14, 1);
        Assert.Empty(ExternalDataScanner.FindLocations(ProtoWriter.Model(new ProtoWriter().Message(5, tensor))));
    }

    [Fact]
    public void Deep_nesting_is_refused_without_overflowing_the_stack()
    {
        // graph -> node -> attribute -> graph -> ... far deeper than any real model.
        ProtoWriter graph = new ProtoWriter().Message(5, ProtoWriter.ExternalTensor("w", "deep.bin"));
        for (int i = 0; i < 2000; i++)
        {
            var attribute = new ProtoWriter().Message(6, graph);
            var node = new ProtoWriter().Message(5, attribute);
            graph = new ProtoWriter().Message(1, node);
        }
        Assert.Empty(ExternalDataScanner.FindLocations(ProtoWriter.Model(graph)));
    }

    [Fact]
    public void Random_bytes_never_throw_and_find_nothing()
    {
        var random = new Random(12345);
        for (int i = 0; i < 20_000; i++)
        {
            var bytes = new byte[random.Next(0, 512)];
            random.NextBytes(bytes);
            Assert.Empty(ExternalDataScanner.FindLocations(bytes));
        }
    }

    [Fact]
    public void Every_truncation_and_every_byte_corruption_of_a_real_model_is_survived()
    {
        byte[] model = ReadModel("tiny_external.onnx");
        var random = new Random(6789);
        for (int length = 0; length <= model.Length; length++)
        {
            var locations = ExternalDataScanner.FindLocations(model.AsSpan(0, length).ToArray());
            Assert.True(locations.Count == 0 || (locations.Count == 1 && locations[0] == "tiny_external.weights"));
        }
        for (int position = 0; position < model.Length; position++)
        {
            for (int trial = 0; trial < 8; trial++)
            {
                byte[] corrupt = (byte[])model.Clone();
                corrupt[position] = (byte)random.Next(256);
                var locations = ExternalDataScanner.FindLocations(corrupt);
                Assert.True(locations.Count <= 2);
            }
        }
    }
}
