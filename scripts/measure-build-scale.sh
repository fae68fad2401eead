#!/usr/bin/env bash
# Build scale: a ~24 MB FP32 model (torchvision's MobileNetV2 at width 1.4, random weights) built through the packed
# package, in INT8 (the default) and in FP32, with scripts/measure-build.sh (wall time, peak memory of the build).
# The goal (docs/performance.md, "Build scale"): under 30 s and 4 GB each on 2 cores.
#   scripts/measure-build-scale.sh [MODEL.onnx]   (default /tmp/mobilenet_v2_w14.onnx, made when missing)
# Making the model needs Debian's python3-torch, python3-torchvision and python3-onnx; it is not committed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
model=${1:-/tmp/mobilenet_v2_w14.onnx}
if [ ! -f "$model" ]; then
    /usr/bin/python3 "$repo/samples/FashionMnist/train/make_mobilenet_v2.py" "$model" --width-mult 1.4
fi

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for precision in Int8 Float32; do
    echo "== $precision"
    "$repo/scripts/measure-build.sh" "$model" "$precision"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
