"""Read and write the idx files Fashion-MNIST ships in (gzip-compressed).

idx layout (big-endian): two zero bytes, a type byte (0x08 = unsigned byte),
a dimension count byte, then one uint32 per dimension, then the data.
Images: magic 0x00000803, dims (count, 28, 28). Labels: magic 0x00000801, dims (count,).
"""
import gzip
import io

import numpy as np

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801


def read_idx(path, expected_magic):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic != expected_magic:
        raise ValueError(f"{path}: idx magic 0x{magic:08X}, expected 0x{expected_magic:08X}")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    count = int(np.prod(dims))
    if len(data) - offset != count:
        raise ValueError(f"{path}: header says {dims} ({count} bytes), file holds {len(data) - offset}")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def read_images(path):
    return read_idx(path, IMAGES_MAGIC)


def read_labels(path):
    return read_idx(path, LABELS_MAGIC)


def write_idx(path, array, magic):
    array = np.ascontiguousarray(array, dtype=np.uint8)
    if magic & 0xFF != array.ndim:
        raise ValueError(f"magic 0x{magic:08X} does not match {array.ndim} dimensions")
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    raw = io.BytesIO()
    # mtime=0 and an empty file name keep the .gz byte-identical from run to run.
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(header + array.tobytes())
    with open(path, "wb") as f:
        f.write(raw.getvalue())
