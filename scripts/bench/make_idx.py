"""Writes synthetic MNIST-shaped IDX files (uncompressed) for the benchmarks.

    python make_idx.py OUT_DIR --train 60000 --test 10000 [--size 28] [--classes 10] [--seed 0]

Writes train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
t10k-labels-idx1-ubyte into OUT_DIR, in the format crates/data/src/idx.rs reads: a big-endian
magic number (0x00000803 for images, 0x00000801 for labels), big-endian u32 dimensions (count,
then rows and columns for images), then the unsigned bytes. Each class is a noisy copy of its own
random template, so the images are learnable; only their shapes matter for the timings.
"""

import argparse
import os
import struct

import numpy as np


def write_idx(path, magic, array):
    with open(path, "wb") as out:
        out.write(struct.pack(">I", magic))
        out.write(struct.pack(">" + "I" * array.ndim, *array.shape))
        out.write(np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def make(n, size, classes, templates, rng):
    labels = (np.arange(n) % classes).astype(np.uint8)
    rng.shuffle(labels)
    noise = rng.integers(0, 96, size=(n, size, size), dtype=np.int16)
    images = np.clip(templates[labels] + noise, 0, 255).astype(np.uint8)
    return images, labels


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--train", type=int, default=60000)
    parser.add_argument("--test", type=int, default=10000)
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    templates = rng.integers(0, 160, size=(args.classes, args.size, args.size), dtype=np.int16)
    os.makedirs(args.out_dir, exist_ok=True)
    for prefix, n in (("train", args.train), ("t10k", args.test)):
        images, labels = make(n, args.size, args.classes, templates, rng)
        write_idx(os.path.join(args.out_dir, f"{prefix}-images-idx3-ubyte"), 0x00000803, images)
        write_idx(os.path.join(args.out_dir, f"{prefix}-labels-idx1-ubyte"), 0x00000801, labels)
    print(f"wrote {args.train} + {args.test} images of {args.size}x{args.size} to {args.out_dir}")


if __name__ == "__main__":
    main()
