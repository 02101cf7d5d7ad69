#!/usr/bin/python3
"""Runs torchloss's and PyTorch's benchmark workloads side by side, at 1 and
2 threads, interleaved (for each workload and thread count: PyTorch, then
torchloss, each in a fresh process), and prints the table of median step
times and ratios (PyTorch time / torchloss time: > 1 means torchloss is
faster), of the median step times and of the fastest steps (min-ratio,
less sensitive to other load on the machine).

With --rounds R the whole interleaved sequence runs R times and each side's
figure is the median over the rounds of its per-round medians (the minimum
over all rounds for min-ratio), which steadies the table on a shared machine.

With --device cuda (a GPU machine: PyTorch with CUDA and a torchloss built
with the cuda package) it runs, for each scale of --scales (default 1,8),
all the workloads on the GPU in one PyTorch process and then in one
torchloss process (torch_bench.py --device cuda, torchloss bench --device
cuda; each step synchronized and timed whole, medians), measures the copy
bandwidth of the device (a copy of 32M float32, bytes read + written) and
prints per workload the times and ratios at each scale, and at the largest
scale the bytes a step must at least move (float32: each input read once,
each gradient written once), the GB/s torchloss achieves on them and its
time over the time those bytes take at the copy bandwidth ("x copy": the
acceptance asks <= 2 for the elementwise losses).

usage: python3 bench/compare.py [--threads 1,2] [--reps 7]
       [--rounds 1] [--scale 1] [--workload NAME] [--markdown]
       [--device cpu|cuda] [--scales 1,8] [--python PY] [--go BIN]
Build first: go build -o /tmp/torchloss ./cmd/torchloss (or pass --go BIN).
PyTorch runs under --python (default: this interpreter).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = [
    "binary_cross_entropy", "binary_cross_entropy_direct",
    "binary_cross_entropy_with_logits", "poisson_nll_loss",
    "cosine_embedding_loss", "cross_entropy", "cross_entropy_smooth_ignore",
    "cross_entropy_vocab32k", "ctc_loss", "gaussian_nll_loss",
    "hinge_embedding_loss", "kl_div", "l1_loss", "mse_loss",
]


# MOVED: bytes per element (of the workload's elems) that one float32 step
# must at least move: inputs read and gradients (and intermediate outputs
# the user holds, such as the sigmoid's) written once each.
MOVED = {
    "binary_cross_entropy": 16,  # x, y read; sigmoid(x) and grad x written
    "binary_cross_entropy_direct": 12,
    "binary_cross_entropy_with_logits": 12,
    "poisson_nll_loss": 12,
    "cosine_embedding_loss": 16,  # a, b read; grad a, grad b written
    "cross_entropy": 8,  # logits read, grad written (targets: 8 B a row)
    "cross_entropy_smooth_ignore": 8,
    "cross_entropy_vocab32k": 8,
    "ctc_loss": 8,
    "gaussian_nll_loss": 20,  # input, target, var read; grad input, var written
    "hinge_embedding_loss": 12,
    "kl_div": 12,
    "l1_loss": 12,
    "mse_loss": 12,
}
# The elementwise losses of the bandwidth criterion.
ELEMENTWISE = ["binary_cross_entropy_direct", "binary_cross_entropy_with_logits", "poisson_nll_loss",
               "gaussian_nll_loss", "hinge_embedding_loss", "l1_loss", "mse_loss"]


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["results"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--workload", default="")
    ap.add_argument("--go", default="/tmp/torchloss")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--scales", default="1,8", help="--device cuda: the scales, side by side")
    ap.add_argument("--python", default=sys.executable, help="the interpreter with torch")
    a = ap.parse_args()
    if a.device == "cuda":
        return device_table(a)
    threads = [int(t) for t in a.threads.split(",")]
    names = [n for n in NAMES if not a.workload or n == a.workload]
    runs = {}
    for rnd in range(a.rounds):
        for name in names:
            for t in threads:
                common = ["--workload", name, "--threads", str(t), "--reps", str(a.reps), "--scale", str(a.scale), "--json"]
                pt = run([a.python, os.path.join(HERE, "torch_bench.py")] + common)[name]
                go = run([a.go, "bench"] + common)[name]
                runs.setdefault((name, t), []).append((pt, go))
                print("round %d %-34s t=%d torch %.5f go %.5f ratio %.2fx" % (rnd + 1, name, t, pt["median_s"], go["median_s"], pt["median_s"] / go["median_s"]), file=sys.stderr)
    rows = {}
    for key, rs in runs.items():
        pt = {"median_s": statistics.median(p["median_s"] for p, _ in rs), "min_s": min(p["min_s"] for p, _ in rs)}
        go = dict(rs[0][1])
        go["median_s"] = statistics.median(g["median_s"] for _, g in rs)
        go["min_s"] = min(g["min_s"] for _, g in rs)
        rows[key] = (pt, go)
    hdr = ["workload"]
    for t in threads:
        hdr += ["torch %dt s" % t, "go %dt s" % t, "ratio %dt" % t, "min-ratio %dt" % t]
    hdr += ["go allocs/step", "go MB/step"]
    lines = []
    if a.markdown:
        lines.append("| " + " | ".join(hdr) + " |")
        lines.append("|" + " --- |" * len(hdr))
    else:
        lines.append(" ".join("%14s" % h for h in hdr))
    for name in names:
        cells = [name]
        for t in threads:
            pt, go = rows[(name, t)]
            cells += ["%.4f" % pt["median_s"], "%.4f" % go["median_s"], "%.2fx" % (pt["median_s"] / go["median_s"]),
                      "%.2fx" % (pt["min_s"] / go["min_s"])]
        go = rows[(name, threads[0])][1]
        cells += ["%.0f" % go["allocs_per_step"], "%.1f" % (go["bytes_per_step"] / 1e6)]
        if a.markdown:
            lines.append("| " + " | ".join(cells) + " |")
        else:
            lines.append("%-34s " % cells[0] + " ".join("%14s" % c for c in cells[1:]))
    print("\n".join(lines))


def device_table(a):
    scales = [int(v) for v in a.scales.split(",")]
    names = [n for n in NAMES if not a.workload or n == a.workload]
    common = ["--reps", str(a.reps), "--json", "--device", a.device]
    if a.workload:
        common += ["--workload", a.workload]
    res, copy, gpu, torchv = {}, None, "", ""
    for i, s in enumerate(scales):
        extra = ["--copy"] if i == 0 else []
        cmd = [a.python, os.path.join(HERE, "torch_bench.py"), "--scale", str(s)] + common + extra
        doc = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        copy = doc.get("copy", copy)
        gpu, torchv = doc.get("gpu", gpu), doc.get("torch", torchv)
        pt = doc["results"]
        print("torch scale %d done" % s, file=sys.stderr)
        p = subprocess.run([a.go, "bench", "--scale", str(s)] + common, capture_output=True, text=True)
        gos = json.loads(p.stdout)["results"] if p.returncode == 0 else None
        for n in names:
            if gos is not None:
                res[(n, s)] = (pt.get(n), gos.get(n))
                continue
            # One process per workload: a failing workload leaves the others' figures.
            cmd = [a.go, "bench", "--scale", str(s), "--workload", n, "--reps", str(a.reps), "--json", "--device", a.device]
            p = subprocess.run(cmd, capture_output=True, text=True)
            go = json.loads(p.stdout)["results"].get(n) if p.returncode == 0 else None
            if go is None:
                print("torchloss %s scale %d failed (rc %d): %s" % (n, s, p.returncode, p.stderr.strip()), file=sys.stderr)
            res[(n, s)] = (pt.get(n), go)
        print("torchloss scale %d done" % s, file=sys.stderr)
    bw = copy["bytes_per_s"]
    top = scales[-1]
    hdr = ["workload"]
    for s in scales:
        hdr += ["torch s%d ms" % s, "torchloss s%d ms" % s, "ratio s%d" % s]
    hdr += ["MB moved s%d" % top, "torchloss GB/s s%d" % top, "x copy s%d" % top]
    out = ["%s, torch %s; device copy of 32M float32: %.1f GB/s (%.3f ms); ratio = torch / torchloss (> 1: torchloss faster); "
           "x copy = torchloss time / (MB moved at the copy bandwidth)" % (gpu, torchv, bw / 1e9, copy["median_s"] * 1e3)]
    if a.markdown:
        out += ["", "| " + " | ".join(hdr) + " |", "|" + " --- |" * len(hdr)]
    else:
        out.append("%-34s" % hdr[0] + "".join("%18s" % h for h in hdr[1:]))
    worst = {}
    for n in names:
        cells = [n + (" *" if n in ELEMENTWISE else "")]
        for s in scales:
            pt, go = res[(n, s)]
            if pt is None or go is None:
                cells += ["-", "-", "-"]
                continue
            r = pt["median_s"] / go["median_s"]
            worst[n] = min(worst.get(n, r), r)
            cells += ["%.3f" % (pt["median_s"] * 1e3), "%.3f" % (go["median_s"] * 1e3), "%.2fx" % r]
        pt, go = res[(n, top)]
        if go is None:
            cells += ["-", "-", "-"]
        else:
            moved = MOVED[n] * go["elems_per_s"] * go["median_s"]
            cells += ["%.1f" % (moved / 1e6), "%.0f" % (moved / go["median_s"] / 1e9), "%.2f" % (go["median_s"] / (moved / bw))]
        if a.markdown:
            out.append("| " + " | ".join(cells) + " |")
        else:
            out.append("%-34s" % cells[0] + "".join("%18s" % c for c in cells[1:]))
    out.append("* elementwise: the bandwidth criterion (x copy <= 2 at scale %d)" % top)
    slow = [n for n, r in worst.items() if r < 2]
    out.append("below 2x PyTorch at some scale: %s" % (", ".join(slow) if slow else "none"))
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
