#!/usr/bin/python3
"""PyTorch peer of Kur's mnist example (examples/mnist.yml), for comparing
kurc's accuracy and speed with PyTorch on the same model, data and schedule.

Model: input (28, 28, 1) -> convolution 64 kernels 3x3 same -> relu ->
flatten -> dense 10 -> softmax; Kur's categorical cross-entropy (renormalise,
clip to [1e-7, 1 - 1e-7]); Adam lr 0.001; batch 32; `num_batches` random
batches per epoch; then accuracy on the whole test set.  Data: Debian's
Fashion-MNIST IDX files, normalised as Kur's mnist supplier does (/255, then
minus the file's global mean).

Usage: fmnist_torch_peer.py [--epochs 10] [--num-batches 15] [--seed 0]
                            [--threads 1] [--data DIR] [--device cpu|cuda]
Prints one line: accuracy=<test accuracy> samples_per_s=<training rate>
steady_samples_per_s=<the rate after the first epoch>.
Run with Debian's /usr/bin/python3 (python3-torch).
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(directory, prefix):
    images = idx(os.path.join(directory, prefix + "-images-idx3-ubyte.gz")).astype(np.float32)
    images /= 255.0
    images -= images.mean()
    labels = idx(os.path.join(directory, prefix + "-labels-idx1-ubyte.gz"))
    return torch.from_numpy(images[:, None, :, :].copy()), torch.from_numpy(labels.astype(np.int64))


def kur_cce(probs, labels):
    probs = probs / probs.sum(dim=1, keepdim=True)
    probs = probs.clamp(1e-7, 1 - 1e-7)
    return -torch.log(probs.gather(1, labels[:, None])).mean()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--num-batches", type=int, default=15)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    train_x, train_y = (t.to(device) for t in load(args.data, "train"))
    test_x, test_y = (t.to(device) for t in load(args.data, "t10k"))
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(64 * 28 * 28, 10), torch.nn.Softmax(dim=1)).to(device)
    # Keras' glorot-uniform kernels and zero biases, as Kur's model had
    for layer in model:
        if isinstance(layer, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.xavier_uniform_(layer.weight)
            torch.nn.init.zeros_(layer.bias)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001, eps=1e-8)
    samples = 0
    started = time.perf_counter()
    for epoch in range(args.epochs):
        if epoch == 1:  # the rate after the first (warm-up) epoch, as kurc's
            if device.type == "cuda":
                torch.cuda.synchronize()
            steady_started, steady_samples = time.perf_counter(), samples
        order = rng.permutation(len(train_x))
        for b in range(args.num_batches):
            batch = torch.from_numpy(order[b * args.batch:(b + 1) * args.batch]).to(device)
            optimizer.zero_grad()
            loss = kur_cce(model(train_x[batch]), train_y[batch])
            loss.backward()
            optimizer.step()
            samples += len(batch)
    if device.type == "cuda":
        torch.cuda.synchronize()
    ended = time.perf_counter()
    elapsed = ended - started
    steady = ((samples - steady_samples) / (ended - steady_started)
              if args.epochs > 1 else samples / elapsed)
    with torch.no_grad():
        correct = 0
        for i in range(0, len(test_x), 1000):
            correct += (model(test_x[i:i + 1000]).argmax(1) == test_y[i:i + 1000]).sum().item()
    print("accuracy=%.4f samples_per_s=%.1f steady_samples_per_s=%.1f"
          % (correct / len(test_x), samples / elapsed, steady))


if __name__ == "__main__":
    main()
