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

usage: /usr/bin/python3 bench/compare.py [--threads 1,2] [--reps 7]
       [--rounds 1] [--scale 1] [--workload NAME] [--markdown]
Build first: go build -o /tmp/torchloss ./cmd/torchloss (or pass --go BIN).
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
    "linear_cross_entropy",
]


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
    a = ap.parse_args()
    threads = [int(t) for t in a.threads.split(",")]
    names = [n for n in NAMES if not a.workload or n == a.workload]
    runs = {}
    for rnd in range(a.rounds):
        for name in names:
            for t in threads:
                common = ["--workload", name, "--threads", str(t), "--reps", str(a.reps), "--scale", str(a.scale), "--json"]
                pt = run(["/usr/bin/python3", os.path.join(HERE, "torch_bench.py")] + common)[name]
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


if __name__ == "__main__":
    main()
