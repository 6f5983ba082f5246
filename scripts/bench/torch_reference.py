"""Plain-PyTorch reference of what one `sweep` run computes, for the benchmarks in run.sh.

    python torch_reference.py run CONFIG.toml [--shard I/N] [--threads 1] [--json OUT]
    python torch_reference.py sgemm [--n 1024] [--reps 5] [--threads 1]

`run` reads the same experiment file as the harness (the keys README.md documents), builds data
of the same shapes (bundled digits, blobs or IDX files; the split sizes follow the harness's
rules: per-class rounded test and validation shares, a stratified `train_subset`), and trains
the grid (noise rates x seeds x epsilons, or the I-th of N round-robin slices of it) the way
crates/trainer/src/train.rs does: per epoch, SGD steps over a fresh random permutation in
minibatches (`x[idx]`), label-smoothed cross-entropy, the loss read back every step, then an
evaluation under no_grad, in chunks of at most 64 MiB of activations, of
the whole training split (accuracy against the noisy and the clean labels, memorised and
corrected shares), the validation split (accuracy) and the test split (accuracy, NLL, 15-bin
ECE). The noise is drawn with numpy and is not the harness's; only shapes, counts and work are
matched.

The timed part of each run starts after the data are built, the imports are done and one
untimed warm-up step has run (torch initialises kernels lazily): model creation, tensors,
training and evaluation, as the harness's record `seconds` covers. The result (split sizes,
per-run seconds, the sum) is printed as one JSON line, or written to --json.

`sgemm` prints the best single-threaded torch.mm rate at n x n x n as `sgemm_gflops <value>`.
"""

