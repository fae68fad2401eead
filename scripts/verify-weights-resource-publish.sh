#!/usr/bin/env bash
# Publishes a consumer whose weights take the manifest-resource path (QuantGenWeights=Resource) with NativeAOT and,
# separately, trimmed (PublishTrimmed, self-contained), through the packed package, and runs both: the resource must
# survive trimming and ILC, GetManifestResourceStream must still hand back memory in the image (the generated code
# throws NotSupportedException otherwise), the output must equal the plain build's, and Predict must allocate nothing.
# Fails on any IL/trim/AOT warning.
#   scripts/verify-weights-resource-publish.sh [MODEL.onnx] [Float32|Int8]   (default: the package tests' tiny.onnx)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
model=$(realpath "${1:-$repo/tests/QuantGen.Package.Tests/Models/tiny.onnx}")
precision=${2:-Float32}
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
    <RuntimeIdentifier>linux-x64</RuntimeIdentifier>
    <RestorePackagesPath>$work/packages</RestorePackagesPath>
    <PublishAot Condition="'\$(Mode)' == 'aot'">true</PublishAot>
    <!-- The JIT uses this machine's ISA (AVX2, FMA...); NativeAOT targets a baseline unless told, and FP32 kernels
         with and without FMA round differently. Same ISA, so the outputs can be compared bit for bit. -->
    <IlcInstructionSet Condition="'\$(Mode)' == 'aot'">native</IlcInstructionSet>
    <PublishTrimmed Condition="'\$(Mode)' == 'trimmed'">true</PublishTrimmed>
    <SelfContained Condition="'\$(Mode)' == 'trimmed'">true</SelfContained>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="QuantGen" Version="0.1.0" />
    <AdditionalFiles Include="Models/model.onnx" QuantGenWeights="Resource" QuantGenPrecision="$precision" />
  </ItemGroup>
</Project>
XML
cat > "$work/app/Program.cs" <<CS
using System;
using System.Linq;
var input = new float[Model.InputLength];
for (int i = 0; i < input.Length; i++) input[i] = (i % 17 - 8) * 0.125f;
var output = new float[Model.OutputLength];
Model.Predict(input, output);
for (int i = 0; i < 200; i++) Model.Predict(input, output); // past tiering's call counting
long before = GC.GetAllocatedBytesForCurrentThread();
for (int i = 0; i < 100; i++) Model.Predict(input, output);
long allocated = GC.GetAllocatedBytesForCurrentThread() - before; // read before the string below allocates
Console.WriteLine(\$"allocated in 100 calls: {allocated} bytes");
Console.WriteLine(\$"output: [{string.Join(", ", output[..Math.Min(4, output.Length)])}...], sum {output.Sum():R}");
[QuantGen.OnnxModel("Models/model.onnx", Precision = QuantGen.Precision.$precision)]
static partial class Model;
CS
cd "$work/app"
for mode in plain trimmed aot; do
    started=$SECONDS
    dotnet restore -p:Mode=$mode >/dev/null
    if ! dotnet publish -c Release --no-restore -p:Mode=$mode -o "out-$mode" -nodeReuse:false > "publish-$mode.log" 2>&1; then
        cat "publish-$mode.log"; exit 1
    fi
    if grep -E "warning (IL|NETSDK|CS)" "publish-$mode.log"; then echo "$mode publish warned (above)"; exit 1; fi
    size=$(stat -c %s "out-$mode/app")
    echo "== $mode: published in $((SECONDS - started)) s, executable $size bytes$( [ -f out-$mode/app.dll ] && echo ", app.dll $(stat -c %s out-$mode/app.dll) bytes")"
    "out-$mode/app" | tee "run-$mode.txt"
done
grep output: run-plain.txt > a; grep output: run-trimmed.txt > b; grep output: run-aot.txt > c
cmp -s a b && cmp -s a c && echo "outputs identical across plain, trimmed and NativeAOT" || { echo "outputs differ"; exit 1; }
