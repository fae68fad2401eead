namespace QuantGen.Compiler.Diagnostics;

public enum ModelDiagnosticSeverity { Info, Warning, Error }
