namespace QuantGen.Compiler;

internal static class ThisAssembly
{
    /// <summary>QuantGen's version (major.minor.patch), written into every generated file's header.</summary>
    public static string Version { get; } = typeof(ThisAssembly).Assembly.GetName().Version!.ToString(3);
}
