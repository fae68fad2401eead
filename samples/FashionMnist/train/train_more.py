#!/usr/bin/python3
"""Train three more sample models on Fashion-MNIST and export them to ONNX.

    /usr/bin/python3 samples/FashionMnist/train/train_more.py [mlp|resnet|qat|all] [--data-dir DIR]

Same packages, data, determinism and input contract as train.py (whose helpers this
reuses): input "input" float32 NCHW [batch, 1, 28, 28] = pixel / 255, no mean/std
normalization; output "logits" float32 [batch, 10]; opset 13, dynamic batch axis.

Writes, into samples/FashionMnist/Models/:
    fashion_mlp.onnx      Flatten -> Linear 784x256 -> ReLU -> Linear 256x128 -> ReLU -> Linear 128x10.
    fashion_resnet.onnx   small ResNet: stem Conv3x3 1->16 + BN + ReLU, three basic residual blocks
                          16 (stride 1, identity shortcut), 32 and 64 (stride 2, 1x1 stride-2
                          projection shortcut), GlobalAveragePool, Flatten, Linear 64x10.
                          Exported in eval mode: BatchNorm folded into Conv by torch.
    fashion_qat.onnx      the sample CNN of train.py (same architecture, retrained here with the
                          same recipe), BatchNorm folded, then quantization-aware fine-tuning with
                          torch.ao.quantization; exported with its fake quantizers as
                          QuantizeLinear/DequantizeLinear pairs. See train_qat().
    fashion_qat_int8_weights.onnx  the same QAT model as ONNX Runtime's quantizer would write it:
                          int8 weight initializers -> DequantizeLinear, scalar per-tensor scales,
                          no Identity nodes (int8_weight_form()); shares fashion_qat.reference.json.
    <name>.reference.json for each: torch top-1 on the 10,000 test images and on the first
                          1,000, logits of the first 8 test images, and for the file: SHA-256,
                          size, ops, and a NumPy run of its graph (onnx_numpy_ext.py) against torch.

Deterministic: each model re-seeds before it is built, deterministic algorithms, 2
intra-op threads; `all` and a single model give the same files. Same machine + same
packages -> same bytes.
"""
import argparse
import collections
import json
import os
import random
import sys
import time

import numpy as np
import onnx
import torch
import torch.ao.quantization as tq
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_numpy_ext  # noqa: E402
from train import (CLASSES, MODELS, SEED, FashionCnn, export_kwargs, load, op_list,  # noqa: E402
                   predict, sha256, top1)

INPUT_DOC = "float32 NCHW [batch,1,28,28], pixel/255 in [0,1], no mean/std normalization"
OUTPUT_DOC = "float32 [batch,10] logits, no softmax"


# ---------------------------------------------------------------------------- models

class FashionMlp(nn.Module):
    """[N,1,28,28] -> Flatten 784 -> 256 -> ReLU -> 128 -> ReLU -> 10."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(28 * 28, 256), nn.ReLU(),
            nn.Linear(256, 128), nn.ReLU(),
            nn.Linear(128, 10),
        )

    def forward(self, x):
        return self.net(x)


class BasicBlock(nn.Module):
    """conv3x3(stride) BN ReLU conv3x3 BN, + shortcut (identity, or conv1x1(stride) BN), ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        if stride == 1 and cin == cout:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + self.shortcut(x))


