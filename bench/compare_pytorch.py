#!/usr/bin/env python3
"""Train the simdmlp study's network with PyTorch, for `make compare-pytorch`.

    compare_pytorch.py train --data DIR --batch 16 --opt sgd --epochs 2 \
        --threads 1 --json out.json
    compare_pytorch.py report DIR   # torch-*.json and go/*/run.json -> table

`train` runs what `go run ./train -opt OPT -batch B -epochs N -threads T`
runs: Fashion-MNIST read from the gzip IDX files, pixels scaled to [0, 1],
784-128-64-10 with ReLU and dropout 0.02 after each hidden layer, PyTorch's
default initialisation, mean cross-entropy, torch.optim.SGD (lr 0.001) or
Adam (PyTorch's defaults), a fresh shuffle per epoch, the last batch
partial; after each epoch, evaluation of the training and the test set in
batches of 1000. It keeps the loss and the number of rows classified right
during training, as the Go trainer does.

PyTorch at its best on a CPU: the whole data set is converted to float
tensors once, before the clock starts (no DataLoader, no per-batch
conversion; the Go trainer converts bytes to floats in every step), and
evaluation runs under torch.inference_mode(). The thread count is set with
torch.set_num_threads, OMP_NUM_THREADS and OPENBLAS_NUM_THREADS.

It records the torch version and which BLAS library the process has
mapped (/proc/self/maps): Debian's torch calls the system BLAS through the
libblas.so.3 alternative, which may be the reference BLAS.
"""

import argparse
import ctypes
import glob
import gzip
import json
import os
import re
import statistics
import sys
import time


def load_idx(path):
    """Returns the array in a (gzipped) IDX file."""
    import numpy as np

    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = data[0] * 256 + data[1], data[2], data[3]
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims)


def find_file(data_dir, stem):
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx") + ".gz", stem.replace("-idx", ".idx")):
        p = os.path.join(data_dir, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"{stem}[.gz] not in {data_dir}")


def load_split(data_dir, prefix):
    images = load_idx(find_file(data_dir, f"{prefix}-images-idx3-ubyte"))
    labels = load_idx(find_file(data_dir, f"{prefix}-labels-idx1-ubyte"))
    return images.reshape(images.shape[0], -1), labels


