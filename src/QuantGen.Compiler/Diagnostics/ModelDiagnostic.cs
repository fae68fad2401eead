using System;
using System.Collections.Generic;

namespace QuantGen.Compiler.Diagnostics;

/// <summary>A diagnostic produced while compiling a model: plain data, equatable, so the generator can cache it.</summary>
public sealed record ModelDiagnostic(string Id, ModelDiagnosticSeverity Severity, string Message)
{
    public override string ToString() => $"{Id} ({Severity}): {Message}";
}

/// <summary>Thrown by passes for an error that stops compilation; carries one or more diagnostics.</summary>
public sealed class ModelCompileException : Exception
{
    public ModelCompileException(ModelDiagnostic diagnostic)
        : this(new[] { diagnostic })
    {
    }

    public ModelCompileException(IReadOnlyList<ModelDiagnostic> diagnostics)
        : base(diagnostics.Count > 0 ? diagnostics[0].Message : "model compilation failed")
    {
        Diagnostics = diagnostics;
    }

    public IReadOnlyList<ModelDiagnostic> Diagnostics { get; }
}
