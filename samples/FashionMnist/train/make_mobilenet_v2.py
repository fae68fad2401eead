#!/usr/bin/python3
"""Export torchvision's MobileNetV2 architecture, with random (seeded) weights, to ONNX.

    /usr/bin/python3 samples/FashionMnist/train/make_mobilenet_v2.py OUTPUT.onnx [--width-mult 1.4]

A larger, realistic graph for QuantGen's compiler and benchmarks (depthwise and
pointwise Conv, Clip as ReLU6, residual Add, GlobalAveragePool, Gemm), ~14 MB of
FP32 weights at the default width. `--width-mult 1.4` (torchvision's wider
variant, same graph shape) gives ~24 MB: the build-scale model of
docs/performance.md, measured with scripts/measure-build-scale.sh. Random weights: no download, and nothing here is meant to classify
anything; accuracy tests use the Fashion-MNIST model. The output is not committed.

Export: eval mode (BatchNorm folded into Conv by torch), opset 13, input "input"
float32 [1, 3, 224, 224] (static batch 1), output "logits" [1, 1000].

Expect Identity and Constant nodes: Clip's min/max arrive as Constant nodes, and
because freshly initialised BatchNorm has zero bias and mean, many folded Conv
biases are equal, so torch keeps one initializer and feeds the others through
Identity nodes.
"""
import argparse
import collections
import os
import time

import onnx
import torch
import torchvision
from onnx import numpy_helper

SEED = 20240601


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("output", help="path of the .onnx file to write")
    ap.add_argument("--width-mult", type=float, default=1.0,
                    help="channel multiplier of every layer (torchvision's width_mult); 1.4 gives ~24 MB")
    args = ap.parse_args()

    started = time.time()
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    model = torchvision.models.mobilenet_v2(weights=None, num_classes=1000,
                                          width_mult=args.width_mult).eval()
    params = sum(p.numel() for p in model.parameters())

    dummy = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(SEED))
    with torch.no_grad():
        torch.onnx.export(model, dummy, args.output, opset_version=13,
                          input_names=["input"], output_names=["logits"])

    m = onnx.load(args.output)
    onnx.checker.check_model(m, full_check=True)
    weight_bytes = sum(numpy_helper.to_array(t).nbytes for t in m.graph.initializer
                       if t.data_type == onnx.TensorProto.FLOAT)
    ops = collections.Counter(n.op_type for n in m.graph.node)
    print(f"wrote {args.output}: {os.path.getsize(args.output)} bytes, checker OK")
    print(f"torch parameters: {params} ({params * 4} bytes FP32, BatchNorm included)")
    print(f"FP32 weight bytes in the ONNX initializers (BatchNorm folded): {weight_bytes} "
          f"({weight_bytes / 2**20:.2f} MiB), {len(m.graph.initializer)} initializers")
    print(f"nodes: {len(m.graph.node)}, ops: {sorted(ops.items())}")
    print(f"time: {time.time() - started:.1f}s")


if __name__ == "__main__":
    main()
