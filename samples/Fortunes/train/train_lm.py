#!/usr/bin/python3
"""Train the sample's character-level GPT on the Debian `fortunes` package and export it to ONNX.

Run with Debian's Python and packages (python3-torch 1.13, python3-onnx 1.12; apt-get install -y fortunes):

    /usr/bin/python3 samples/Fortunes/train/train_lm.py

(/usr/bin/python3 explicitly: a pyenv or venv python3 earlier on PATH does not see Debian's dist-packages.)
Took 19 minutes on two cores shared with other jobs (load average 5 to 16; Debian's torch uses a generic BLAS).

Model: decoder-only, 3 pre-norm blocks of dim 64 with 4 heads of 16, causal self-attention (a constant
-inf-above-the-diagonal buffer, sliced to the sequence length and added to the scores, as nanoGPT-style code
does), learned position embeddings (64 positions), GELU MLP of width 256, final LayerNorm, linear head.
Vocabulary and data: fortunes_data.py (V = 101 characters and specials; every fortune is [CLS] text [EOS]).

Input contract of the exported model:
    input  "input_ids": int64 [batch, sequence], ids in [0, 101), sequence <= 64 (position table size).
                        Dimensions named "batch" and "sequence" (QuantGen: Dimensions = { "sequence=64" }).
    output "logits":    float32 [batch, sequence, 101], unnormalized next-token scores at every position
                        (position t sees ids 0..t only).

Metric: perplexity per token = exp(mean next-token cross-entropy) over the test split's stream, cut into
non-overlapping 64-token windows (fortunes_data.lm_windows; every position of every window counts, so the
first positions, with little context, are included).

Writes, into samples/Fortunes/Models/:
    fortune_lm.onnx            opset 17, batch and sequence dims named.
    fortune_lm.reference.json  torch FP32 test perplexity (full test split and the committed slice of
                               Data/lm_test_*.npy.gz), per-window NLL of the first 8 slice windows, and the
                               logits of slice window 0 at positions 0..3.
and the torch state dict to /tmp/fortune_lm_state.pt, where train_classifier.py starts from.

Deterministic: fixed seeds, deterministic algorithms, 2 intra-op threads, a fixed number of steps.
"""
import json
import math
import os
import sys
import time

import numpy as np
import onnx
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fortunes_data as fd  # noqa: E402
from transformer import Block, init_weights  # noqa: E402

MODELS = os.path.normpath(os.path.join(fd.HERE, "..", "Models"))
SEED = 20251126
DIM, LAYERS, HEADS = 64, 3, 4
STEPS, BATCH, LR = 320, 64, 3e-3
STATE = "/tmp/fortune_lm_state.pt"  # the torch weights, for train_classifier.py (not committed)


class CharGpt(nn.Module):
    def __init__(self):
        super().__init__()
        self.tokens = nn.Embedding(fd.VOCAB_SIZE, DIM)
        self.positions = nn.Embedding(fd.LM_CONTEXT, DIM)
        self.blocks = nn.ModuleList([Block(DIM, HEADS) for _ in range(LAYERS)])
        self.ln_f = nn.LayerNorm(DIM)
        self.head = nn.Linear(DIM, fd.VOCAB_SIZE)
        causal = torch.triu(torch.full((fd.LM_CONTEXT, fd.LM_CONTEXT), float("-inf")), diagonal=1)
        self.register_buffer("causal", causal, persistent=False)
        self.apply(init_weights)

    def forward(self, input_ids):
        t = input_ids.shape[1]
        positions = torch.arange(t, device=input_ids.device)
        x = self.tokens(input_ids) + self.positions(positions)
        mask = self.causal[:t, :t]
        for block in self.blocks:
            x = block(x, mask)
        return self.head(self.ln_f(x))


