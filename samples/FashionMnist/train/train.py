#!/usr/bin/python3
"""Train the sample's small CNN on Fashion-MNIST and export it to ONNX.

Run with Debian's Python and packages (python3-torch 1.13, python3-onnx,
dataset-fashion-mnist), from anywhere:

    /usr/bin/python3 samples/FashionMnist/train/train.py

(/usr/bin/python3 explicitly: a pyenv or venv python3 earlier on PATH does not
see Debian's dist-packages.)

Input contract of the exported models, which every caller must follow:
    input  "input":  float32 NCHW [batch, 1, 28, 28], pixel / 255, so values in [0, 1].
                     No mean/std normalization: raw idx bytes divided by 255, nothing else.
    output "logits": float32 [batch, 10], unnormalized scores (no softmax), class order
                     as in the idx labels (0 T-shirt/top ... 9 Ankle boot).

Writes, into samples/FashionMnist/Models/:
    fashion_cnn.onnx            default eval-mode export: BatchNorm folded into Conv by torch.
    fashion_cnn_bn.onnx         same weights, BatchNormalization kept as nodes (to exercise
                                QuantGen's own BN folding pass). See export_with_batchnorm().
    fashion_cnn.reference.json  torch FP32 top-1 on the 10,000 test images and on the first
                                1,000, and the logits of the first 8 test images.

Deterministic: fixed seeds, deterministic algorithms, 2 intra-op threads. Same
machine + same packages -> same weights; other CPUs may differ in the last bits.
"""
import argparse
import collections
import hashlib
import io
import json
import os
import random
import sys
import time

import numpy as np
import onnx
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import idx  # noqa: E402
import onnx_numpy  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.normpath(os.path.join(HERE, "..", "Models"))
SEED = 20240601
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


