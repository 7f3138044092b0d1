#!/usr/bin/env python3
"""The seed's numpy network (from the blog post, rewritten here), timed on the bundled MNIST data.

Same layout as the blog: one example per column, float64, full-batch gradient descent. The seed's three
bugs are left as they are (they do not change the cost of an iteration): dZ2's sign convention in the
text, db summed over the whole matrix, and the unstable softmax.

Prints one line: "numpy: <ms> ms/iteration (m=<columns>, <iterations> iterations, accuracy <acc>)".
"""
import argparse
import gzip
import struct
import time

import numpy as np


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    zero, dtype, rank = struct.unpack(">HBB", data[:4])
    assert zero == 0 and dtype == 0x08, "expected an unsigned-byte IDX file"
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def init_params():
    W1 = np.random.rand(10, 784) - 0.5
    b1 = np.random.rand(10, 1) - 0.5
    W2 = np.random.rand(10, 10) - 0.5
    b2 = np.random.rand(10, 1) - 0.5
    return W1, b1, W2, b2


def ReLU(Z):
    return np.maximum(Z, 0)


def softmax(Z):
    return np.exp(Z) / sum(np.exp(Z))


def forward_prop(W1, b1, W2, b2, X):
    Z1 = W1.dot(X) + b1
    A1 = ReLU(Z1)
    Z2 = W2.dot(A1) + b2
    A2 = softmax(Z2)
    return Z1, A1, Z2, A2


def ReLU_deriv(Z):
    return Z > 0


def one_hot(Y):
    one_hot_Y = np.zeros((Y.size, Y.max() + 1))
    one_hot_Y[np.arange(Y.size), Y] = 1
    return one_hot_Y.T


def backward_prop(Z1, A1, Z2, A2, W1, W2, X, Y, m):
    one_hot_Y = one_hot(Y)
    dZ2 = A2 - one_hot_Y
    dW2 = 1 / m * dZ2.dot(A1.T)
    db2 = 1 / m * np.sum(dZ2)
    dZ1 = W2.T.dot(dZ2) * ReLU_deriv(Z1)
    dW1 = 1 / m * dZ1.dot(X.T)
    db1 = 1 / m * np.sum(dZ1)
    return dW1, db1, dW2, db2


def update_params(W1, b1, W2, b2, dW1, db1, dW2, db2, alpha):
    W1 = W1 - alpha * dW1
    b1 = b1 - alpha * db1
    W2 = W2 - alpha * dW2
    b2 = b2 - alpha * db2
    return W1, b1, W2, b2


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="data/mnist")
    parser.add_argument("--columns", type=int, default=41000)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    images = read_idx(f"{args.data}/train-images-idx3-ubyte.gz").reshape(-1, 784)
    labels = read_idx(f"{args.data}/train-labels-idx1-ubyte.gz")
    np.random.seed(0)
    order = np.random.permutation(len(labels))[: args.columns]
    X = images[order].T / 255.0
    Y = labels[order].astype(np.int64)
    m = X.shape[1]

    W1, b1, W2, b2 = init_params()
    alpha = 0.10
    for _ in range(args.warmup):
        Z1, A1, Z2, A2 = forward_prop(W1, b1, W2, b2, X)
        grads = backward_prop(Z1, A1, Z2, A2, W1, W2, X, Y, m)
        W1, b1, W2, b2 = update_params(W1, b1, W2, b2, *grads, alpha)

    start = time.perf_counter()
    for _ in range(args.iterations):
        Z1, A1, Z2, A2 = forward_prop(W1, b1, W2, b2, X)
        grads = backward_prop(Z1, A1, Z2, A2, W1, W2, X, Y, m)
        W1, b1, W2, b2 = update_params(W1, b1, W2, b2, *grads, alpha)
    elapsed = time.perf_counter() - start
    accuracy = float(np.mean(np.argmax(A2, 0) == Y))
    print(f"numpy: {elapsed / args.iterations * 1000:.2f} ms/iteration (m={m}, {args.iterations} iterations, accuracy {accuracy:.4f})")


if __name__ == "__main__":
    main()
