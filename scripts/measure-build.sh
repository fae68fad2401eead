#!/usr/bin/env bash
# Measures how long a consumer project takes to build a model through the packed QuantGen package,
# and the peak memory of the build (the compiler runs in-process: UseSharedCompilation=false).
#   scripts/measure-build.sh MODEL.onnx [Float32|Int8] [Auto|Resource|Literals]
# The third argument is where the weights go (QuantGenWeights; Auto: a manifest resource from 32 MB of model).
# Prints wall time, peak RSS, the assembly size, and runs one Predict.
set -euo pipefail
model=$(realpath "$1")
precision=${2:-Float32}
weights=${3:-Auto}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

dotnet pack "$repo/nuget/QuantGen/QuantGen.csproj" -c Release -o "$work/feed" >/dev/null
mkdir -p "$work/app/Models"
cp "$model" "$work/app/Models/model.onnx"
cat > "$work/app/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources><add key="local" value="$work/feed" /></packageSources>
</configuration>
XML
cat > "$work/app/app.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <RestorePackagesPath>$work/packages</RestorePackagesPath>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="QuantGen" Version="0.1.0" />
    <AdditionalFiles Include="Models/model.onnx" QuantGenWeights="$weights" QuantGenPrecision="$precision" />
  </ItemGroup>
</Project>
XML
cat > "$work/app/Program.cs" <<CS
using System;
using System.Linq;
var input = new float[Model.InputLength];
for (int i = 0; i < input.Length; i++) input[i] = (i % 17 - 8) * 0.125f;
var output = new float[Model.OutputLength];
var clock = System.Diagnostics.Stopwatch.StartNew();
Model.Predict(input, output);
Console.WriteLine(\$"first Predict: {clock.Elapsed.TotalMilliseconds:F0} ms");
// Exact output bits, so builds of the same model with other settings (literals, resource) can be compared.
Console.WriteLine(\$"output:       [{string.Join(", ", output[..Math.Min(4, output.Length)])}...], sum {output.Sum():R}");
[QuantGen.OnnxModel("Models/model.onnx", Precision = QuantGen.Precision.$precision)]
static partial class Model;
CS
cd "$work/app"
dotnet restore >/dev/null
/usr/bin/time -v dotnet build -c Release --no-restore -p:UseSharedCompilation=false -nodeReuse:false > build.log 2> time.log || { cat build.log; exit 1; }
echo "model:        $1 ($(stat -c %s "$model") bytes)"
echo "build time:   $(grep 'Elapsed (wall clock)' time.log | awk '{print $NF}')"
echo "peak memory:  $(( $(grep 'Maximum resident' time.log | awk '{print $NF}') / 1024 )) MB"
# CPU seconds of the build and its processes: moves less than wall time when other work shares the cores.
echo "cpu time:     $(grep 'User time' time.log | awk '{print $NF}') s user + $(grep 'System time' time.log | awk '{print $NF}') s system, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "assembly:     $(stat -c %s bin/Release/net10.0/app.dll) bytes"
echo "weights:      $(if ls obj/Release/net10.0/quantgen/Models/model.onnx.qgw >/dev/null 2>&1; then echo "manifest resource ($(grep sha256 obj/Release/net10.0/quantgen/Models/model.onnx.qgw))"; else echo "source literals"; fi)"
dotnet bin/Release/net10.0/app.dll
