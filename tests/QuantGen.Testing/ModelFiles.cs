using System.Collections.Generic;
using QuantGen.Compiler.Transport;

namespace QuantGen.Testing;

/// <summary>Builds the AdditionalFile the package's build targets would hand the generator for a model.</summary>
public static class ModelFiles
{
    public static InMemoryAdditionalText Transport(byte[] model, string projectRelativePath = "Models/model.onnx", IReadOnlyList<KeyValuePair<string, byte[]>>? externalFiles = null)
    {
        string fullPath = "/project/" + projectRelativePath;
        var payload = new ModelTextFormat.Payload(projectRelativePath, fullPath, model, externalFiles ?? new List<KeyValuePair<string, byte[]>>());
        return new InMemoryAdditionalText("/project/obj/quantgen/" + projectRelativePath + ModelTextFormat.Extension, ModelTextFormat.Write(payload));
    }

    /// <summary>The repository root (the folder holding QuantGen.sln), found from the test's output folder.</summary>
    public static string RepoRoot
    {
        get
        {
            var dir = new System.IO.DirectoryInfo(System.AppContext.BaseDirectory);
            while (dir != null && !System.IO.File.Exists(System.IO.Path.Combine(dir.FullName, "QuantGen.sln")))
                dir = dir.Parent;
            return dir?.FullName ?? throw new System.InvalidOperationException("QuantGen.sln not found above " + System.AppContext.BaseDirectory);
        }
    }
}
