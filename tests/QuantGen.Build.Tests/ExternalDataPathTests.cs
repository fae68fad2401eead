using System.IO;
using Xunit;

namespace QuantGen.Build.Tests;

public class ExternalDataPathTests
{
    private static readonly string ModelDirectory = Path.Combine(Path.GetTempPath(), "quantgen-tests", "model");

    [Theory]
    [InlineData("weights.bin", "weights.bin")]
    [InlineData("data/weights.bin", "data/weights.bin")]
    [InlineData("./weights.bin", "weights.bin")]
    [InlineData("data\\weights.bin", "data/weights.bin")]
    [InlineData("data//weights.bin", "data/weights.bin")]
    public void Accepts_files_in_the_model_folder_and_below(string location, string expectedRelative)
    {
        Assert.True(ExternalDataPath.TryResolve(ModelDirectory, location, out string fullPath));
        Assert.Equal(Path.GetFullPath(Path.Combine(ModelDirectory, expectedRelative)), fullPath);
    }

    [Theory]
    [InlineData("../weights.bin")]
    [InlineData("data/../../weights.bin")]
    [InlineData("data/../weights.bin")]          // stays inside, but '..' is refused outright
    [InlineData("..\\weights.bin")]
    [InlineData("/etc/passwd")]
    [InlineData("\\\\server\\share\\weights.bin")]
    [InlineData("C:\\weights.bin")]
    [InlineData("C:weights.bin")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(".")]
    [InlineData("./")]
    [InlineData("weights\n#end")]               // would break the line-based .qgm format
    [InlineData("weights\0.bin")]
    public void Refuses_anything_that_could_leave_the_model_folder(string location)
    {
        Assert.False(ExternalDataPath.TryResolve(ModelDirectory, location, out _));
    }

    [Fact]
    public void Key_is_the_location_with_forward_slashes()
    {
        Assert.Equal("data/weights.bin", ExternalDataPath.Key("data\\weights.bin"));
        Assert.Equal("./w.bin", ExternalDataPath.Key("./w.bin"));
    }
}
