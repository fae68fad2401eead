#!/usr/bin/python3
"""Cut the small Fashion-MNIST slices the sample commits, so it runs without the Debian package.

    /usr/bin/python3 samples/FashionMnist/train/make_data_slices.py [--data-dir DIR]

Writes into samples/FashionMnist/Data/ (same idx format as the originals, gzip, valid
headers with the slice's count; byte-identical from run to run):
    t10k-images-idx3-ubyte.slice1000.gz, t10k-labels-idx1-ubyte.slice1000.gz   first 1,000 test images/labels
    train-images-idx3-ubyte.slice512.gz, train-labels-idx1-ubyte.slice512.gz    first 512 training images/labels (calibration)
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import idx  # noqa: E402

DATA = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Data"))
SLICES = [("t10k", 1000), ("train", 512)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    args = ap.parse_args()
    os.makedirs(DATA, exist_ok=True)
    for split, count in SLICES:
        for kind, magic, reader in (("images-idx3", idx.IMAGES_MAGIC, idx.read_images),
                                    ("labels-idx1", idx.LABELS_MAGIC, idx.read_labels)):
            full = reader(os.path.join(args.data_dir, f"{split}-{kind}-ubyte.gz"))
            out = os.path.join(DATA, f"{split}-{kind}-ubyte.slice{count}.gz")
            idx.write_idx(out, full[:count], magic)
            back = reader(out)  # re-read: header, count and bytes must match the source
            if back.shape != (count,) + full.shape[1:] or not np.array_equal(back, full[:count]):
                raise RuntimeError(f"{out} does not round-trip")
            print(f"{out}: {back.shape}, {os.path.getsize(out)} bytes")


if __name__ == "__main__":
    main()
