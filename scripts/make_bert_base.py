#!/usr/bin/python3
"""Export a BERT-base-size encoder with random (seeded) weights to ONNX, written like a Hugging Face export.

    /usr/bin/python3 scripts/make_bert_base.py OUTPUT.onnx [--layers 12] [--calib-samples 16]

The build-scale and latency model of docs/performance.md ("BERT-base-size encoder"), measured with
scripts/measure-bert-base.sh. 12 layers, hidden 768, 12 heads, FFN 3072, vocabulary 30522, 512
positions, 2 token types, a pooler (tanh on the [CLS] row) and a 2-class classifier: 109.5 M
parameters, ~438 MB of FP32 weights. Random weights: no download, no transformers library, nothing
here is meant to classify anything. The output is not committed (it is ~440 MB).

The module follows transformers' BertModel (v4) closely enough that the exported graph has the same
shape as `torch.onnx.export` of a real BERT checkpoint:
- inputs input_ids and attention_mask, int64 [batch, sequence] with named dynamic dimensions;
- embeddings: word (Gather on input_ids), position (a buffered arange sliced to the sequence length,
  then Gather) and token type (a buffered zeros row sliced and expanded, then Gather), summed, LayerNorm;
- extended mask: attention_mask[:, None, None, :], cast to float, (1.0 - mask) * -10000.0;
- per layer: Q/K/V Linear (MatMul + Add), view to [batch, seq, heads, 64] from the runtime shape
  (Shape/Gather/Concat/Reshape), permute to heads, Q @ K^T / sqrt(64), + mask, Softmax, @ V,
  permute back, reshape, output Linear, residual, LayerNorm; FFN Linear 3072, GELU (erf), Linear 768,
  residual, LayerNorm;
- pooler: Linear + Tanh on position 0; classifier Linear 768 -> 2; output "logits" [batch, 2].
Opset 17 (LayerNormalization is exported as the ONNX op there, as torch does for nn.LayerNorm).

Also writes, beside OUTPUT (OUTPUT without .onnx, plus the suffix):
- `.input_ids.npy`, `.attention_mask.npy`: int64 [N, 128] calibration samples (random ids in
  [1000, 30522), [CLS]=101 first, [SEP]=102 last real token, random real lengths 16..128, padding 0,
  mask 1 on real tokens), seeded;
- `.reference.npz`: the torch FP32 logits of the first 4 samples, for checking the generated code.
"""
import argparse
import math
import os
import time

import numpy as np
import onnx
import torch
from torch import nn
from onnx import numpy_helper

SEED = 20261126
VOCAB, HIDDEN, HEADS, FFN, POSITIONS, TYPES, CLASSES = 30522, 768, 12, 3072, 512, 2, 2
SEQUENCE = 128


class Embeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.word_embeddings = nn.Embedding(VOCAB, HIDDEN, padding_idx=0)
        self.position_embeddings = nn.Embedding(POSITIONS, HIDDEN)
        self.token_type_embeddings = nn.Embedding(TYPES, HIDDEN)
        self.LayerNorm = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.register_buffer("position_ids", torch.arange(POSITIONS).expand((1, -1)))
        self.register_buffer("token_type_ids", torch.zeros((1, POSITIONS), dtype=torch.long))

    def forward(self, input_ids):
        batch, seq = input_ids.size()
        position_ids = self.position_ids[:, :seq]
        token_type_ids = self.token_type_ids[:, :seq].expand(batch, seq)
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        x = x + self.position_embeddings(position_ids)
        return self.LayerNorm(x)


class SelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.head_size = HIDDEN // HEADS
        self.query = nn.Linear(HIDDEN, HIDDEN)
        self.key = nn.Linear(HIDDEN, HIDDEN)
        self.value = nn.Linear(HIDDEN, HIDDEN)

    def heads(self, x):
        x = x.view(x.size()[:-1] + (HEADS, self.head_size))
        return x.permute(0, 2, 1, 3)

    def forward(self, hidden, mask):
        q = self.heads(self.query(hidden))
        k = self.heads(self.key(hidden))
        v = self.heads(self.value(hidden))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_size)
        probs = nn.functional.softmax(scores + mask, dim=-1)
        context = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        return context.view(context.size()[:-2] + (HIDDEN,))


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = SelfAttention()
        self.attention_output = nn.Linear(HIDDEN, HIDDEN)
        self.attention_norm = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.intermediate = nn.Linear(HIDDEN, FFN)
        self.gelu = nn.GELU()
        self.output = nn.Linear(FFN, HIDDEN)
        self.output_norm = nn.LayerNorm(HIDDEN, eps=1e-12)

    def forward(self, hidden, mask):
        attended = self.attention_norm(self.attention_output(self.attention(hidden, mask)) + hidden)
        return self.output_norm(self.output(self.gelu(self.intermediate(attended))) + attended)