class FashionCnn(nn.Module):
    """1x28x28 -> conv3 pad1 8x28x28 -> pool 8x14x14 -> conv3 16x12x12 -> pool 16x6x6 -> 576 -> 64 -> 10."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 6 * 6, 64), nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(64, 10),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def load(data_dir, split):
    images = idx.read_images(os.path.join(data_dir, f"{split}-images-idx3-ubyte.gz"))
    labels = idx.read_labels(os.path.join(data_dir, f"{split}-labels-idx1-ubyte.gz"))
    if len(images) != len(labels):
        raise ValueError(f"{split}: {len(images)} images but {len(labels)} labels")
    # The one and only preprocessing step: pixel / 255. No mean/std normalization.
    x = torch.from_numpy(images.astype(np.float32) / np.float32(255.0)).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


@torch.no_grad()
def predict(model, x, batch=1000):
    model.eval()
    return torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)])


def top1(logits, labels):
    return float((np.asarray(logits).argmax(1) == np.asarray(labels)).mean())


def op_list(model):
    return list(collections.Counter(n.op_type for n in model.graph.node).items())


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def export_kwargs():
    return dict(opset_version=13, input_names=["input"], output_names=["logits"],
                dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})


def export_with_batchnorm(model, dummy, path):
    """Export with BatchNormalization left as nodes.

    do_constant_folding=False is not enough in torch 1.13: with training=EVAL (the
    default) torch.onnx.utils._model_to_graph runs _jit_pass_onnx_eval_peephole, which
    fuses Conv+BatchNorm whatever do_constant_folding says. That is shown below, then
    the export uses training=TrainingMode.PRESERVE (and do_constant_folding=False, which
    torch asks for with PRESERVE) on the model *in eval mode*: the
    peephole is skipped, and since the module is not training, BatchNorm exports in
    inference form (running mean/var, training_mode=0, one output) and Dropout is
    dropped, exactly as in the EVAL export. The check in main() then compares the
    file's output against torch.
    """
    buf = io.BytesIO()
    torch.onnx.export(model, dummy, buf, do_constant_folding=False, **export_kwargs())
    no_fold = onnx.load_from_string(buf.getvalue())
    print(f"  do_constant_folding=False ops: {op_list(no_fold)}")

    model.eval()
    torch.onnx.export(model, dummy, path, training=torch.onnx.TrainingMode.PRESERVE,
                      do_constant_folding=False, **export_kwargs())
    exported = onnx.load(path)
    bns = [n for n in exported.graph.node if n.op_type == "BatchNormalization"]
    if len(bns) != 2:
        raise RuntimeError(f"expected 2 BatchNormalization nodes in {path}, found {len(bns)}")
    for n in bns:
        training_mode = [a.i for a in n.attribute if a.name == "training_mode"]
        if training_mode not in ([], [0]) or len(n.output) != 1:
            raise RuntimeError(f"{n.name} exported in training form: {n}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist",
                    help="folder with the four Fashion-MNIST idx .gz files (apt-get install dataset-fashion-mnist)")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    args = ap.parse_args()

    started = time.time()
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(2)

    x_train, y_train = load(args.data_dir, "train")
    x_test, y_test = load(args.data_dir, "t10k")
    print(f"train {tuple(x_train.shape)}, test {tuple(x_test.shape)}, torch {torch.__version__}, onnx {onnx.__version__}")

    model = FashionCnn()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = (len(x_train) + args.batch_size - 1) // args.batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs,
                                                steps_per_epoch=steps_per_epoch)
    loss_fn = nn.CrossEntropyLoss()
    shuffle = torch.Generator().manual_seed(SEED)
    for epoch in range(args.epochs):
        t0 = time.time()
        model.train()
        order = torch.randperm(len(x_train), generator=shuffle)
        total = 0.0
        for i in range(0, len(x_train), args.batch_size):
            b = order[i:i + args.batch_size]
            opt.zero_grad()
            loss = loss_fn(model(x_train[b]), y_train[b])
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(b)
        acc = top1(predict(model, x_test).numpy(), y_test.numpy())
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total / len(x_train):.4f}, test top-1 {acc:.4f}, {time.time() - t0:.1f}s")

    model.eval()
    logits = predict(model, x_test).numpy()
    acc_full = top1(logits, y_test.numpy())
    acc_1000 = top1(logits[:1000], y_test.numpy()[:1000])
    print(f"torch FP32 top-1: {acc_full:.4f} (10,000 test images), {acc_1000:.4f} (first 1,000)")

    os.makedirs(MODELS, exist_ok=True)
    main_path = os.path.join(MODELS, "fashion_cnn.onnx")
    bn_path = os.path.join(MODELS, "fashion_cnn_bn.onnx")
    dummy = torch.zeros(1, 1, 28, 28)
    torch.onnx.export(model, dummy, main_path, **export_kwargs())
    print("exporting with BatchNormalization kept:")
    export_with_batchnorm(model, dummy, bn_path)

    # Check each file as stored: onnx checker, op list, and a NumPy run of its graph
    # on the first 1,000 test images compared with torch.
    checks = {}
    for path in (main_path, bn_path):
        m = onnx.load(path)
        onnx.checker.check_model(m, full_check=True)
        out = onnx_numpy.run(m, {"input": x_test[:1000].numpy()})["logits"]
        diff = float(np.abs(out - logits[:1000]).max())
        agree = float((out.argmax(1) == logits[:1000].argmax(1)).mean())
        name = os.path.basename(path)
        checks[name] = {"sha256": sha256(path), "bytes": os.path.getsize(path), "ops": op_list(m),
                        "numpy_top1_first_1000": top1(out, y_test.numpy()[:1000]),
                        "numpy_vs_torch_max_abs_logit_diff": diff,
                        "numpy_vs_torch_argmax_agreement": agree}
        print(f"{name}: {os.path.getsize(path)} bytes, checker OK, ops {op_list(m)}")
        print(f"  NumPy run of the graph vs torch, first 1,000: max |logit diff| {diff:.2e}, "
              f"argmax agreement {agree:.4f}, top-1 {checks[name]['numpy_top1_first_1000']:.4f}")
        if agree < 0.999 or diff > 1e-3:
            raise RuntimeError(f"{name} does not reproduce the torch model")

    reference = {
        "model": "fashion_cnn.onnx",
        "also_valid_for": "fashion_cnn_bn.onnx (same weights, BatchNorm not folded)",
        "input": "float32 NCHW [batch,1,28,28], pixel/255 in [0,1], no mean/std normalization",
        "output": "float32 [batch,10] logits, no softmax",
        "classes": CLASSES,
        "computed_by": f"torch {torch.__version__}, FP32, eval mode",
        "top1_test_10000": acc_full,
        "top1_test_first_1000": acc_1000,
        "first_8_test_labels": [int(v) for v in y_test[:8]],
        # %.9g round-trips a float32 exactly.
        "first_8_test_logits": [[float(f"{v:.9g}") for v in row] for row in logits[:8]],
        "files": checks,
    }
    ref_path = os.path.join(MODELS, "fashion_cnn.reference.json")
    with open(ref_path, "w") as f:
        json.dump(reference, f, indent=2)
        f.write("\n")
    print(f"wrote {ref_path}")
    print(f"total {time.time() - started:.1f}s")


if __name__ == "__main__":
    main()
