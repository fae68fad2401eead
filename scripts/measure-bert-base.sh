#!/usr/bin/env bash
# Build scale of a transformer: a BERT-base-size encoder (12 layers, hidden 768, 110 M parameters, random weights,
# ~440 MB of FP32; scripts/make_bert_base.py) built through the packed package by a consumer project, as a user
# would: token inputs at Dimensions sequence=128, the weights in a manifest resource (Auto: the model is past 32 MB).
# For each precision: wall time, peak resident memory of the largest process of the build (the compiler runs in its
# own process: UseSharedCompilation=false) and of the whole build tree, CPU time, the assembly and weight resource sizes, then one run of the
# program: first Predict, the logits of the script's first sample, and the bytes allocated by 20 more calls.
# The issue's goal: under 3 minutes and 8 GB each on 2 cores.
#   scripts/measure-bert-base.sh [MODEL.onnx] [Int8|Float32 ...]
# MODEL defaults to artifacts/bert/bert_base.onnx (made when missing; needs Debian's python3-torch and python3-onnx;
# never commit it). Int8 uses MODEL's .calib.json (static INT8), made when missing by `quantgen calibrate` on the
# script's 16 token samples (ONNX Runtime runs them, ~20 s); CALIBRATE=0 leaves it out (dynamic INT8).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
model=${1:-$repo/artifacts/bert/bert_base.onnx}
shift || true
precisions=("$@")
[ ${#precisions[@]} -gt 0 ] || precisions=(Int8 Float32)
if [ ! -f "$model" ]; then
    mkdir -p "$(dirname "$model")"
    /usr/bin/python3 "$repo/scripts/make_bert_base.py" "$model"
fi
model=$(realpath "$model")
stem=${model%.onnx}
if [ "${CALIBRATE:-1}" != 0 ] && [ ! -f "$stem.calib.json" ]; then
    dotnet run -c Release --project "$repo/src/QuantGen.Cli" -- calibrate "$model" --data "input_ids=$stem.input_ids.npy" \
        --data "attention_mask=$stem.attention_mask.npy" --dim sequence=128
fi
# MEASURE_WORK=DIR keeps the consumer projects there (to rebuild or profile them); a temporary folder otherwise.
if [ -n "${MEASURE_WORK:-}" ]; then work=$MEASURE_WORK; rm -rf "$work"; mkdir -p "$work"
else work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "model:   $model ($(stat -c %s "$model") bytes)"
dotnet pack "$repo/nuget/QuantGen/QuantGen.csproj" -c Release -o "$work/feed" >/dev/null

for precision in "${precisions[@]}"; do
    app="$work/app-$precision"
    mkdir -p "$app/Models"
    ln -s "$model" "$app/Models/bert.onnx"
    calibration=""
    if [ "$precision" = Int8 ] && [ "${CALIBRATE:-1}" != 0 ] && [ -f "$stem.calib.json" ]; then
        cp "$stem.calib.json" "$app/Models/bert.calib.json"
        calibration="static, $(basename "$stem.calib.json")"
    elif [ "$precision" = Int8 ]; then
        calibration="dynamic (no calibration file)"
    fi
    cat > "$app/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources><add key="local" value="$work/feed" /></packageSources>
</configuration>
XML
    cat > "$app/app.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <RestorePackagesPath>$work/packages</RestorePackagesPath>
    <!-- QG0021 (dynamic INT8 without a calibration file) is a warning, not a failure -->
    <TreatWarningsAsErrors>false</TreatWarningsAsErrors>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="QuantGen" Version="0.1.0" />
    <AdditionalFiles Include="Models/bert.onnx" QuantGenPrecision="$precision" QuantGenDimensions="sequence=128" />
    <AdditionalFiles Include="Models/bert.calib.json" Condition="Exists('Models/bert.calib.json')" />
  </ItemGroup>
</Project>
XML
    cat > "$app/Program.cs" <<'CS'
using System;
// The first sample of make_bert_base.py: [CLS], 126 ids, [SEP], all real (its .input_ids.npy row 0 is read when given).
var ids = new long[Bert.Input_idsLength];
var mask = new long[Bert.Attention_maskLength];
if (args.Length > 0) ReadRow(args[0], ids); else for (int i = 0; i < ids.Length; i++) ids[i] = 1000 + (i * 7919) % 29000;
if (args.Length > 1) ReadRow(args[1], mask); else Array.Fill(mask, 1L);
var logits = new float[Bert.OutputLength];
var clock = System.Diagnostics.Stopwatch.StartNew();
Bert.Predict(ids, mask, logits);
Console.WriteLine($"first Predict: {clock.Elapsed.TotalMilliseconds:F0} ms");
Console.WriteLine($"logits:        [{logits[0]:R}, {logits[1]:R}]");
long before = GC.GetAllocatedBytesForCurrentThread();
clock.Restart();
for (int i = 0; i < 20; i++) Bert.Predict(ids, mask, logits);
Console.WriteLine($"20 more calls: {clock.Elapsed.TotalMilliseconds / 20:F1} ms each (JIT, not a benchmark), {GC.GetAllocatedBytesForCurrentThread() - before} bytes allocated");

// Row 0 of an int64 [N, 128] .npy file (version 1 header).
static void ReadRow(string path, long[] row)
{
    var bytes = System.IO.File.ReadAllBytes(path);
    int headerLength = BitConverter.ToUInt16(bytes, 8);
    for (int i = 0; i < row.Length; i++) row[i] = BitConverter.ToInt64(bytes, 10 + headerLength + 8 * i);
}

[QuantGen.OnnxModel("Models/bert.onnx", Precision = QuantGen.Precision.PRECISION, Dimensions = new[] { "sequence=128" })]
static partial class Bert;
CS
    sed -i "s/PRECISION/$precision/" "$app/Program.cs"
    cd "$app"
    dotnet restore >/dev/null
    echo "== $precision${calibration:+ ($calibration)}, load average before $(cut -d' ' -f1-3 /proc/loadavg)"
    /usr/bin/time -v dotnet build -c Release --no-restore -p:UseSharedCompilation=false -nodeReuse:false > build.log 2> time.log &
    build=$!
    # The whole build tree's resident memory (MSBuild, its task, csc, ...), summed every 0.5 s.
    tree_peak=0
    while kill -0 "$build" 2>/dev/null; do
        rss=$(ps -eo pid=,ppid=,rss= | awk -v root="$build" '{parent[$1]=$2; rss[$1]=$3} END {
            for (p in parent) { q=p; while (q in parent && q != root && q > 1) q=parent[q]; if (q == root) sum += rss[p] } print int(sum / 1024) }')
        [ "$rss" -gt "$tree_peak" ] && tree_peak=$rss
        sleep 0.5
    done
    wait "$build" || { tail -40 build.log; exit 1; }
    grep -E 'warning QG|QuantGen: the weights' build.log | sort -u | sed 's/^/  /' || true
    echo "build time:    $(grep 'Elapsed (wall clock)' time.log | awk '{print $NF}')"
    echo "peak memory:   $(( $(grep 'Maximum resident' time.log | awk '{print $NF}') / 1024 )) MB (largest process), $tree_peak MB (whole build tree, sampled every 0.5 s)"
    echo "cpu time:      $(grep 'User time' time.log | awk '{print $NF}') s user + $(grep 'System time' time.log | awk '{print $NF}') s system, load average after $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "assembly:      $(stat -c %s bin/Release/net10.0/app.dll) bytes"
    weights=$(ls obj/Release/net10.0/quantgen/Models/bert.onnx.weights 2>/dev/null || true)
    echo "weights:       $(if [ -n "$weights" ]; then echo "manifest resource, $(stat -c %s "$weights") bytes"; else echo "source literals"; fi)"
    args=()
    [ -f "$stem.input_ids.npy" ] && args=("$stem.input_ids.npy" "$stem.attention_mask.npy")
    dotnet bin/Release/net10.0/app.dll "${args[@]}"
    cd "$repo"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
