#!/usr/bin/env python3
"""The seed's network written the way a PyTorch user would (nn.Linear, ReLU, cross-entropy, plain SGD), float32,
full batch, timed on the bundled MNIST data. Same shuffle and size as seed_numpy.py.

Prints one line: "pytorch: <ms> ms/iteration (m=<columns>, <iterations> iterations, <threads> threads, accuracy <acc>)".
"""
import argparse
import time

import numpy as np
import torch

from seed_numpy import read_idx


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="data/mnist")
    parser.add_argument("--columns", type=int, default=41000)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    images = read_idx(f"{args.data}/train-images-idx3-ubyte.gz").reshape(-1, 784)
    labels = read_idx(f"{args.data}/train-labels-idx1-ubyte.gz")
    np.random.seed(0)
    order = np.random.permutation(len(labels))[: args.columns]
    x = torch.from_numpy(images[order].astype(np.float32) / 255.0)  # m × 784 (PyTorch's row-per-example layout)
    y = torch.from_numpy(labels[order].astype(np.int64))

    model = torch.nn.Sequential(torch.nn.Linear(784, 10), torch.nn.ReLU(), torch.nn.Linear(10, 10))
    for p in model.parameters():
        torch.nn.init.uniform_(p, -0.5, 0.5)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.10)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad(set_to_none=True)
        logits = model(x)
        loss = loss_fn(logits, y)
        loss.backward()
        optimizer.step()
        return logits

    for _ in range(args.warmup):
        step()
    start = time.perf_counter()
    for _ in range(args.iterations):
        logits = step()
    elapsed = time.perf_counter() - start
    accuracy = float((logits.argmax(1) == y).float().mean())
    print(f"pytorch: {elapsed / args.iterations * 1000:.2f} ms/iteration (m={x.shape[0]}, {args.iterations} iterations, "
          f"{args.threads} threads, accuracy {accuracy:.4f})")


if __name__ == "__main__":
    main()
