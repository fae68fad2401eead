namespace QuantGen.Compiler;

/// <summary>One generated C# file.</summary>
public sealed record GeneratedFile(string HintName, string Source);
