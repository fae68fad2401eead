#!/usr/bin/python3
"""Read the Debian `fortunes` package, split it, encode it as character ids, write the sample's data slices.

Shared by train_lm.py and train_classifier.py (imported), and run on its own to write the committed slices:

    apt-get install -y fortunes
    /usr/bin/python3 samples/Fortunes/train/fortunes_data.py

Source: every category file in /usr/share/games/fortunes/ (entries separated by lines holding only "%";
the .dat indexes and .u8 copies are skipped, and so is any subfolder such as off/, the offensive set).
Files are read as Latin-1; entries are stripped of surrounding blank lines; exact duplicates (the same text in
two files, or twice in one) are kept once, under the first file in sorted order, and dropped from the
classifier when they sit in two of its categories.

Vocabulary (V = 101, shared by both models):
    0 [PAD]   1 [UNK] (any character not listed here)   2 [CLS] (the classifier's first token; the LM's
    start-of-fortune)   3 [EOS] (end of a fortune)   4 "\\n"   5 "\\t"   6..100 printable ASCII 32..126 (" " .. "~").

Split: an entry is test when the first byte of SHA-1(its text, UTF-8) is below 26 (26/256 ~ 10%), otherwise train.
Deterministic, independent of file order, and the same for both models.

Writes, into samples/Fortunes/Data/ (numpy .npy, int64, first axis = sample, gzip-compressed, byte-identical
from run to run: gzip mtime 0):
    lm_test_input_ids.npy.gz          [N, 64]  language model test windows (see lm_windows)
    lm_test_targets.npy.gz            [N, 64]  the next token of each position (every position has one)
    lm_calib_input_ids.npy.gz         [256, 64] training windows, for calibration
    classifier_test_input_ids.npy.gz  [N, 128] [CLS] + first 127 characters, [PAD] after
    classifier_test_attention_mask.npy.gz [N, 128] 1 for real tokens ([CLS] included), 0 for padding
    classifier_test_labels.npy.gz     [N]      category index (CLASSIFIER_CATEGORIES order)
    classifier_calib_input_ids.npy.gz, classifier_calib_attention_mask.npy.gz  [256, 128] training entries
"""
import gzip
import hashlib
import io
import os

import numpy as np

FORTUNE_DIR = "/usr/share/games/fortunes"
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "Data"))

PAD, UNK, CLS, EOS = 0, 1, 2, 3
VOCAB_SIZE = 101
LM_CONTEXT = 64
CLASSIFIER_LENGTH = 128
# Picked by data: topical or strongly stylistic files with 200+ entries each (see Data/README.md for counts).
CLASSIFIER_CATEGORIES = ["computers", "politics", "science", "songs-poems", "startrek", "zippy"]


def encode_char(c):
    if c == "\n":
        return 4
    if c == "\t":
        return 5
    o = ord(c)
    if 32 <= o <= 126:
        return o - 32 + 6
    return UNK


def encode(text):
    return [encode_char(c) for c in text]


def decode(ids):
    out = []
    for i in ids:
        i = int(i)
        if i >= 6:
            out.append(chr(i - 6 + 32))
        elif i == 4:
            out.append("\n")
        elif i == 5:
            out.append("\t")
        else:
            out.append(["[PAD]", "[UNK]", "[CLS]", "[EOS]"][i])
    return "".join(out)


def category_files():
    names = []
    for name in sorted(os.listdir(FORTUNE_DIR)):
        path = os.path.join(FORTUNE_DIR, name)
        if not os.path.isfile(path) or name.endswith(".dat") or name.endswith(".u8") or os.path.islink(path):
            continue
        names.append(name)
    if not names:
        raise SystemExit(f"no fortune files in {FORTUNE_DIR}: apt-get install -y fortunes")
    return names


def read_entries(name):
    with open(os.path.join(FORTUNE_DIR, name), "rb") as f:
        text = f.read().decode("latin-1")
    entries, current = [], []
    for line in text.split("\n"):
        if line.rstrip("\r") == "%":
            entries.append("\n".join(current))
            current = []
        else:
            current.append(line.rstrip("\r"))
    entries.append("\n".join(current))
    return [e.strip("\n") for e in entries if e.strip()]


def is_test(text):
    return hashlib.sha1(text.encode("utf-8")).digest()[0] < 26


def load():
    """Returns (entries, duplicates): entries a list of (category, text, is_test), first occurrence only;
    duplicates the set of texts found in more than one category file."""
    seen = {}
    cross = set()
    entries = []
    for name in category_files():
        for text in read_entries(name):
            if text in seen:
                if seen[text] != name:
                    cross.add(text)
                continue
            seen[text] = name
            entries.append((name, text, is_test(text)))
    return entries, cross


