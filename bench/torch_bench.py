#!/usr/bin/python3
"""Times the benchmark workloads (bench/WORKLOADS.md) in PyTorch: one training
step (forward + backward) each, float32, inputs created before timing, in
a training loop's steady state, then --reps timed steps. The same
workloads, names, shapes and options as torchloss's internal/bench package,
and the same --json format as `torchloss bench --json`.

The steady state, as `torchloss bench` times its own:
- the loop is optimizer.zero_grad(set_to_none=False)'s: each step zeroes
  the leaves' .grad in place (kept from the step before), computes the
  loss, and calls backward(), which accumulates into .grad;
- three warm-up steps before the timed ones;
- glibc keeps freed memory for reuse, as a training process does after a
  few steps: the script runs with MALLOC_MMAP_THRESHOLD_=2000000000 and
  MALLOC_TRIM_THRESHOLD_=2000000000 in its environment (it re-executes
  itself with them when they are missing). Without them glibc hands each
  step's large tensors out by mmap and takes them back by munmap, so every
  step first-touches new pages, which on some machines costs more than
  the loss itself; --glibc-default keeps that mode (not PyTorch's steady
  state; for the record only).

With --device cuda the inputs are created on the GPU (PyTorch's default
device for the run) and each timed step also waits for the GPU: the same
loop, then loss.item() and torch.cuda.synchronize(), time.perf_counter
around the whole step. --copy adds "copy": the bandwidth of a device copy
of 32M float32 (bytes read + written per second), the yardstick of the
elementwise workloads.

usage: python3 bench/torch_bench.py [--workload NAME] [--threads N]
                                    [--scale S] [--reps R] [--json]
                                    [--glibc-default] [--device cpu|cuda]
                                    [--copy]
(PyTorch 1.13 on the development machine is /usr/bin/python3.)
"""
import argparse
import gc
import json
import os
import statistics
import sys
import time

# glibc's thresholds for a steady-state process: see the docstring. They
# must be in the environment when the process starts.
STEADY_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "2000000000", "MALLOC_TRIM_THRESHOLD_": "2000000000"}
LOOP = "steady state: grads kept and zeroed in place (zero_grad(set_to_none=False)), loss, backward; 3 warm-up steps"
WARMUP = 3


def steady_malloc():
    return all(os.environ.get(k) == v for k, v in STEADY_MALLOC.items())


if __name__ == "__main__" and "--glibc-default" not in sys.argv and not steady_malloc():
    env = dict(os.environ)
    env.update(STEADY_MALLOC)
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import torch
import torch.nn.functional as F

M = 1 << 22


def leaf(t, grad=True):
    return t.detach().requires_grad_(grad)


def w_bce(s):
    n = M * s
    x = leaf(torch.randn(n))
    y = torch.rand(n)
    return [x], lambda: F.binary_cross_entropy(torch.sigmoid(x), y), n


def w_bce_direct(s):
    n = M * s
    p = leaf(torch.rand(n) * 0.98 + 0.01)
    y = torch.rand(n)
    return [p], lambda: F.binary_cross_entropy(p, y), n


def w_bce_logits(s):
    r = M // 64 * s
    x = leaf(torch.randn(r, 64))
    y = torch.rand(r, 64)
    pw = torch.rand(64) + 0.5
    return [x], lambda: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw), r * 64


def w_poisson(s):
    n = M * s
    x = leaf(torch.randn(n))
    y = torch.poisson(torch.rand(n) * 4)
    return [x], lambda: F.poisson_nll_loss(x, y, log_input=True, full=True), n


def w_cosine(s):
    b, d = 16384 * s, 256
    a = leaf(torch.randn(b, d))
    c = leaf(torch.randn(b, d))
    y = torch.randint(0, 2, (b,)).float() * 2 - 1
    return [a, c], lambda: F.cosine_embedding_loss(a, c, y, margin=0.2), b * d


def ce(rows, classes, smooth):
    def w(s):
        b = rows * s
        x = leaf(torch.randn(b, classes))
        t = torch.randint(0, classes, (b,))
        if smooth:
            wt = torch.rand(classes) + 0.5
            return [x], lambda: F.cross_entropy(x, t, weight=wt, ignore_index=0, label_smoothing=0.1), b * classes
        return [x], lambda: F.cross_entropy(x, t), b * classes
    return w


def w_ctc(s):
    T, N, C, L = 400, 32 * s, 40, 100
    lp = leaf(F.log_softmax(torch.randn(T, N, C), dim=2))
    tg = torch.randint(1, C, (N, L))
    il = torch.full((N,), T, dtype=torch.long)
    tl = torch.randint(50, 101, (N,))
    return [lp], lambda: F.ctc_loss(lp, tg, il, tl, blank=0), T * N * C


def w_gaussian(s):
    n = M * s
    x = leaf(torch.randn(n))
    y = torch.randn(n)
    v = leaf(torch.rand(n) + 0.1)
    return [x, v], lambda: F.gaussian_nll_loss(x, y, v), n