class FashionResNet(nn.Module):
    """1x28x28 -> stem 16x28x28 -> block 16x28x28 -> block 32x14x14 -> block 64x7x7 -> GAP 64 -> 10."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.blocks = nn.Sequential(BasicBlock(16, 16, 1), BasicBlock(16, 32, 2), BasicBlock(32, 64, 2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.blocks(self.stem(x))), 1))


class QuantWrapper(nn.Module):
    """QuantStub -> net -> DeQuantStub: where eager-mode quantization starts and stops."""

    def __init__(self, net):
        super().__init__()
        self.quant = tq.QuantStub()
        self.net = net
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        return self.dequant(self.net(self.quant(x)))


# ---------------------------------------------------------------------------- training

def seed_all():
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)


def fit(model, data, epochs, lr, batch_size=128, schedule="onecycle", before_epoch=None, evaluate=predict):
    """Adam, batch 128, shuffled by a generator seeded with SEED; one-cycle or constant lr.
    With schedule="onecycle" and the defaults this is exactly train.py's loop."""
    x_train, y_train, x_test, y_test = data
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = (len(x_train) + batch_size - 1) // batch_size
    sched = (torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=epochs, steps_per_epoch=steps_per_epoch)
             if schedule == "onecycle" else None)
    loss_fn = nn.CrossEntropyLoss()
    shuffle = torch.Generator().manual_seed(SEED)
    for epoch in range(epochs):
        if before_epoch:
            before_epoch(epoch)
        t0 = time.time()
        model.train()
        order = torch.randperm(len(x_train), generator=shuffle)
        total = 0.0
        for i in range(0, len(x_train), batch_size):
            b = order[i:i + batch_size]
            opt.zero_grad()
            loss = loss_fn(model(x_train[b]), y_train[b])
            loss.backward()
            opt.step()
            if sched:
                sched.step()
            total += loss.item() * len(b)
        acc = top1(evaluate(model, x_test).numpy(), y_test.numpy())
        print(f"  epoch {epoch + 1}/{epochs}: loss {total / len(x_train):.4f}, test top-1 {acc:.4f}, "
              f"{time.time() - t0:.1f}s", flush=True)
    model.eval()


# ---------------------------------------------------------------------------- export and checks

def check_file(path, logits, y_test, x_test, min_agreement, max_diff):
    """onnx checker, op list, and a NumPy run of the graph on the first 1,000 test images vs torch."""
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    dims = [d.dim_param or d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    if [i.name for i in m.graph.input] != ["input"] or [o.name for o in m.graph.output] != ["logits"] \
            or dims != ["batch", 1, 28, 28] or m.opset_import[0].version != 13:
        raise RuntimeError(f"{path}: unexpected interface {m.graph.input} {m.graph.output} {m.opset_import}")
    out = onnx_numpy_ext.run(m, {"input": x_test[:1000].numpy()})["logits"]
    diff = float(np.abs(out - logits[:1000]).max())
    agree = float((out.argmax(1) == logits[:1000].argmax(1)).mean())
    name = os.path.basename(path)
    check = {"sha256": sha256(path), "bytes": os.path.getsize(path), "ops": op_list(m),
             "numpy_top1_first_1000": top1(out, y_test.numpy()[:1000]),
             "numpy_vs_torch_max_abs_logit_diff": diff,
             "numpy_vs_torch_argmax_agreement": agree}
    print(f"{name}: {check['bytes']} bytes, checker OK, ops {check['ops']}")
    print(f"  NumPy run of the graph vs torch, first 1,000: max |logit diff| {diff:.2e}, "
          f"argmax agreement {agree:.4f}, top-1 {check['numpy_top1_first_1000']:.4f}")
    if agree < min_agreement or diff > max_diff:
        raise RuntimeError(f"{name} does not reproduce the torch model")
    return m, out, check


def reference(name, architecture, training, computed_by, logits, y_test, files, **extra):
    ref = {
        "model": name,
        "architecture": architecture,
        "input": INPUT_DOC,
        "output": OUTPUT_DOC,
        "classes": CLASSES,
        "training": training,
        "computed_by": computed_by,
        "top1_test_10000": top1(logits, y_test.numpy()),
        "top1_test_first_1000": top1(logits[:1000], y_test.numpy()[:1000]),
        "first_8_test_labels": [int(v) for v in y_test[:8]],
        # %.9g round-trips a float32 exactly.
        "first_8_test_logits": [[float(f"{v:.9g}") for v in row] for row in logits[:8]],
    }
    ref.update(extra)
    ref["files"] = files
    path = os.path.join(MODELS, name.replace(".onnx", ".reference.json"))
    with open(path, "w") as f:
        json.dump(ref, f, indent=2)
        f.write("\n")
    print(f"torch top-1: {ref['top1_test_10000']:.4f} (10,000 test images), "
          f"{ref['top1_test_first_1000']:.4f} (first 1,000); wrote {path}")
    return ref


def train_float(name, make, architecture, data, epochs, lr):
    seed_all()
    model = make()
    params = sum(p.numel() for p in model.parameters())
    print(f"{name}: {params} parameters, {epochs} epochs, Adam one-cycle max lr {lr}, batch 128")
    fit(model, data, epochs, lr)
    x_test, y_test = data[2], data[3]
    logits = predict(model, x_test).numpy()
    path = os.path.join(MODELS, name)
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, **export_kwargs())
    _, _, check = check_file(path, logits, y_test, x_test, min_agreement=0.999, max_diff=1e-3)
    training = {"epochs": epochs, "optimizer": "Adam", "schedule": f"one-cycle, max lr {lr}", "batch": 128,
                "seed": SEED, "parameters": params}
    reference(name, architecture, training, f"torch {torch.__version__}, FP32, eval mode", logits, y_test,
              {name: check})