class BertClassifier(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.embeddings = Embeddings()
        self.layers = nn.ModuleList([Layer() for _ in range(layers)])
        self.pooler = nn.Linear(HIDDEN, HIDDEN)
        self.classifier = nn.Linear(HIDDEN, CLASSES)
        # BERT's initialisation: normal(0, 0.02) weights, zero biases, LayerNorm 1/0.
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                module.weight.data.normal_(0.0, 0.02)
            if isinstance(module, nn.Linear):
                module.bias.data.normal_(0.0, 0.02)  # non-zero, so the export keeps every bias distinct
            if isinstance(module, nn.LayerNorm):
                module.weight.data.normal_(1.0, 0.02)
                module.bias.data.normal_(0.0, 0.02)

    def forward(self, input_ids, attention_mask):
        mask = attention_mask[:, None, None, :].to(torch.float32)
        mask = (1.0 - mask) * -10000.0
        hidden = self.embeddings(input_ids)
        for layer in self.layers:
            hidden = layer(hidden, mask)
        pooled = torch.tanh(self.pooler(hidden[:, 0]))
        return self.classifier(pooled)


def token_samples(count, generator):
    ids = np.zeros((count, SEQUENCE), dtype=np.int64)
    mask = np.zeros((count, SEQUENCE), dtype=np.int64)
    for i in range(count):
        length = int(generator.integers(16, SEQUENCE + 1)) if i > 0 else SEQUENCE
        ids[i, :length] = generator.integers(1000, VOCAB, size=length)
        ids[i, 0], ids[i, length - 1] = 101, 102
        mask[i, :length] = 1
    return ids, mask


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("output", help="path of the .onnx file to write")
    ap.add_argument("--layers", type=int, default=12, help="encoder layers (12 for BERT-base)")
    ap.add_argument("--calib-samples", type=int, default=16, help="token samples to write for calibration")
    args = ap.parse_args()

    started = time.time()
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    model = BertClassifier(args.layers).eval()
    params = sum(p.numel() for p in model.parameters())

    ids, mask = token_samples(args.calib_samples, np.random.default_rng(SEED))
    stem = args.output[:-5] if args.output.endswith(".onnx") else args.output
    np.save(stem + ".input_ids.npy", ids)
    np.save(stem + ".attention_mask.npy", mask)

    with torch.no_grad():
        sample = (torch.from_numpy(ids[:1]), torch.from_numpy(mask[:1]))
        torch.onnx.export(model, sample, args.output, opset_version=17,
                          input_names=["input_ids", "attention_mask"], output_names=["logits"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                        "attention_mask": {0: "batch", 1: "sequence"},
                                        "logits": {0: "batch"}})
        reference = model(torch.from_numpy(ids[:4]), torch.from_numpy(mask[:4])).numpy()
    np.savez(stem + ".reference.npz", input_ids=ids[:4], attention_mask=mask[:4], logits=reference)

    m = onnx.load(args.output)
    onnx.checker.check_model(args.output, full_check=True)  # by path: the checker reads the file itself
    weight_bytes = sum(numpy_helper.to_array(t).nbytes for t in m.graph.initializer
                       if t.data_type == onnx.TensorProto.FLOAT)
    ops = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    print(f"wrote {args.output}: {os.path.getsize(args.output)} bytes, checker OK")
    print(f"torch parameters: {params} ({params * 4} bytes FP32)")
    print(f"FP32 bytes in the ONNX initializers: {weight_bytes} in {len(m.graph.initializer)} initializers")
    print("nodes: " + ", ".join(f"{k} {v}" for k, v in sorted(ops.items(), key=lambda kv: -kv[1])))
    print(f"calibration samples: {stem}.input_ids.npy, {stem}.attention_mask.npy {ids.shape}")
    print(f"reference logits (first 4 samples): {reference.tolist()}")
    print(f"took {time.time() - started:.1f} s")


if __name__ == "__main__":
    main()