import argparse
import gzip
import json
import math
import os
import struct
import sys
import time
import tomllib

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# Bytes of activations one evaluation chunk may hold, so that evaluation memory is bounded as in
# the harness. The harness holds 16 MiB of its own (EVAL_CHUNK_BYTES in
# crates/trainer/src/network.rs); torch gets four times that, counted below for a forward pass
# that keeps every intermediate (unfolded inputs, convolution, ReLU and pool outputs): chunks at
# least as large as the harness's, which only helps torch's speed.
EVAL_CHUNK_BYTES = 64 << 20
ECE_BINS = 15
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def rust_round(x):
    """Rounds half away from zero, as Rust's f64::round."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


# ----------------------------------------------------------------------------- data


def load_digits():
    path = os.path.join(REPO, "crates", "data", "assets", "digits.csv.gz")
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    return table[:, :-1], table[:, -1].astype(np.int64)


def make_blobs(data, rng):
    k = data.get("n_classes", 4)
    d = data.get("n_features", 8)
    n = data.get("n_samples", 800)
    sep = data.get("separation", 1.5)
    counts = [n // k + (1 if c < n % k else 0) for c in range(k)]
    labels = np.repeat(np.arange(k), counts)
    centres = (sep * rng.standard_normal((k, d))).astype(np.float32)
    features = rng.standard_normal((n, d), dtype=np.float32)
    features += centres[labels]
    return features, labels


def read_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    magic = struct.unpack(">I", raw[:4])[0]
    n_dims = magic & 0xFF
    dims = struct.unpack(">" + "I" * n_dims, raw[4 : 4 + 4 * n_dims])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * n_dims).reshape(dims)


def find_idx(folder, stem):
    for name in (stem, stem + ".gz"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return path
    sys.exit(f"error: {folder}: no {stem} or {stem}.gz")


def load_idx(data):
    folder = data.get("path", "")
    loaded = []
    for split, stem in (("train", "train"), ("test", "t10k")):
        images = read_idx(data.get(f"{split}_images")
                          or find_idx(folder, f"{stem}-images-idx3-ubyte"))
        labels = read_idx(data.get(f"{split}_labels")
                          or find_idx(folder, f"{stem}-labels-idx1-ubyte"))
        loaded += [images.reshape(len(images), -1), labels.astype(np.int64)]
    return (*loaded, (1,) + images.shape[1:])


def stratified_split(labels, n_classes, val_fraction, test_fraction, rng):
    train, val, test = [], [], []
    for c in range(n_classes):
        members = rng.permutation(np.flatnonzero(labels == c))
        n_test = rust_round(test_fraction * len(members))
        n_val = rust_round(val_fraction * len(members))
        test.append(members[:n_test])
        val.append(members[n_test:n_test + n_val])
        train.append(members[n_test + n_val:])
    return [np.sort(np.concatenate(p)) for p in (train, val, test)]


def stratified_subset(labels, n_classes, n, rng):
    if n >= len(labels):
        return np.arange(len(labels))
    counts = np.bincount(labels, minlength=n_classes)
    quotas = n * counts / len(labels)
    keep = np.floor(quotas).astype(int)
    order = sorted(range(n_classes), key=lambda c: (-(quotas[c] - math.floor(quotas[c])), c))
    for c in order[: n - keep.sum()]:
        keep[c] += 1
    rows = [rng.permutation(np.flatnonzero(labels == c))[: keep[c]] for c in range(n_classes)]
    return np.sort(np.concatenate(rows))


def prepare(config, rng):
    """Returns train/validation/test features (standardised on train) and labels, the classes
    and the image shape (channels, height, width) or None."""
    data = config["data"]
    source = data["source"]
    image_shape = None
    val_fraction = data.get("validation_fraction", 0.1)
    if source == "idx":
        x, y, x_test, y_test, image_shape = load_idx(data)
        n_classes = data.get("n_classes", 10)
        train, val, _ = stratified_split(y, n_classes, val_fraction, 0.0, rng)
    else:
        if source == "digits":
            x, y = load_digits()
        elif source == "blobs":
            x, y = make_blobs(data, rng)
        else:
            sys.exit(f"error: data.source {source!r} is not supported by the torch reference")
        n_classes = int(y.max()) + 1
        train, val, test = stratified_split(y, n_classes, val_fraction,
                                            data.get("test_fraction", 0.2), rng)
        x_test, y_test = x[test], y[test]
    if "train_subset" in data:
        train = train[stratified_subset(y[train], n_classes, data["train_subset"], rng)]
    x_train = x[train].astype(np.float32)
    mean = x_train.mean(0)
    std = x_train.std(0)
    std[std == 0] = 1.0

    def scale(a):
        return ((a.astype(np.float32) - mean) / std).astype(np.float32)

    return {
        "train": (scale(x_train), y[train]),
        "validation": (scale(x[val]), y[val]),
        "test": (scale(x_test), y_test),
        "n_classes": n_classes,
        "image_shape": image_shape,
    }


def corrupt(labels, n_classes, noise, rate, rng):
    """Noisy labels: about round(off-diagonal mass x n_c) flips per class."""
    kind = noise.get("model", "none")
    noisy = labels.copy()
    if kind == "none" or rate == 0:
        return noisy
    mass = rate * (n_classes - 1) / n_classes if kind == "uniform" else rate
    for c in range(n_classes):
        members = np.flatnonzero(labels == c)
        flip = rng.permutation(members)[: rust_round(mass * len(members))]
        if kind == "pair-flip":
            noisy[flip] = (c + 1) % n_classes
        else:
            noisy[flip] = (c + rng.integers(1, n_classes, size=len(flip))) % n_classes
    return noisy


# ----------------------------------------------------------------------------- model and run


def build_model(config, n_features, n_classes, image_shape):
    model = config["model"]
    kind = model["kind"]
    if kind == "cnn":
        if image_shape is None:
            sys.exit("error: a CNN needs image data")
        c1, c2 = model.get("channels", [16, 32])
        channels, height, width = image_shape
        return nn.Sequential(
            nn.Unflatten(1, (channels, height, width)),
            nn.Conv2d(channels, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(c2 * (height // 4) * (width // 4), n_classes),
        )
    widths = [n_features] + (model["hidden"] if kind == "mlp" else []) + [n_classes]
    layers = []
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    # PyTorch's default Linear and Conv2d initialisation is U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    # the harness's distribution.
    return nn.Sequential(*layers)


def eval_chunk_rows(config, n_features, n_classes, image_shape):
    """Rows evaluated at once, from the activation floats per row of a forward pass."""
    model = config["model"]
    if model["kind"] == "cnn":
        c1, c2 = model.get("channels", [16, 32])
        channels, height, width = image_shape
        pixels, pooled = height * width, (height // 2) * (width // 2)

        def block(cin, cout, p):
            return cin * 9 * p + 3 * cout * p + cout * p // 4

        floats = block(channels, c1, pixels) + block(c1, c2, pooled) \
            + c2 * (height // 4) * (width // 4)
    else:
        floats = sum((model["hidden"] if model["kind"] == "mlp" else []) + [n_classes])
    return max(EVAL_CHUNK_BYTES // (4 * max(floats, 1)), 1)


def log_probs(model, x, chunk_rows):
    with torch.no_grad():
        return torch.cat([F.log_softmax(model(x[i:i + chunk_rows]), 1)
                          for i in range(0, len(x), chunk_rows)])


def evaluate(lp, labels):
    predictions = lp.argmax(1)
    accuracy = (predictions == labels).double().mean().item()
    nll = -lp.gather(1, labels[:, None]).double().mean().item()
    confidence = lp.max(1).values.exp().double()
    bins = torch.clamp(torch.ceil(confidence * ECE_BINS).long() - 1, 0, ECE_BINS - 1)
    correct = (predictions == labels).double()
    count = torch.bincount(bins, minlength=ECE_BINS).double()
    conf_sum = torch.zeros(ECE_BINS, dtype=torch.float64).index_add_(0, bins, confidence)
    acc_sum = torch.zeros(ECE_BINS, dtype=torch.float64).index_add_(0, bins, correct)
    ece = ((acc_sum - conf_sum).abs().sum() / len(labels)).item()
    return predictions, accuracy, nll, ece


def train_run(config, prepared, noisy_train, noisy_val, epsilon, seed, project):
    training = config["training"]
    if training["optimizer"] != "sgd":
        sys.exit("error: the torch reference supports training.optimizer = \"sgd\" only")
    started = time.perf_counter()
    torch.manual_seed(seed)
    x_train = torch.from_numpy(prepared["train"][0])
    y_clean = torch.from_numpy(prepared["train"][1])
    y_noisy = torch.from_numpy(noisy_train)
    x_val = torch.from_numpy(prepared["validation"][0])
    y_val = torch.from_numpy(noisy_val)
    x_test = torch.from_numpy(prepared["test"][0])
    y_test = torch.from_numpy(prepared["test"][1])
    n = len(x_train)
    model = build_model(config, x_train.shape[1], prepared["n_classes"], prepared["image_shape"])
    lr = training["learning_rate"]
    optimizer = torch.optim.SGD(model.parameters(), lr=lr,
                                momentum=training.get("momentum", 0.9),
                                nesterov=training.get("nesterov", False),
                                weight_decay=training.get("weight_decay", 0.0))
    cosine = training.get("schedule", "constant") == "cosine"
    epochs, batch = training["epochs"], training["batch_size"]
    steps_per_epoch = -(-n // batch)
    total_steps = steps_per_epoch * epochs
    flipped = y_noisy != y_clean
    chunk = eval_chunk_rows(config, x_train.shape[1], prepared["n_classes"],
                            prepared["image_shape"])
    metrics = []
    training_seconds = 0.0
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(n)
        loss_sum = 0.0
        steps_started = time.perf_counter()
        for b in range(steps_per_epoch):
            if cosine:
                step = epoch * steps_per_epoch + b
                for group in optimizer.param_groups:
                    group["lr"] = lr * (1 + math.cos(math.pi * step / total_steps)) / 2
            idx = order[b * batch:(b + 1) * batch]
            loss = F.cross_entropy(model(x_train[idx]), y_noisy[idx], label_smoothing=epsilon)
            value = loss.item()
            if not math.isfinite(value):
                training_seconds += time.perf_counter() - steps_started
                return time.perf_counter() - started, training_seconds, None
            loss_sum += value
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        training_seconds += time.perf_counter() - steps_started
        model.eval()
        predictions, train_noisy_acc, _, _ = evaluate(log_probs(model, x_train, chunk), y_noisy)
        train_clean_acc = (predictions == y_clean).double().mean().item()
        n_flipped = int(flipped.sum())
        memorised = ((predictions == y_noisy) & flipped).sum().item() / max(n_flipped, 1)
        corrected = ((predictions == y_clean) & flipped).sum().item() / max(n_flipped, 1)
        val_acc = evaluate(log_probs(model, x_val, chunk), y_val)[1] if len(x_val) else None
        _, test_acc, test_nll, test_ece = evaluate(log_probs(model, x_test, chunk), y_test)
        metrics.append((loss_sum / steps_per_epoch, train_noisy_acc, train_clean_acc, memorised,
                        corrected, val_acc, test_acc, test_nll, test_ece))
    if project and isinstance(model[0], nn.Linear) and len(model) > 1:
        # The harness's penultimate-layer projection: up to 200 test samples of classes 0-2.
        rows = torch.cat([torch.nonzero(y_test == c).flatten()[:200] for c in range(3)])
        with torch.no_grad():
            _ = model[:-1](x_test[rows]) @ model[-1].weight[:3].T
    return time.perf_counter() - started, training_seconds, metrics[-1]


def warm_up(config, prepared):
    """One untimed step and evaluation on a few samples, so that torch's one-off lazy
    initialisation (loading kernels and libraries on first use) is not charged to the first run."""
    x = torch.from_numpy(prepared["train"][0][:8])
    y = torch.from_numpy(prepared["train"][1][:8])
    model = build_model(config, x.shape[1], prepared["n_classes"], prepared["image_shape"])
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4)
    loss = F.cross_entropy(model(x[torch.randperm(len(x))]), y, label_smoothing=0.1)
    loss.item()
    loss.backward()
    optimizer.step()
    evaluate(log_probs(model, x, len(x)), y)


def run_command(args):
    torch.set_num_threads(args.threads)
    with open(args.config, "rb") as f:
        config = tomllib.load(f)
    shard_index, shard_count = (int(v) for v in args.shard.split("/"))
    rng = np.random.default_rng(config.get("seed", 0))
    prepared = prepare(config, rng)
    n_classes = prepared["n_classes"]
    noise = config["noise"]
    rates, epsilons = noise["rates"], config["targets"]["epsilons"]
    seeds = config.get("seeds", 3)
    grid = [(r, s, e) for r, rate in enumerate(rates) for s in range(seeds)
            for e, eps in enumerate(epsilons)]
    mine = [g for i, g in enumerate(grid) if i % shard_count == shard_index - 1]
    noisy = {}
    for r, s, _ in mine:
        if (r, s) not in noisy:
            group_rng = np.random.default_rng([config.get("seed", 0), r, s])
            corrupt_val = noise.get("corrupt_validation", True)
            noisy[(r, s)] = (
                corrupt(prepared["train"][1], n_classes, noise, rates[r], group_rng),
                corrupt(prepared["validation"][1], n_classes, noise, rates[r], group_rng)
                if corrupt_val else prepared["validation"][1].copy(),
            )
    warm_up(config, prepared)
    seconds = []
    training = []
    last = None
    for r, s, e in mine:
        train_noisy, val_noisy = noisy[(r, s)]
        project = s == 0 and config["model"]["kind"] == "mlp" and n_classes >= 3
        run_seconds, training_seconds, last = train_run(
            config, prepared, train_noisy, val_noisy, epsilons[e], 1000 * s + 7, project)
        seconds.append(run_seconds)
        training.append(training_seconds)
    result = {
        "split": [len(prepared[p][0]) for p in ("train", "validation", "test")],
        "runs": len(mine),
        "threads": torch.get_num_threads(),
        "loop_seconds": sum(seconds),
        "run_seconds": seconds,
        "training_seconds": sum(training),
        "last_run_last_epoch": last,
    }
    line = json.dumps(result)
    if args.json:
        with open(args.json, "w") as f:
            f.write(line + "\n")
    else:
        print(line)


def sgemm_command(args):
    torch.set_num_threads(args.threads)
    n = args.n
    a = torch.rand(n, n, dtype=torch.float32)
    b = torch.rand(n, n, dtype=torch.float32)
    out = torch.empty(n, n, dtype=torch.float32)
    torch.mm(a, b, out=out)  # warm-up
    best = math.inf
    for _ in range(args.reps):
        started = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - started)
    print(f"sgemm_gflops {2 * n ** 3 / best / 1e9:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train an experiment file's grid (or a slice of it)")
    run.add_argument("config")
    run.add_argument("--shard", default="1/1", help="I/N: the I-th of N round-robin slices")
    run.add_argument("--threads", type=int, default=1)
    run.add_argument("--json", help="write the result line here instead of stdout")
    sgemm = sub.add_parser("sgemm", help="single-threaded torch.mm rate")
    sgemm.add_argument("--n", type=int, default=1024)
    sgemm.add_argument("--reps", type=int, default=5)
    sgemm.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_interop_threads(1)
    run_command(args) if args.command == "run" else sgemm_command(args)


if __name__ == "__main__":
    main()