def train_mlp(data, epochs):
    train_float("fashion_mlp.onnx", FashionMlp,
                "Flatten -> Gemm 784x256 -> Relu -> Gemm 256x128 -> Relu -> Gemm 128x10", data, epochs or 10, 1e-3)


def train_resnet(data, epochs):
    train_float("fashion_resnet.onnx", FashionResNet,
                "stem Conv3x3 1->16 (BN folded) + Relu; 3 basic blocks [Conv3x3, Relu, Conv3x3, + shortcut, Add, "
                "Relu]: 16 stride 1 identity shortcut, 32 and 64 stride 2 with Conv1x1 stride-2 projection "
                "shortcut; GlobalAveragePool, Flatten, Gemm 64x10", data, epochs or 6, 3e-3)


# ---------------------------------------------------------------------------- QAT

def qat_qconfig():
    """Weights: int8 symmetric per output channel in [-127, 127] (zero point 0).
    Activations: uint8 asymmetric per tensor in [0, 255] (no reduce_range).
    Plain FakeQuantize modules (not the fused FusedMovingAvgObsFakeQuantize of the default
    QAT qconfig, which has no ONNX export)."""
    act = tq.FakeQuantize.with_args(observer=tq.MovingAverageMinMaxObserver, quant_min=0, quant_max=255,
                                    dtype=torch.quint8, qscheme=torch.per_tensor_affine, reduce_range=False)
    weight = tq.FakeQuantize.with_args(observer=tq.MovingAveragePerChannelMinMaxObserver, quant_min=-127,
                                       quant_max=127, dtype=torch.qint8, qscheme=torch.per_channel_symmetric,
                                       ch_axis=0, reduce_range=False)
    return tq.QConfig(activation=act, weight=weight)


def weight_fake_quants(model):
    return [m for m in model.modules() if isinstance(m, tq.FakeQuantize) and m.is_per_channel]


def act_fake_quants(model):
    return [m for m in model.modules() if isinstance(m, tq.FakeQuantize) and not m.is_per_channel]


def predict_frozen(model, x):
    """predict() with every observer off, so evaluating on test images never moves a scale."""
    fqs = [m for m in model.modules() if isinstance(m, tq.FakeQuantize)]
    states = [int(fq.observer_enabled[0]) for fq in fqs]
    model.apply(tq.disable_observer)
    try:
        return predict(model, x)
    finally:
        for fq, on in zip(fqs, states):
            fq.observer_enabled[0] = on