def lm_stream(entries, test):
    """Token stream of one split: each fortune as [CLS] text [EOS], concatenated in file order."""
    ids = []
    for _, text, t in entries:
        if t == test:
            ids.append(CLS)
            ids.extend(encode(text))
            ids.append(EOS)
    return np.array(ids, dtype=np.int64)


def lm_windows(stream, context=LM_CONTEXT):
    """Non-overlapping windows over a stream: inputs stream[k*T : k*T+T], targets shifted by one.
    The last window is dropped when it has no full T+1 tokens. Perplexity counts every target."""
    n = (len(stream) - 1) // context
    x = stream[: n * context].reshape(n, context)
    y = stream[1: n * context + 1].reshape(n, context)
    return x, y


def classifier_examples(entries, test):
    """(input_ids [N, 128], attention_mask [N, 128], labels [N]) for one split of the chosen categories.
    Whitespace runs collapse to one space (the layout says little about the topic and costs context);
    then [CLS] + the first 127 characters, padded with [PAD] and masked out."""
    entries, cross = entries
    ids, masks, labels = [], [], []
    for name, text, t in entries:
        if t != test or name not in CLASSIFIER_CATEGORIES or text in cross:
            continue
        tokens = [CLS] + encode(" ".join(text.split()))[: CLASSIFIER_LENGTH - 1]
        mask = [1] * len(tokens) + [0] * (CLASSIFIER_LENGTH - len(tokens))
        tokens = tokens + [PAD] * (CLASSIFIER_LENGTH - len(tokens))
        ids.append(tokens)
        masks.append(mask)
        labels.append(CLASSIFIER_CATEGORIES.index(name))
    return (np.array(ids, dtype=np.int64), np.array(masks, dtype=np.int64), np.array(labels, dtype=np.int64))


def save_npy_gz(path, array):
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
            f.write(buffer.getvalue())


def load_npy_gz(path):
    with gzip.open(path, "rb") as f:
        return np.load(io.BytesIO(f.read()), allow_pickle=False)


def calibration_rows(count, total, seed):
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(total, size=min(count, total), replace=False))


LM_TEST_WINDOWS = 512  # the committed slice: the first 512 test windows (32,768 characters)
CALIBRATION_SAMPLES = 256


def main():
    data = load()
    entries, cross = data
    os.makedirs(DATA, exist_ok=True)
    train_stream, test_stream = lm_stream(entries, False), lm_stream(entries, True)
    print(f"{len(entries)} distinct fortunes, {sum(1 for e in entries if e[2])} test; "
          f"LM stream: train {len(train_stream)} tokens, test {len(test_stream)} tokens; "
          f"UNK share {np.mean(train_stream == UNK):.5f}")
    x, y = lm_windows(test_stream)
    save_npy_gz(os.path.join(DATA, "lm_test_input_ids.npy.gz"), x[:LM_TEST_WINDOWS])
    save_npy_gz(os.path.join(DATA, "lm_test_targets.npy.gz"), y[:LM_TEST_WINDOWS])
    tx, _ = lm_windows(train_stream)
    save_npy_gz(os.path.join(DATA, "lm_calib_input_ids.npy.gz"), tx[calibration_rows(CALIBRATION_SAMPLES, len(tx), 1)])

    ids, masks, labels = classifier_examples(data, True)
    save_npy_gz(os.path.join(DATA, "classifier_test_input_ids.npy.gz"), ids)
    save_npy_gz(os.path.join(DATA, "classifier_test_attention_mask.npy.gz"), masks)
    save_npy_gz(os.path.join(DATA, "classifier_test_labels.npy.gz"), labels)
    cids, cmasks, clabels = classifier_examples(data, False)
    rows = calibration_rows(CALIBRATION_SAMPLES, len(cids), 2)
    save_npy_gz(os.path.join(DATA, "classifier_calib_input_ids.npy.gz"), cids[rows])
    save_npy_gz(os.path.join(DATA, "classifier_calib_attention_mask.npy.gz"), cmasks[rows])
    for i, name in enumerate(CLASSIFIER_CATEGORIES):
        print(f"  {name:12s} train {int(np.sum(clabels == i)):5d}  test {int(np.sum(labels == i)):4d}")
    print(f"classifier: {len(clabels)} train, {len(labels)} test, {len(cross)} texts in two files dropped")


if __name__ == "__main__":
    main()
