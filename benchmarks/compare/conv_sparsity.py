#!/usr/bin/env python3
"""How much of --preset cnn's first convolution (1 -> 32 channels, 5 x 5, same padding, 28 x 28) a kernel that skips
zero pixels could skip, on the bundled MNIST training images in random batches (issue 12's "sparse first
convolution" question).

MnistNet keeps each example as one column, so the convolution's vector lanes are examples: a product of one kernel tap
at one output position with a vector of L examples can be skipped only when the pixel under that tap is 0 (or padding)
in all L examples at once. Prints, for one example at a time and for vectors of 8, 16 (Vector512 floats), 32 and 128
examples, the fraction of (tap, position, vector) products that read at least one non-zero pixel, i.e. the work left.

    /usr/bin/python3 benchmarks/compare/conv_sparsity.py [--data data/mnist] [--batches 40]
"""
import argparse
import gzip

import numpy as np


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="data/mnist")
    parser.add_argument("--batches", type=int, default=40, help="batches of 128 random training images")
    args = parser.parse_args()
    with gzip.open(f"{args.data}/train-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    order = np.random.default_rng(0).permutation(len(images))[:128 * args.batches]
    nonzero = images[order] > 0
    padded = np.pad(nonzero, ((0, 0), (2, 2), (2, 2)))
    # taps[n, t, y, x]: the pixel under tap t = (i, j) at output position (y, x) of image n is non-zero.
    taps = np.stack([padded[:, i:i + 28, j:j + 28] for i in range(5) for j in range(5)], axis=1)
    print(f"pixels non-zero: {nonzero.mean():.3f}")
    print(f"work left, one example at a time: {taps.mean():.3f}")
    for lanes in (8, 16, 32, 128):
        left = taps.reshape(-1, lanes, 25, 28, 28).any(axis=1).mean()
        print(f"work left, vectors of {lanes} examples: {left:.3f}")


if __name__ == "__main__":
    main()