def mapped_blas():
    """The BLAS-related libraries this process has mapped, and OpenBLAS's
    own description of itself when one of them is OpenBLAS."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and parts[5].startswith("/"):
                name = os.path.basename(parts[5])
                if re.search(r"blas|lapack|mkl|blis|atlas|dnnl", name):
                    libs.add(parts[5])
    config = None
    for path in sorted(libs):
        try:
            lib = ctypes.CDLL(path)
            fn = lib.openblas_get_config
            fn.restype = ctypes.c_char_p
            config = fn().decode()
            core = lib.openblas_get_corename
            core.restype = ctypes.c_char_p
            config += ", core " + core().decode()
            break
        except (OSError, AttributeError):
            continue
    libblas = [p for p in sorted(libs) if os.path.basename(p).startswith("libblas.so")]
    return {"mapped": sorted(libs), "libblas": libblas[0] if libblas else None, "openblas_config": config}


def train(args):
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np
    import torch
    from torch import nn

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(args.seed)

    xtr, ytr = load_split(args.data, "train")
    xte, yte = load_split(args.data, "t10k")
    # Pre-loaded float tensors, pixels in [0, 1], as the Go trainer's -norm unit.
    xtr = torch.from_numpy(xtr.astype(np.float32) / 255)
    xte = torch.from_numpy(xte.astype(np.float32) / 255)
    ytr = torch.from_numpy(ytr.astype(np.int64))
    yte = torch.from_numpy(yte.astype(np.int64))

    sizes = [xtr.shape[1]] + args.hidden + [10]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers += [nn.ReLU(), nn.Dropout(args.dropout)]
    model = nn.Sequential(*layers)
    loss_fn = nn.CrossEntropyLoss()
    if args.opt == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=args.lr)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=args.lr)

    def evaluate(x, y):
        model.eval()
        correct = 0
        with torch.inference_mode():
            for lo in range(0, x.shape[0], 1000):
                correct += int((model(x[lo : lo + 1000]).argmax(1) == y[lo : lo + 1000]).sum())
        return 100.0 * correct / x.shape[0]

    n = xtr.shape[0]
    gen = torch.Generator().manual_seed(args.seed)
    epochs = []
    for epoch in range(1, args.epochs + 1):
        perm = torch.randperm(n, generator=gen)
        model.train()
        loss_sum = torch.zeros(())
        correct = torch.zeros((), dtype=torch.int64)
        t0 = time.perf_counter()
        for lo in range(0, n, args.batch):
            idx = perm[lo : lo + args.batch]
            xb, yb = xtr[idx], ytr[idx]
            opt.zero_grad(set_to_none=True)
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            with torch.no_grad():
                loss_sum += loss.detach() * idx.shape[0]
                correct += (out.argmax(1) == yb).sum()
        train_sec = time.perf_counter() - t0
        t1 = time.perf_counter()
        prec_train = evaluate(xtr, ytr)
        prec_test = evaluate(xte, yte)
        eval_sec = time.perf_counter() - t1
        rec = {"epoch": epoch, "loss": float(loss_sum) / n, "prec_during": 100.0 * int(correct) / n,
               "prec_train": prec_train, "prec_test": prec_test,
               "train_seconds": train_sec, "eval_seconds": eval_sec}
        epochs.append(rec)
        if not args.quiet:
            print(f"torch {args.opt} b={args.batch} epoch {epoch}/{args.epochs}  loss {rec['loss']:.4f}  "
                  f"test {prec_test:6.2f}%  {train_sec:6.2f}s train {eval_sec:5.2f}s eval", flush=True)

    cap = re.search(r"CPU capability usage: (\S+)", torch.__config__.show())
    result = {
        "config": {"optimizer": args.opt, "batch": args.batch, "epochs": args.epochs, "lr": args.lr,
                   "hidden": args.hidden, "dropout": args.dropout, "seed": args.seed},
        "torch_version": torch.__version__,
        "debian_package": debian_version("python3-torch"),
        "cpu_capability": cap.group(1) if cap else None,
        "threads": torch.get_num_threads(),
        "blas": mapped_blas(),
        "python": sys.version.split()[0],
        "epochs": epochs,
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


def debian_version(pkg):
    try:
        out = os.popen(f"dpkg-query -W -f '${{Version}}' {pkg} 2>/dev/null").read().strip()
        return out or None
    except OSError:
        return None


def mean(recs, key):
    return statistics.fmean(r[key] for r in recs)


def report(args):
    torch_runs = {}
    for p in sorted(glob.glob(os.path.join(args.dir, "torch-*.json"))):
        with open(p) as f:
            r = json.load(f)
        torch_runs[(r["config"]["optimizer"], r["config"]["batch"])] = r
    go_runs = {}
    for p in sorted(glob.glob(os.path.join(args.dir, "go", "*", "run.json"))):
        with open(p) as f:
            r = json.load(f)
        go_runs[(r["config"]["optimizer"], r["config"]["batch"])] = r
    if not torch_runs:
        sys.exit(f"compare_pytorch.py: no torch-*.json in {args.dir}")

    any_torch = next(iter(torch_runs.values()))
    blas = any_torch["blas"]
    print(f"PyTorch {any_torch['torch_version']} (Debian python3-torch {any_torch['debian_package']}), "
          f"Python {any_torch['python']}, ATen CPU capability {any_torch['cpu_capability']}, "
          f"{any_torch['threads']} thread(s)")
    print(f"  libblas.so.3 mapped: {blas['libblas']}")
    print(f"  OpenBLAS: {blas['openblas_config'] or 'none mapped'}")
    print(f"  BLAS-related libraries mapped: {', '.join(blas['mapped']) or 'none'}")
    if blas["libblas"] and "openblas" not in blas["libblas"] and not blas["openblas_config"]:
        print("  WARNING: torch is not using OpenBLAS; this is not PyTorch at its best (see bench/compare-pytorch.sh)")
    if go_runs:
        g = next(iter(go_runs.values()))
        print(f"simdmlp: {g['kernels']} kernels, {g['threads']} thread(s), {g['go_version']} {g['goarch']}, {g['cpu']}")
    print()
    print("Seconds per epoch, mean over the epochs (train: the epoch's training steps;")
    print("+eval: plus evaluating the 60,000 training and 10,000 test images).")
    print("ratio = PyTorch / simdmlp: how many times faster simdmlp is. Test accuracy after the last epoch.")
    print()
    head = (f"{'run':<12} {'epochs':>6} {'torch train':>11} {'simdmlp':>8} {'ratio':>6}   "
            f"{'torch +eval':>11} {'simdmlp':>8} {'ratio':>6}   {'torch test%':>11} {'simdmlp':>8}")
    print(head)
    print("-" * len(head))
    for key in sorted(torch_runs, key=lambda k: (k[0] != "sgd", k[0], k[1])):
        t = torch_runs[key]["epochs"]
        tt = mean(t, "train_seconds")
        te = tt + mean(t, "eval_seconds")
        line = f"{key[0] + ' b=' + str(key[1]):<12} {len(t):>6} {tt:>11.2f} "
        if key in go_runs:
            g = go_runs[key]["epochs"]
            gt = mean(g, "train_seconds")
            ge = gt + mean(g, "eval_seconds")
            line += (f"{gt:>8.2f} {tt / gt:>6.2f}   {te:>11.2f} {ge:>8.2f} {te / ge:>6.2f}   "
                     f"{t[-1]['prec_test']:>11.2f} {g[-1]['prec_test']:>8.2f}")
        else:
            line += f"{'-':>8} {'-':>6}   {te:>11.2f} {'-':>8} {'-':>6}   {t[-1]['prec_test']:>11.2f} {'-':>8}"
        print(line)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train with PyTorch and write the timings as JSON")
    t.add_argument("--data", default=os.environ.get("SIMDMLP_DATA", "/usr/share/datasets/fashion-mnist"))
    t.add_argument("--opt", choices=["sgd", "adam"], default="sgd")
    t.add_argument("--batch", type=int, default=16)
    t.add_argument("--epochs", type=int, default=2)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--lr", type=float, default=0.001)
    t.add_argument("--hidden", type=lambda s: [int(x) for x in s.split(",")], default=[128, 64])
    t.add_argument("--dropout", type=float, default=0.02)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--json", help="write the results here")
    t.add_argument("--quiet", action="store_true")
    r = sub.add_parser("report", help="print the table from a directory of results")
    r.add_argument("dir")
    args = ap.parse_args()
    if args.cmd == "train":
        if args.threads < 1 or args.batch < 1 or args.epochs < 1:
            ap.error("--threads, --batch and --epochs must be positive")
        train(args)
    else:
        report(args)


if __name__ == "__main__":
    main()
