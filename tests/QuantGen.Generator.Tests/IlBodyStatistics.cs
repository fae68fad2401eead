using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;

namespace QuantGen.Generator.Tests;

/// <summary>
/// What the JIT looks at before deciding to optimize a method, counted from its IL body: IL bytes, instructions,
/// basic blocks (starts: offset 0, every branch or switch target, every instruction after a branch, return or throw,
/// every exception-region boundary), arguments plus IL locals, and instructions that read or write an argument or local.
/// </summary>
internal sealed record IlBodyStatistics(string Method, int IlBytes, int Instructions, int BasicBlocks, int ArgumentsAndLocals, int LocalReferences)
{
    // One-byte opcodes by value, two-byte (0xFE xx) by their second byte; built from System.Reflection.Emit.OpCodes.
    private static readonly OpCode?[] s_oneByte = new OpCode?[256];
    private static readonly OpCode?[] s_twoByte = new OpCode?[256];

    static IlBodyStatistics()
    {
        foreach (var field in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var opCode = (OpCode)field.GetValue(null)!;
            ushort value = unchecked((ushort)opCode.Value);
            if (opCode.Size == 1) s_oneByte[value] = opCode;
            else s_twoByte[value & 0xFF] = opCode;
        }
    }

    public static IlBodyStatistics Read(string name, MetadataReader metadata, MethodDefinition method, MethodBodyBlock body)
    {
        var il = body.GetILReader();
        var blockStarts = new HashSet<int> { 0 };
        int instructions = 0, localReferences = 0;
        while (il.RemainingBytes > 0)
        {
            byte first = il.ReadByte();
            var opCode = first == 0xFE ? s_twoByte[il.ReadByte()] : s_oneByte[first];
            if (opCode is not { } op) throw new InvalidOperationException($"{name}: unknown IL opcode at offset {il.Offset - 1}.");
            instructions++;
            if (IsLocalOrArgumentAccess(op)) localReferences++;

            switch (op.OperandType)
            {
                case OperandType.InlineNone: break;
                case OperandType.ShortInlineBrTarget: { int delta = il.ReadSByte(); blockStarts.Add(il.Offset + delta); break; }
                case OperandType.InlineBrTarget: { int delta = il.ReadInt32(); blockStarts.Add(il.Offset + delta); break; }
                case OperandType.InlineSwitch:
                {
                    int count = il.ReadInt32();
                    var deltas = Enumerable.Range(0, count).Select(_ => il.ReadInt32()).ToArray();
                    foreach (int delta in deltas) blockStarts.Add(il.Offset + delta);
                    break;
                }
                case OperandType.ShortInlineI or OperandType.ShortInlineVar: il.Offset += 1; break;
                case OperandType.InlineVar: il.Offset += 2; break;
                case OperandType.InlineI8 or OperandType.InlineR: il.Offset += 8; break;
                default: il.Offset += 4; break; // tokens, InlineI, ShortInlineR, InlineSig
            }

            if (op.FlowControl is FlowControl.Branch or FlowControl.Cond_Branch or FlowControl.Return or FlowControl.Throw && il.RemainingBytes > 0)
                blockStarts.Add(il.Offset);
        }

        foreach (var region in body.ExceptionRegions)
        {
            blockStarts.Add(region.TryOffset);
            blockStarts.Add(region.HandlerOffset);
            blockStarts.Add(region.HandlerOffset + region.HandlerLength);
        }

        int locals = body.LocalSignature.IsNil ? 0 : LocalCount(metadata, body.LocalSignature);
        var signature = metadata.GetBlobReader(method.Signature);
        var header = signature.ReadSignatureHeader();
        if (header.IsGeneric) signature.ReadCompressedInteger();
        int arguments = signature.ReadCompressedInteger() + (header.IsInstance ? 1 : 0);

        return new IlBodyStatistics(name, body.Size, instructions, blockStarts.Count, arguments + locals, localReferences);
    }

    private static int LocalCount(MetadataReader metadata, StandaloneSignatureHandle handle)
    {
        var blob = metadata.GetBlobReader(metadata.GetStandaloneSignature(handle).Signature);
        blob.ReadSignatureHeader(); // LOCAL_SIG (0x07)
        return blob.ReadCompressedInteger();
    }

    private static bool IsLocalOrArgumentAccess(OpCode op) =>
        op.Name is { } n && (n.StartsWith("ldloc", StringComparison.Ordinal) || n.StartsWith("stloc", StringComparison.Ordinal)
                             || n.StartsWith("ldarg", StringComparison.Ordinal) || n.StartsWith("starg", StringComparison.Ordinal));

    public override string ToString() =>
        $"{Method}: {IlBytes} IL bytes, {Instructions} instructions, ~{BasicBlocks} basic blocks, {ArgumentsAndLocals} arguments and locals, {LocalReferences} local references";
}
