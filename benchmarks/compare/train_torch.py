#!/usr/bin/env python3
"""The PyTorch baselines of the training-speed comparisons, on the bundled MNIST training set (60 000 images), float32,
2 threads, seeded shuffle per epoch. After every epoch it measures test accuracy (not counted in the training time) and
stops at the first epoch that reaches the target.

--arch dense (issue 5, train.sh): 784-256-10 (ReLU, cross-entropy), Adam 1e-3, batch 128, target 98.0 %.
--arch cnn (issue 12, cnn.sh): --preset cnn's layers (conv 32 5x5 same, ReLU, max pool 2, conv 64 5x5 same, ReLU, max
pool 2, dense 256, ReLU, dropout 0.5, dense 10), Adam 2e-3, batch 128, no augmentation; cnn.sh passes --target 0.99.
--arch cnn-bn: the same with BatchNorm2d after each convolution (before its ReLU): whether batch normalisation would buy
MnistNet's CNN accuracy or time to 99 % (issue 12), asked of PyTorch before building it.

--schedule constant (default): the rate stays; the run stops at the first epoch that reaches the target.
--schedule cosine --epochs N: exactly N epochs with the rate annealed step by step as MnistNet's
LearningRateSchedule.Cosine() does (factor 0.5 (1 + cos(pi s / S)) at step s = 0 .. S-1 of S = N x 469 steps), so a
run's rate depends on its length: cnn.sh runs N = 1, 2, ... afresh, as it does MnistNet.

Prints one line per epoch and finally:
"pytorch-train: <seconds> s training to <accuracy> test accuracy in <epochs> epochs (target <target>)", or
"(cosine schedule)" in place of the target.
"""
import argparse
import math
import time

import numpy as np
import torch

from seed_numpy import read_idx


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="data/mnist")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--target", type=float, default=0.98)
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--arch", choices=["dense", "cnn", "cnn-bn"], default="dense",
                        help="cnn-bn: the cnn with BatchNorm2d after each convolution (issue 12's BatchNorm question)")
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--schedule", choices=["constant", "cosine"], default="constant")
    parser.add_argument("--epochs", type=int, default=None, help="with --schedule cosine: the run's length")
    args = parser.parse_args()
    if args.schedule == "cosine" and args.epochs is None:
        parser.error("--schedule cosine needs --epochs (the schedule's length)")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    def load(images, labels):
        x = read_idx(f"{args.data}/{images}").reshape(-1, 784).astype(np.float32) / 255.0
        y = read_idx(f"{args.data}/{labels}").astype(np.int64)
        return torch.from_numpy(x), torch.from_numpy(y)

    x, y = load("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
    tx, ty = load("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    if args.arch == "cnn-bn":
        model = torch.nn.Sequential(
            torch.nn.Unflatten(1, (1, 28, 28)),
            torch.nn.Conv2d(1, 32, 5, padding=2), torch.nn.BatchNorm2d(32), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(32, 64, 5, padding=2), torch.nn.BatchNorm2d(64), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Flatten(), torch.nn.Linear(64 * 7 * 7, 256), torch.nn.ReLU(), torch.nn.Dropout(0.5),
            torch.nn.Linear(256, 10))
    elif args.arch == "cnn":
        model = torch.nn.Sequential(
            torch.nn.Unflatten(1, (1, 28, 28)),
            torch.nn.Conv2d(1, 32, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(32, 64, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Flatten(), torch.nn.Linear(64 * 7 * 7, 256), torch.nn.ReLU(), torch.nn.Dropout(0.5),
            torch.nn.Linear(256, 10))
    else:
        model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr or (2e-3 if args.arch.startswith("cnn") else 1e-3))
    loss_fn = torch.nn.CrossEntropyLoss()
    scheduler = None
    if args.schedule == "cosine":
        total = args.epochs * ((len(y) + 127) // 128)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
        args.max_epochs = args.epochs
    generator = torch.Generator().manual_seed(0)
    training = 0.0
    accuracy = 0.0
    epoch = 0
    while epoch < args.max_epochs and (scheduler is not None or accuracy < args.target):
        epoch += 1
        model.train()
        start = time.perf_counter()
        order = torch.randperm(len(y), generator=generator)
        for i in range(0, len(y), 128):
            batch = order[i:i + 128]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
        training += time.perf_counter() - start
        model.eval()
        with torch.no_grad():
            accuracy = (model(tx).argmax(1) == ty).float().mean().item()
        print(f"epoch {epoch}: test accuracy {accuracy:.4f}, {training:.2f} s training", flush=True)
    target = "cosine schedule" if scheduler is not None else f"target {args.target}"
    print(f"pytorch-train: {training:.2f} s training to {accuracy:.4f} test accuracy in {epoch} epochs ({target})")


if __name__ == "__main__":
    main()