def int8_weight_form(model):
    """Rewrite torch's QDQ export (float weight -> QuantizeLinear -> DequantizeLinear) into the
    form ONNX Runtime's quantize_static writes: the weight stored as an int8 initializer (as
    QuantizeLinear would compute it) feeding DequantizeLinear directly; 1-element scales and
    zero points as scalars; Identity nodes (torch's shared constants) bypassed."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in g.initializer}
    alias = {n.output[0]: n.input[0] for n in g.node if n.op_type == "Identity"}

    def resolve(name):
        while name in alias:
            name = alias[name]
        return name

    quantized = {}  # QuantizeLinear output -> new int8 initializer
    nodes = []
    for n in g.node:
        if n.op_type == "Identity":
            continue
        n.input[:] = [resolve(i) for i in n.input]
        if n.op_type == "QuantizeLinear" and n.input[0] in inits:
            axis = next((a.i for a in n.attribute if a.name == "axis"), 1)
            q = onnx_numpy_ext.quantize_linear(inits[n.input[0]], inits[n.input[1]], inits[n.input[2]], axis)
            quantized[n.output[0]] = n.input[0] + "_quantized"
            inits[n.input[0] + "_quantized"] = q
            continue
        n.input[:] = [quantized.get(i, i) for i in n.input]
        nodes.append(n)
    del g.node[:]
    g.node.extend(nodes)
    used = {i for n in g.node for i in n.input}
    qparams = {i for n in g.node if n.op_type in ("QuantizeLinear", "DequantizeLinear") for i in n.input[1:]}
    order = [t.name for t in g.initializer] + list(quantized.values())
    del g.initializer[:]
    for name in order:
        if name in used:
            v = inits[name]
            g.initializer.append(onnx.numpy_helper.from_array(
                v.reshape(()) if name in qparams and v.size == 1 else v, name))
    return m


def train_qat(data, epochs):
    """Float CNN (train.py's recipe) -> fold BN -> prepare_qat -> fine-tune -> export Q/DQ.

    1. Train train.py's FashionCnn with train.py's exact recipe (10 epochs, same seeds): the
       float weights are those of the committed fashion_cnn.onnx (checked against its
       reference.json, reported, not required).
    2. fuse_modules in eval mode: Conv+BN+ReLU -> ConvReLU2d with BN folded into the weights,
       Linear+ReLU -> LinearReLU. Folding before QAT keeps the exported graph a plain
       Conv -> Relu (torch's QAT ConvBn modules would export Conv, Div, Add, BatchNormalization).
    3. QuantStub/DeQuantStub around it, qconfig above, prepare_qat. Observers calibrated on
       2,048 training images; fake-quant accuracy measured there (post-training quantization).
    4. Fine-tune: Adam, constant lr, observers on; in the last epoch activation observers are
       frozen (weights still observed). Then weight scales are recomputed from the final
       weights (so no weight is clipped: max |w| of each channel maps to 127 exactly) and all
       observers are disabled: scales frozen.
    5. Export in eval mode. torch 1.13's exporter only accepts (quant_min, quant_max) of
       (-128, 127), (0, 255) or (0, 127), so the weight quantizers' quant_min is set from -127
       to -128 just for the export. With the scales of step 4 no weight rounds below -127, so
       this changes nothing: asserted on the quantized weights and on the logits.
    """
    x_train, y_train, x_test, y_test = data
    ft_epochs, ft_lr = epochs or 3, 1e-4

    seed_all()
    print("qat: float FashionCnn with train.py's recipe (10 epochs, Adam one-cycle 2e-3)")
    net = FashionCnn()
    fit(net, data, 10, 2e-3)
    float_logits = predict(net, x_test).numpy()
    float_acc = top1(float_logits, y_test.numpy())
    with open(os.path.join(MODELS, "fashion_cnn.reference.json")) as f:
        cnn_ref = json.load(f)
    same = bool(np.allclose(float_logits[:8], np.array(cnn_ref["first_8_test_logits"]), rtol=0, atol=1e-5))
    print(f"  float top-1 {float_acc:.4f}; same weights as fashion_cnn.onnx (first 8 logits within 1e-5): {same}")

    net = tq.fuse_modules(net.eval(), [["features.0", "features.1", "features.2"],
                                       ["features.4", "features.5", "features.6"],
                                       ["classifier.1", "classifier.2"]])
    model = QuantWrapper(net)
    model.qconfig = qat_qconfig()
    model.train()
    tq.prepare_qat(model, inplace=True)

    with torch.no_grad():  # observers see 2,048 training images (eval: no dropout)
        model.eval()
        for i in range(0, 2048, 256):
            model(x_train[i:i + 256])
    ptq_acc = top1(predict_frozen(model, x_test).numpy(), y_test.numpy())
    print(f"  fake-quant before fine-tuning (observers calibrated on 2,048 training images): top-1 {ptq_acc:.4f}")

    def before_epoch(epoch):
        if epoch == ft_epochs - 1:
            for fq in act_fake_quants(model):
                fq.disable_observer()

    print(f"  QAT fine-tuning: {ft_epochs} epochs, Adam constant lr {ft_lr}")
    fit(model, data, ft_epochs, ft_lr, schedule="constant", before_epoch=before_epoch, evaluate=predict_frozen)

    # Scales from the final weights, then freeze everything.
    with torch.no_grad():
        for mod in model.modules():
            if hasattr(mod, "weight_fake_quant"):
                fq = mod.weight_fake_quant
                fq.activation_post_process.reset_min_max_vals()
                fq.enable_observer()
                fq(mod.weight)
    model.apply(tq.disable_observer)
    model.eval()
    logits = predict(model, x_test).numpy()

    # Widen the weight quantizers' quant_min to -128 for the exporter; prove it is a no-op.
    with torch.no_grad():
        for mod in model.modules():
            if hasattr(mod, "weight_fake_quant"):
                fq = mod.weight_fake_quant
                s = fq.scale.reshape(-1, *([1] * (mod.weight.dim() - 1)))
                q = torch.round(mod.weight * (1.0 / s))
                if q.abs().max() > 127 or fq.zero_point.abs().max() != 0:
                    raise RuntimeError("a weight quantizes outside [-127, 127] or has a nonzero zero point")
    for fq in weight_fake_quants(model):
        fq.activation_post_process.quant_min = -128
    if not np.array_equal(predict(model, x_test).numpy(), logits):
        raise RuntimeError("widening quant_min to -128 changed the logits")

    name = "fashion_qat.onnx"
    path = os.path.join(MODELS, name)
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, **export_kwargs())
    for fq in weight_fake_quants(model):
        fq.activation_post_process.quant_min = -127
    m, out, check = check_file(path, logits, y_test, x_test, min_agreement=0.99, max_diff=1.0)
    out_scale = float(onnx.numpy_helper.to_array(
        next(t for t in m.graph.initializer if t.name == m.graph.node[-1].input[1])).reshape(-1)[0])
    differing = np.abs(out - logits[:1000]) > 1e-4 * out_scale
    steps = sorted({int(v) for v in np.rint(np.abs(out - logits[:1000])[differing] / out_scale)})
    check["numpy_vs_torch_logits_differing"] = (
        f"{int(differing.sum())} of {differing.size} logits, by {steps} output quantization steps of {out_scale:.6g} "
        "(tensors rounded at a .5 tie differently: float64 vs float32 accumulation, x/scale vs x*(1/scale)); "
        "the others agree within float32 rounding")
    print(f"  {check['numpy_vs_torch_logits_differing']}")

    # The same model in the form ONNX Runtime's quantizer writes: int8 weight initializers
    # feeding DequantizeLinear (no QuantizeLinear on weights), scalar per-tensor scales and
    # zero points, no Identity nodes. Must compute exactly what fashion_qat.onnx computes.
    name_w = "fashion_qat_int8_weights.onnx"
    path_w = os.path.join(MODELS, name_w)
    onnx.save(int8_weight_form(m), path_w)
    m_w, out_w, check_w = check_file(path_w, logits, y_test, x_test, min_agreement=0.99, max_diff=1.0)
    if not np.array_equal(out_w, out):
        raise RuntimeError(f"{name_w} does not compute what {name} computes")
    print(f"  {name_w}: NumPy output identical to {name}'s")
    check_w["numpy_output_identical_to"] = name

    rows = onnx_numpy_ext.qdq_summary(m)
    counts = collections.Counter(f"{r['op']} {r['of']} {r['granularity'].split('(')[0]} {r['zero_point_dtype']}"
                                 for r in rows)
    print("  Q/DQ nodes:", dict(sorted(counts.items())))
    for r in rows:
        if r["op"] == "QuantizeLinear":
            print(f"    {r['of']:10s} {r['input']:40s} {r['granularity']:22s} zp {r['zero_point_dtype']} "
                  f"{r['zero_points']} scale {r['scale']}")
    # Exactly one Q/DQ pair per quantizer, weights int8 symmetric per channel, activations uint8 per tensor.
    n_w, n_a = len(weight_fake_quants(model)), len(act_fake_quants(model))
    for r in rows:
        ok = (r["of"] == "weight" and r["granularity"] == "per_axis(axis=0)" and r["zero_point_dtype"] == "INT8"
              and r["zero_points"] == [0]) or \
             (r["of"] == "activation" and r["granularity"] == "per_tensor" and r["zero_point_dtype"] == "UINT8")
        if not ok:
            raise RuntimeError(f"unexpected Q/DQ node {r}")
    if len(rows) != 2 * (n_w + n_a):
        raise RuntimeError(f"{len(rows)} Q/DQ nodes for {n_w} weight and {n_a} activation quantizers")
    # Integer weights as the exported QuantizeLinear (ONNX spec, x / scale) computes them.
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in m.graph.initializer}
    qrange = [int(v) for v in (
        min(onnx_numpy_ext.quantize_linear(inits[n.input[0]], inits[n.input[1]], np.zeros(1, np.int8), 0).min()
            for n in m.graph.node if n.op_type == "QuantizeLinear" and n.input[0] in inits),
        max(onnx_numpy_ext.quantize_linear(inits[n.input[0]], inits[n.input[1]], np.zeros(1, np.int8), 0).max()
            for n in m.graph.node if n.op_type == "QuantizeLinear" and n.input[0] in inits))]
    print(f"  quantized weights span [{qrange[0]}, {qrange[1]}]")

    training = {"float": "train.py's FashionCnn recipe: 10 epochs Adam one-cycle max lr 0.002, batch 128",
                "float_weights_equal_fashion_cnn_onnx": same,
                "bn": "folded into Conv before QAT (torch.ao.quantization.fuse_modules, eval mode)",
                "qat": f"prepare_qat, observers calibrated on 2,048 training images, then {ft_epochs} epochs Adam "
                       f"constant lr {ft_lr}, batch 128; activation observers frozen for the last epoch; weight "
                       f"scales recomputed from the final weights; all observers disabled for export",
                "seed": SEED}
    quantization = {
        "format": "QDQ as exported by torch 1.13 from FakeQuantize: float weight initializer -> QuantizeLinear "
                  "-> DequantizeLinear; activation -> QuantizeLinear -> DequantizeLinear. Per-tensor scales are "
                  "1-element 1-D tensors (shape [1]), not scalars. Equal zero-point constants are shared through "
                  "Identity nodes.",
        "weights": "int8, symmetric, per output channel (axis 0), zero point 0, values in "
                   f"[{qrange[0]}, {qrange[1]}] (trained with quant range [-127, 127]; the exporter only writes "
                   "[-128, 127], which no weight reaches)",
        "activations": "uint8, asymmetric, per tensor, [0, 255]",
        "bias": "float32, not quantized",
        "node_counts": dict(sorted(counts.items())),
        "nodes": rows,
    }
    reference(name, "QuantStub -> Conv3x3 pad 1 (1->8, BN folded) -> Relu -> MaxPool 2 -> Conv3x3 (8->16, BN "
                    "folded) -> Relu -> MaxPool 2 -> Flatten 576 -> Gemm 64 -> Relu -> Gemm 10; every weight "
                    "and the input, each Relu output and the logits fake-quantized (QuantizeLinear/"
                    "DequantizeLinear)",
              training, f"torch {torch.__version__}, fake quantization (QAT model in eval mode, observers disabled)",
              logits, y_test, {name: check, name_w: check_w},
              also_valid_for=f"{name_w} (same model: int8 weight initializers -> DequantizeLinear, scalar "
                             "per-tensor scales, no Identity nodes)",
              float_model_top1_test_10000=float_acc,
              fake_quant_before_finetune_top1_test_10000=ptq_acc,
              quantization=quantization)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("which", nargs="?", default="all", choices=["mlp", "resnet", "qat", "all"])
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist",
                    help="folder with the four Fashion-MNIST idx .gz files (apt-get install dataset-fashion-mnist)")
    ap.add_argument("--epochs", type=int, default=None,
                    help="override the epoch count (for QAT: the fine-tuning epochs); for trying things out")
    args = ap.parse_args()

    started = time.time()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(2)
    x_train, y_train = load(args.data_dir, "train")
    x_test, y_test = load(args.data_dir, "t10k")
    data = (x_train, y_train, x_test, y_test)
    print(f"train {tuple(x_train.shape)}, test {tuple(x_test.shape)}, torch {torch.__version__}, onnx {onnx.__version__}")
    os.makedirs(MODELS, exist_ok=True)
    for which, fn in (("mlp", train_mlp), ("resnet", train_resnet), ("qat", train_qat)):
        if args.which in (which, "all"):
            t0 = time.time()
            fn(data, args.epochs)
            print(f"{which}: {time.time() - t0:.1f}s\n", flush=True)
    print(f"total {time.time() - started:.1f}s")


if __name__ == "__main__":
    main()
