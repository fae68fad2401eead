#!/usr/bin/env bash
# Start-up and size: the QuantGen sample published with NativeAOT against ONNX Runtime doing the same work
# (tests/QuantGen.StartupPeer), both for linux-x64. Each loads the first Fashion-MNIST test image, predicts it once
# (QuantGen INT8 / ORT FP32 on fashion_cnn.onnx) and prints the class; the time is process start to exit.
#   scripts/measure-startup.sh [RUNS]     (default 30 runs after 3 warm-up runs, with hyperfine when installed)
# Also times both programs built framework-dependent and run by the JIT (`dotnet X.dll`), for comparison.
# Prints one table; the figures and the machine they were taken on are in docs/performance.md.
set -euo pipefail
runs=${1:-30}
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

sample_dir=samples/FashionMnist/bin/Release/net10.0/linux-x64
peer_dir=tests/QuantGen.StartupPeer/bin/Release/net10.0/linux-x64

# Both projects set PublishAot in their project files (the sample must: see its .csproj). Warnings are errors
# (Directory.Build.props), and the logs are checked too, so a trim or AOT warning stops the script.
publish() {
    local project=$1 log
    log=$(mktemp)
    local started=$SECONDS
    if ! dotnet publish "$project" -c Release -nodeReuse:false >"$log" 2>&1; then cat "$log"; exit 1; fi
    if grep -E "warning (IL|NETSDK|CS)" "$log"; then echo "publish of $project warned (above)"; exit 1; fi
    echo "published $project in $((SECONDS - started)) s"
    rm -f "$log"
}
publish samples/FashionMnist
publish tests/QuantGen.StartupPeer
# The same programs built framework-dependent (no RID: bin/Release/net10.0/X.dll), run by the JIT, for comparison.
dotnet build samples/FashionMnist -c Release -nodeReuse:false >/dev/null
dotnet build tests/QuantGen.StartupPeer -c Release -nodeReuse:false >/dev/null

# What a deployment needs: the publish folder without the debug symbols (*.dbg) and without the test images
# (Data/, the same slice for both). ORT's folder keeps its native libraries and the .onnx file it loads.
deployed_bytes() { find "$1" -type f ! -name '*.dbg' ! -path '*/Data/*' -printf '%s\n' | awk '{s+=$1} END {print s}'; }
mb() { awk -v b="$1" 'BEGIN {printf "%.1f MB", b / 1e6}'; }

# Mean and standard deviation in ms of RUNS runs of a command line (after 3 warm-up runs).
time_runs() {
    if command -v hyperfine >/dev/null; then
        local json
        json=$(mktemp)
        # hyperfine's outlier warnings would land in the table: its stderr is shown only when it fails.
        hyperfine -N --warmup 3 --runs "$runs" --export-json "$json" "$*" >/dev/null 2>"$json.err" || { cat "$json.err" >&2; return 1; }
        /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.1f +- %.1f ms (min %.1f)" % (r["mean"]*1e3, r["stddev"]*1e3, r["min"]*1e3))' "$json"
        rm -f "$json" "$json.err"
    else
        # Fallback without hyperfine: wall time per run from date's nanoseconds (includes bash's fork+exec).
        local i t0 t1
        for i in 1 2 3; do "$@" >/dev/null; done
        for ((i = 0; i < runs; i++)); do
            t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N)
            echo $(((t1 - t0) / 1000))
        done | awk '{s+=$1; q+=$1*$1; n++} END {m=s/n; printf "%.1f +- %.1f ms (date, no hyperfine)\n", m/1e3, sqrt(q/n-m*m)/1e3}'
    fi
}

# Each must predict the image's label (exit code 0) before it is timed.
"$sample_dir/publish/FashionMnist" --first-prediction
"$peer_dir/publish/QuantGen.StartupPeer"

echo
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "dotnet $(dotnet --version), $runs runs each after 3 warm-up runs"
printf '| %-38s | %12s | %16s | %32s |\n' "app" "executable" "deployed files" "start to first result"
printf '|%s|%s|%s|%s|\n' "----------------------------------------" "-------------:" "-----------------:" "---------------------------------:"
row() { printf '| %-38s | %12s | %16s | %32s |\n' "$1" "$2" "$3" "$4"; }
row "QuantGen INT8, NativeAOT" "$(mb "$(stat -c %s "$sample_dir/publish/FashionMnist")")" "$(mb "$(deployed_bytes "$sample_dir/publish")")" \
    "$(time_runs "$sample_dir/publish/FashionMnist" --first-prediction)"
row "ONNX Runtime FP32, NativeAOT" "$(mb "$(stat -c %s "$peer_dir/publish/QuantGen.StartupPeer")")" "$(mb "$(deployed_bytes "$peer_dir/publish")")" \
    "$(time_runs "$peer_dir/publish/QuantGen.StartupPeer")"
# Framework-dependent builds on the shared runtime: no size to compare, the start-up is the JIT's.
row "QuantGen INT8, JIT (dotnet X.dll)" "-" "-" "$(time_runs dotnet samples/FashionMnist/bin/Release/net10.0/FashionMnist.dll --first-prediction)"
row "ONNX Runtime FP32, JIT (dotnet X.dll)" "-" "-" "$(time_runs dotnet tests/QuantGen.StartupPeer/bin/Release/net10.0/QuantGen.StartupPeer.dll)"
