#!/usr/bin/python3
"""Train the sample's character-level BERT-style classifier on the Debian `fortunes` package and export it to ONNX.

Run after train_lm.py (the classifier starts from the language model's weights), with Debian's Python:

    /usr/bin/python3 samples/Fortunes/train/train_classifier.py

(/usr/bin/python3 explicitly: a pyenv or venv python3 earlier on PATH does not see Debian's dist-packages.)
Took 16 minutes on two cores shared with other jobs (load average 5 to 9).

Task: which file of fortunes_data.CLASSIFIER_CATEGORIES a fortune comes from (6 classes), from its first 127
characters (whitespace runs collapsed to one space).

Model: bidirectional encoder, 3 pre-norm blocks of dim 64 with 4 heads, learned position embeddings (128), GELU
MLP, final LayerNorm, the mean over the positions the mask keeps ([CLS] included; pooling the [CLS] vector alone
learned too slowly from the LM's weights: 34.7% after an epoch), a BERT pooler (dense + tanh) and a linear layer
to 6 logits. Padding
is masked the way Hugging Face BERT exports it: the int64 mask becomes float, (1 - mask) * -10000 is added to
every head's scores. The token embeddings, the first 64 position embeddings (also copied to positions 64..127)
and the blocks start from the language model's torch weights, which train_lm.py leaves in /tmp/fortune_lm_state.pt
(not committed; train_lm.py makes the same weights again, deterministically).

Input contract of the exported model:
    input  "input_ids":      int64 [batch, sequence]: [CLS]=2, then character ids (fortunes_data.encode),
                             then [PAD]=0; sequence <= 128. QuantGen: Dimensions = { "sequence=128" }.
    input  "attention_mask": int64 [batch, sequence]: 1 for [CLS] and characters, 0 for padding.
    output "logits":         float32 [batch, 6], unnormalized class scores in CLASSIFIER_CATEGORIES order.

Writes, into samples/Fortunes/Models/:
    fortune_classifier.onnx            opset 17, batch and sequence dims named.
    fortune_classifier.reference.json  torch FP32 test accuracy (the whole test split, which is what
                                       Data/classifier_test_*.npy.gz holds), class counts, a confusion
                                       matrix and the logits of the first 8 test examples.

Deterministic: fixed seeds, deterministic algorithms, 2 intra-op threads.
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
import train_lm  # noqa: E402
from transformer import Block, init_weights  # noqa: E402

SEED = 20251127
DIM, LAYERS, HEADS = train_lm.DIM, train_lm.LAYERS, train_lm.HEADS
EPOCHS, BATCH, LR = 4, 32, 2e-3
LM_STATE = train_lm.STATE


class CharBert(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.tokens = nn.Embedding(fd.VOCAB_SIZE, DIM)
        self.positions = nn.Embedding(fd.CLASSIFIER_LENGTH, DIM)
        self.blocks = nn.ModuleList([Block(DIM, HEADS) for _ in range(LAYERS)])
        self.ln_f = nn.LayerNorm(DIM)
        self.pooler = nn.Linear(DIM, DIM)
        self.classifier = nn.Linear(DIM, classes)
        self.apply(init_weights)

    def forward(self, input_ids, attention_mask):
        t = input_ids.shape[1]
        x = self.tokens(input_ids) + self.positions(torch.arange(t, device=input_ids.device))
        extended = attention_mask[:, None, None, :].to(torch.float32)
        extended = (1.0 - extended) * -10000.0
        for block in self.blocks:
            x = block(x, extended)
        # Masked mean over the kept positions ([CLS] included) rather than BERT's [CLS] vector alone: from the causal
        # LM's weights, [CLS] pooling learned too slowly here (34.7% test accuracy after an epoch, majority class 29.6%).
        keep = attention_mask.to(torch.float32).unsqueeze(-1)
        mean = (self.ln_f(x) * keep).sum(dim=1) / keep.sum(dim=1)
        pooled = torch.tanh(self.pooler(mean))
        return self.classifier(pooled)

    def load_language_model(self, state):
        own = self.state_dict()
        for name, value in state.items():
            if name.startswith("positions."):
                own[name][: value.shape[0]] = value
                own[name][value.shape[0]:] = value[: own[name].shape[0] - value.shape[0]]
            elif name in own and own[name].shape == value.shape and not name.startswith("head."):
                own[name].copy_(value)
        self.load_state_dict(own)


def batches(lengths, rng):
    """Shuffled batches of similar lengths: shuffle, sort groups of 8 batches by length, shuffle the batches."""
    order = rng.permutation(len(lengths))
    out = []
    group = BATCH * 8
    for g in range(0, len(order), group):
        chunk = order[g:g + group]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        out.extend(chunk[i:i + BATCH] for i in range(0, len(chunk), BATCH))
    return [out[i] for i in rng.permutation(len(out))]


def evaluate(model, ids, masks, batch=128):
    logits = []
    with torch.no_grad():
        for i in range(0, len(ids), batch):
            logits.append(model(torch.from_numpy(ids[i:i + batch]), torch.from_numpy(masks[i:i + batch])))
    return torch.cat(logits).numpy()


def main():
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(2)
    rng = np.random.default_rng(SEED)
    data = fd.load()
    ids, masks, labels = fd.classifier_examples(data, False)
    test_ids, test_masks, test_labels = fd.classifier_examples(data, True)
    classes = len(fd.CLASSIFIER_CATEGORIES)
    model = CharBert(classes)
    if not os.path.exists(LM_STATE):
        raise SystemExit(f"{LM_STATE} not found: run train_lm.py first (it saves its torch weights there)")
    model.load_language_model(torch.load(LM_STATE))
    print(f"params {sum(p.numel() for p in model.parameters())}, train {len(ids)}, test {len(test_ids)}")

    lengths = masks.sum(axis=1)
    counts = np.bincount(labels, minlength=classes)
    weights = torch.tensor(len(labels) / (classes * counts), dtype=torch.float32)  # balanced loss
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    steps_per_epoch = math.ceil(len(ids) / BATCH)
    total_steps = EPOCHS * steps_per_epoch
    start, step = time.time(), 0
    for epoch in range(EPOCHS):
        model.train()
        for batch in batches(lengths, rng):
            t = int(lengths[batch].max())
            lr = LR * min(1.0, (step + 1) / 30) * 0.5 * (1 + math.cos(math.pi * step / total_steps))
            for group in opt.param_groups:
                group["lr"] = lr
            logits = model(torch.from_numpy(ids[batch, :t]), torch.from_numpy(masks[batch, :t]))
            loss = nn.functional.cross_entropy(logits, torch.from_numpy(labels[batch]), weight=weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if step % 25 == 0:
                print(f"epoch {epoch} step {step:4d} loss {loss.item():.4f} {time.time() - start:6.0f} s", flush=True)
            step += 1
        model.eval()
        accuracy = float(np.mean(evaluate(model, test_ids, test_masks).argmax(1) == test_labels))
        print(f"epoch {epoch}: test accuracy {accuracy:.4f} ({time.time() - start:.0f} s)", flush=True)
    train_seconds = time.time() - start

    model.eval()
    test_logits = evaluate(model, test_ids, test_masks)
    predicted = test_logits.argmax(1)
    accuracy = float(np.mean(predicted == test_labels))
    confusion = np.zeros((classes, classes), dtype=np.int64)
    for y, p in zip(test_labels, predicted):
        confusion[y, p] += 1
    print(f"test accuracy {accuracy:.4f}; trained in {train_seconds:.0f} s")
    committed = fd.load_npy_gz(os.path.join(fd.DATA, "classifier_test_input_ids.npy.gz"))
    if not np.array_equal(committed, test_ids):
        raise SystemExit("Data/classifier_test_input_ids.npy.gz is not the test split: rerun fortunes_data.py")

    path = os.path.join(train_lm.MODELS, "fortune_classifier.onnx")
    torch.onnx.export(model, (torch.from_numpy(test_ids[:1]), torch.from_numpy(test_masks[:1])), path, opset_version=17,
                      input_names=["input_ids", "attention_mask"], output_names=["logits"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                                    "logits": {0: "batch"}},
                      do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))
    reference = {
        "model": "fortune_classifier.onnx",
        "framework": f"torch {torch.__version__}",
        "categories": fd.CLASSIFIER_CATEGORIES,
        "architecture": {"dim": DIM, "layers": LAYERS, "heads": HEADS, "sequence": fd.CLASSIFIER_LENGTH,
                         "vocab": fd.VOCAB_SIZE, "parameters": sum(p.numel() for p in model.parameters()),
                         "initialized_from": "fortune_lm (train_lm.py)"},
        "training": {"epochs": EPOCHS, "batch": BATCH, "steps": step, "seconds": round(train_seconds), "seed": SEED},
        "train_counts": counts.tolist(),
        "test_counts": np.bincount(test_labels, minlength=classes).tolist(),
        "test_accuracy": round(accuracy, 5),
        "test_correct": int(np.sum(predicted == test_labels)),
        "test_examples": int(len(test_labels)),
        "confusion_rows_true_columns_predicted": confusion.tolist(),
        "test_logits_first8": [[round(float(v), 5) for v in row] for row in test_logits[:8]],
    }
    with open(os.path.join(train_lm.MODELS, "fortune_classifier.reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