def nll(model, x, y, batch=128):
    """Summed next-token cross-entropy (nats) and per-window means, over windows x -> y."""
    total, per_window = 0.0, []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            logits = model(torch.from_numpy(x[i:i + batch]))
            loss = nn.functional.cross_entropy(logits.reshape(-1, fd.VOCAB_SIZE), torch.from_numpy(y[i:i + batch]).reshape(-1),
                                               reduction="none").view(logits.shape[0], -1).double()
            total += float(loss.sum())
            per_window.extend(loss.mean(dim=1).tolist())
    return total, per_window


def main():
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(2)
    rng = np.random.default_rng(SEED)
    entries, _ = fd.load()
    train, test = fd.lm_stream(entries, False), fd.lm_stream(entries, True)
    test_x, test_y = fd.lm_windows(test)
    model = CharGpt()
    print(f"params {sum(p.numel() for p in model.parameters())}, train {len(train)} tokens, test {len(test_x)} windows")

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "positions" not in n and "tokens" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "positions" not in n and "tokens" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=LR, betas=(0.9, 0.98))
    T = fd.LM_CONTEXT
    start = time.time()
    for step in range(STEPS):
        lr = LR * min(1.0, (step + 1) / 20) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / STEPS)))
        for group in opt.param_groups:
            group["lr"] = lr
        offsets = rng.integers(0, len(train) - T - 1, size=BATCH)
        xb = torch.from_numpy(np.stack([train[o:o + T] for o in offsets]))
        yb = torch.from_numpy(np.stack([train[o + 1:o + T + 1] for o in offsets]))
        model.train()
        loss = nn.functional.cross_entropy(model(xb).reshape(-1, fd.VOCAB_SIZE), yb.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 20 == 0 or step == STEPS - 1:
            print(f"step {step:4d} loss {loss.item():.4f} lr {lr:.5f} {time.time() - start:6.0f} s", flush=True)
    train_seconds = time.time() - start

    model.eval()
    total, _ = nll(model, test_x, test_y)
    ppl = math.exp(total / test_y.size)
    slice_x = fd.load_npy_gz(os.path.join(fd.DATA, "lm_test_input_ids.npy.gz"))
    slice_y = fd.load_npy_gz(os.path.join(fd.DATA, "lm_test_targets.npy.gz"))
    slice_total, slice_windows = nll(model, slice_x, slice_y)
    slice_ppl = math.exp(slice_total / slice_y.size)
    print(f"test perplexity {ppl:.4f} ({test_y.size} tokens), slice {slice_ppl:.4f}; trained in {train_seconds:.0f} s")

    torch.save(model.state_dict(), STATE)
    os.makedirs(MODELS, exist_ok=True)
    path = os.path.join(MODELS, "fortune_lm.onnx")
    torch.onnx.export(model, torch.from_numpy(slice_x[:1]), path, opset_version=17,
                      input_names=["input_ids"], output_names=["logits"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch", 1: "sequence"}},
                      do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))
    with torch.no_grad():
        logits0 = model(torch.from_numpy(slice_x[:1]))[0, :4]
    reference = {
        "model": "fortune_lm.onnx",
        "framework": f"torch {torch.__version__}",
        "architecture": {"dim": DIM, "layers": LAYERS, "heads": HEADS, "context": T, "vocab": fd.VOCAB_SIZE,
                         "parameters": sum(p.numel() for p in model.parameters())},
        "training": {"steps": STEPS, "batch": BATCH, "tokens_seen": STEPS * BATCH * T, "seconds": round(train_seconds),
                     "seed": SEED, "final_loss": round(loss.item(), 4)},
        "test_perplexity": round(ppl, 5),
        "test_tokens": int(test_y.size),
        "slice": "Data/lm_test_input_ids.npy.gz, Data/lm_test_targets.npy.gz",
        "slice_perplexity": round(slice_ppl, 5),
        "slice_tokens": int(slice_y.size),
        "slice_window_nll_first8": [round(v, 6) for v in slice_windows[:8]],
        "slice_window0_logits_positions0to3": [[round(float(v), 5) for v in row] for row in logits0],
    }
    with open(os.path.join(MODELS, "fortune_lm.reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
