#!/usr/bin/python3
"""PyTorch peer of tests/bench/compare.sh: trains the model kurc trains there
on the same data, batch, optimizer and schedule, and prints its rate.

Models (as tests/bench/fmnist_kurfile.sh writes them for kurc):
  conv  the MNIST example: conv 64 3x3 same -> relu -> flatten -> dense 10
        -> softmax
  mlp   784-512-512-10: dense 512 -> relu -> dense 512 -> relu -> dense 10
        -> softmax
Kur's categorical cross-entropy, Adam (lr 0.001), glorot-uniform weights and
zero biases; Debian's Fashion-MNIST training set normalised as Kur's mnist
supplier does (/255, minus the file's mean); each epoch `--batches` random
batches of `--batch` samples (the global batch: with `--ranks 2`, PyTorch
DDP over gloo, each rank takes half of every batch).  One thread per rank.

Usage: compare_torch.py --model conv|mlp --batch B --batches N
                        [--epochs 2] [--ranks 1|2]
Prints one line: samples_per_s=<rate of the epochs after the first>
(all ranks together), as kurc prints the rate of its second epoch.
Run with Debian's /usr/bin/python3 (python3-torch).
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

DATA = "/usr/share/datasets/fashion-mnist"


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load():
    images = idx(os.path.join(DATA, "train-images-idx3-ubyte.gz")).astype(np.float32)
    images /= 255.0
    images -= images.mean()
    labels = idx(os.path.join(DATA, "train-labels-idx1-ubyte.gz"))
    return (torch.from_numpy(images[:, None, :, :].copy()),
            torch.from_numpy(labels.astype(np.int64)))


def model_of(name):
    if name == "conv":
        layers = [torch.nn.Conv2d(1, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                  torch.nn.Linear(64 * 28 * 28, 10)]
    else:
        layers = [torch.nn.Flatten(), torch.nn.Linear(784, 512), torch.nn.ReLU(),
                  torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10)]
    model = torch.nn.Sequential(*layers, torch.nn.Softmax(dim=1))
    for layer in model:
        if isinstance(layer, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.xavier_uniform_(layer.weight)
            torch.nn.init.zeros_(layer.bias)
    return model


def kur_cce(probs, labels):
    probs = probs / probs.sum(dim=1, keepdim=True)
    probs = probs.clamp(1e-7, 1 - 1e-7)
    return -torch.log(probs.gather(1, labels[:, None])).mean()


def train(rank, args):
    torch.set_num_threads(1)
    torch.manual_seed(1)
    if args.ranks > 1:
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(args.port))
        dist.init_process_group("gloo", rank=rank, world_size=args.ranks)
    train_x, train_y = load()
    model = model_of(args.model)
    if args.ranks > 1:
        model = torch.nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001, eps=1e-8)
    rng = np.random.default_rng(1)
    share = args.batch // args.ranks
    samples, started = 0, None
    for epoch in range(args.epochs):
        if epoch == 1:
            started, samples = time.perf_counter(), 0
        order = rng.permutation(len(train_x))
        for b in range(args.batches):
            batch = order[b * args.batch:(b + 1) * args.batch][rank * share:(rank + 1) * share]
            batch = torch.from_numpy(batch)
            optimizer.zero_grad()
            loss = kur_cce(model(train_x[batch]), train_y[batch])
            loss.backward()
            optimizer.step()
            samples += args.batch
    if rank == 0:
        elapsed = time.perf_counter() - started if started else float("nan")
        print("samples_per_s=%.1f" % (samples / elapsed), flush=True)
    if args.ranks > 1:
        dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["conv", "mlp"], required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--batches", type=int, required=True)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--ranks", type=int, default=1)
    parser.add_argument("--port", type=int, default=29517)
    args = parser.parse_args()
    if args.ranks > 1:
        mp.spawn(train, args=(args,), nprocs=args.ranks)
    else:
        train(0, args)


if __name__ == "__main__":
    main()