def w_hinge(s):
    n = M * s
    x = leaf(torch.randn(n))
    y = torch.randint(0, 2, (n,)).float() * 2 - 1
    return [x], lambda: F.hinge_embedding_loss(x, y, margin=1.0), n


def w_kl(s):
    b, c = 8192 * s, 1000
    i = leaf(F.log_softmax(torch.randn(b, c), dim=1))
    t = F.softmax(torch.randn(b, c), dim=1)
    return [i], lambda: F.kl_div(i, t, reduction="batchmean"), b * c


def w_l1(s):
    n = M * s
    x = leaf(torch.randn(n))
    y = torch.randn(n)
    return [x], lambda: F.l1_loss(x, y), n


def w_mse(s):
    n = M * s
    x = leaf(torch.randn(n))
    y = torch.randn(n)
    return [x], lambda: F.mse_loss(x, y), n


WORKLOADS = [
    ("binary_cross_entropy", w_bce),
    ("binary_cross_entropy_direct", w_bce_direct),
    ("binary_cross_entropy_with_logits", w_bce_logits),
    ("poisson_nll_loss", w_poisson),
    ("cosine_embedding_loss", w_cosine),
    ("cross_entropy", ce(8192, 1000, False)),
    ("cross_entropy_smooth_ignore", ce(8192, 1000, True)),
    ("cross_entropy_vocab32k", ce(2048, 32000, False)),
    ("ctc_loss", w_ctc),
    ("gaussian_nll_loss", w_gaussian),
    ("hinge_embedding_loss", w_hinge),
    ("kl_div", w_kl),
    ("l1_loss", w_l1),
    ("mse_loss", w_mse),
]


def run(setup, scale, reps, cuda=False):
    leaves, loss, elems = setup(scale)

    def step():
        # optimizer.zero_grad(set_to_none=False): the .grad tensors are
        # kept and zeroed in place (none before the first step).
        for l in leaves:
            if l.grad is not None:
                l.grad.zero_()
        out = loss()
        out.backward()
        if cuda:
            out.item()
            torch.cuda.synchronize()

    for _ in range(WARMUP):
        step()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return {"median_s": med, "min_s": min(times), "elems_per_s": elems / med, "reps": reps, "loop": LOOP}


def copy_bandwidth(cuda, n=32 << 20, reps=20):
    """The median time of dst.copy_(src) for n float32 and its bandwidth,
    counting the bytes read and written (2 * 4n)."""
    src = torch.randn(n)
    dst = torch.empty_like(src)
    times = []
    for i in range(reps + 3):
        t0 = time.perf_counter()
        dst.copy_(src)
        if cuda:
            torch.cuda.synchronize()
        if i >= 3:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return {"median_s": med, "bytes": 8 * n, "bytes_per_s": 8 * n / med}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workload", default="")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--glibc-default", action="store_true",
                    help="do not set glibc's thresholds (first-touch every step: not PyTorch's steady state)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--copy", action="store_true", help="also measure the device copy bandwidth")
    a = ap.parse_args()
    cuda = a.device == "cuda"
    if cuda:
        if not torch.cuda.is_available():
            print("torch_bench: no CUDA device for torch %s" % torch.__version__, file=sys.stderr)
            return 1
        torch.set_default_device("cuda")
    malloc = "steady (%s)" % " ".join("%s=%s" % kv for kv in STEADY_MALLOC.items()) if steady_malloc() else "glibc default"
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    ws = [w for w in WORKLOADS if not a.workload or w[0] == a.workload]
    if not ws:
        print("unknown workload", a.workload, file=sys.stderr)
        return 2
    res = {}
    if not a.json:
        print("device=%s threads=%d scale=%d reps=%d torch %s" % (a.device, torch.get_num_threads(), a.scale, a.reps, torch.__version__))
        print("loop: %s; malloc: %s" % (LOOP, malloc))
    for name, setup in ws:
        r = run(setup, a.scale, a.reps, cuda)
        res[name] = r
        if not a.json:
            print("%-34s %10.5f %10.5f %12.4g" % (name, r["median_s"], r["min_s"], r["elems_per_s"]))
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()
    doc = {"results": res, "device": a.device, "threads": torch.get_num_threads(), "torch": torch.__version__,
           "loop": LOOP, "malloc": malloc}
    if a.copy:
        doc["copy"] = copy_bandwidth(cuda)
        if not a.json:
            print("copy of 32M float32: %.4g s, %.1f GB/s" % (doc["copy"]["median_s"], doc["copy"]["bytes_per_s"] / 1e9))
    if cuda:
        doc["gpu"] = torch.cuda.get_device_name()
        doc["loop"] = LOOP + "; each timed step ends with loss.item() and torch.cuda.synchronize()"
    if a.json:
        print(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
