#!/usr/bin/env python3
"""Runs torchloss's and PyTorch's benchmark workloads side by side, both in
a training loop's steady state, interleaved (for each workload and thread
count: PyTorch, then torchloss, each in a fresh process), and prints the
table of median step times and ratios (PyTorch time / torchloss time: > 1
means torchloss is faster), of the median step times and of the fastest
steps (min-ratio), with torchloss's allocations per steady-state step and
the fraction of the copy bandwidth its steps reach.

Both sides time the same loop: gradients kept from step to step and zeroed
in place (PyTorch: zero_grad(set_to_none=False); torchloss: ZeroGrad), the
loss, backward; three warm-up steps. PyTorch runs with glibc's
MALLOC_MMAP_THRESHOLD_=2000000000 MALLOC_TRIM_THRESHOLD_=2000000000 in its
environment, so that freed memory is reused as in a long-running training
process rather than unmapped and first-touched again every step (see
bench/torch_bench.py).

With --rounds R the whole interleaved sequence runs R times and each side's
figure is the median over the rounds of its per-round medians (the minimum
over all rounds for min-ratio), which steadies the table on a shared machine.

With --device cuda (a GPU machine: PyTorch with CUDA and a torchloss built
with the cuda package) it runs, for each scale of --scales (default 1,8),
all the workloads on the GPU in one PyTorch process and then in one
torchloss process (torch_bench.py --device cuda, torchloss bench --device
cuda: the same loop, each timed step ending when the GPU is done; medians),
measures the device's copy bandwidth (PyTorch's copy of 32M float32, bytes
read + written) and prints per workload the times and ratios at each
scale, and at the largest scale the bytes a step must move (torchloss
bench's must_move_bytes), the GB/s torchloss reaches on them and its time
over the time those bytes take at the copy bandwidth ("x copy": the
acceptance asks <= 2 for the elementwise losses, marked *).

usage: python3 bench/compare.py [--threads 1,2] [--reps 7] [--rounds 1]
       [--scale 1] [--workload NAME] [--markdown] [--json-out FILE]
       [--torchloss-bin BIN] [--python PY] [--copy-mb MB]
       [--device cpu|cuda] [--scales 1,8]
The PyTorch side runs under --python (default: the interpreter running this
script; on the development machine /usr/bin/python3 has PyTorch 1.13).
Build torchloss first: go build -o /tmp/torchloss ./cmd/torchloss (or pass
--torchloss-bin BIN, e.g. a binary built elsewhere).
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
STEADY_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "2000000000", "MALLOC_TRIM_THRESHOLD_": "2000000000"}
# The elementwise losses of the bandwidth criterion (issue 12).
ELEMENTWISE = ["binary_cross_entropy_direct", "binary_cross_entropy_with_logits", "poisson_nll_loss",
               "gaussian_nll_loss", "hinge_embedding_loss", "l1_loss", "mse_loss"]


def run(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out)


def write_json(a, meta, threads, runs):
    tmp = a.json_out + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"meta": meta, "threads": threads, "rounds": a.rounds, "reps": a.reps,
                   "runs": [{"workload": n, "threads": t, "round": i + 1, "torch": p, "torchloss": g}
                            for (n, t), rs in runs.items() for i, (p, g) in enumerate(rs)]}, f, indent=1)
    os.replace(tmp, a.json_out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--workload", default="", help="one workload, or several separated by commas")
    ap.add_argument("--torchloss-bin", "--go", dest="bin", default="/tmp/torchloss")
    ap.add_argument("--python", default=sys.executable, help="the interpreter with PyTorch")
    ap.add_argument("--copy-mb", type=int, default=128, help="torchloss bench --copy-mb (0: no copy bandwidth)")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--json-out", default="", help="write every run's results to this file")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--scales", default="1,8", help="--device cuda: the scales, side by side")
    a = ap.parse_args()
    if a.device == "cuda":
        return device_table(a)
    threads = [int(t) for t in a.threads.split(",")]
    wanted = [w for w in a.workload.split(",") if w]
    names = [n for n in NAMES if not wanted or n in wanted]
    names += [w for w in wanted if w not in NAMES]
    torch_env = dict(os.environ)
    torch_env.update(STEADY_MALLOC)
    runs = {}
    meta = {}
    for rnd in range(a.rounds):
        for name in names:
            for t in threads:
                common = ["--workload", name, "--threads", str(t), "--reps", str(a.reps), "--scale", str(a.scale), "--json"]
                ptj = run([a.python, os.path.join(HERE, "torch_bench.py")] + common, torch_env)
                goj = run([a.bin, "bench", "--copy-mb", str(a.copy_mb)] + common)
                pt, go = ptj["results"][name], goj["results"][name]
                meta["torch"] = {k: ptj.get(k) for k in ("torch", "loop", "malloc")}
                meta["torchloss"] = {k: goj.get(k) for k in ("go", "loop")}
                go["copy_bytes_per_s"] = goj.get("copy_bytes_per_s", 0)
                runs.setdefault((name, t), []).append((pt, go))
                if a.json_out:
                    write_json(a, meta, threads, runs)  # after every run: a cut-off run keeps what it measured
                print("round %d %-34s t=%d torch %.5f go %.5f ratio %.2fx" % (rnd + 1, name, t, pt["median_s"], go["median_s"], pt["median_s"] / go["median_s"]), file=sys.stderr)
    rows = {}
    for key, rs in runs.items():
        pt = {"median_s": statistics.median(p["median_s"] for p, _ in rs), "min_s": min(p["min_s"] for p, _ in rs)}
        go = dict(rs[0][1])
        go["median_s"] = statistics.median(g["median_s"] for _, g in rs)
        go["min_s"] = min(g["min_s"] for _, g in rs)
        go["bytes_per_step"] = max(g["bytes_per_step"] for _, g in rs)
        go["copy_bytes_per_s"] = statistics.median(g["copy_bytes_per_s"] for _, g in rs)
        bw = go["copy_bytes_per_s"]
        go["copy_fraction"] = go["must_move_bytes"] / go["median_s"] / bw if bw else 0
        rows[key] = (pt, go)
    hdr = ["workload"]
    for t in threads:
        hdr += ["torch %dt s" % t, "go %dt s" % t, "ratio %dt" % t, "min-ratio %dt" % t, "go copy %dt" % t]
    hdr += ["go steady KB/step", "go must-move MB"]
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
                      "%.2fx" % (pt["min_s"] / go["min_s"]), "%.0f%%" % (100 * go["copy_fraction"])]
        go = rows[(name, threads[0])][1]
        cells += ["%.1f" % (max(rows[(name, t)][1]["bytes_per_step"] for t in threads) / 1e3), "%.1f" % (go["must_move_bytes"] / 1e6)]
        if a.markdown:
            lines.append("| " + " | ".join(cells) + " |")
        else:
            lines.append("%-34s " % cells[0] + " ".join("%14s" % c for c in cells[1:]))
    bws = ["%dt %.1f GB/s" % (t, statistics.median(rows[(n, t)][1]["copy_bytes_per_s"] for n in names) / 1e9) for t in threads]
    lines.append("")
    lines.append("torch: %s; torchloss: %s" % (json.dumps(meta.get("torch")), json.dumps(meta.get("torchloss"))))
    lines.append("go copy: fraction of a plain parallel copy's bandwidth (read + write bytes per second, torchloss bench in the same process) "
                 "that the step's must-move bytes per median step reach; copy bandwidth (median over the runs): " + ", ".join(bws))
    print("\n".join(lines))


def device_table(a):
    scales = [int(v) for v in a.scales.split(",")]
    wanted = [w for w in a.workload.split(",") if w]
    names = [n for n in NAMES if not wanted or n in wanted]
    torch_env = dict(os.environ)
    torch_env.update(STEADY_MALLOC)
    common = ["--reps", str(a.reps), "--json", "--device", a.device]
    res, copy, meta = {}, None, {}
    for i, s in enumerate(scales):
        cmd = [a.python, os.path.join(HERE, "torch_bench.py"), "--scale", str(s)] + common + (["--copy"] if i == 0 else [])
        if len(names) == 1:
            cmd += ["--workload", names[0]]
        ptj = run(cmd, torch_env)
        copy = ptj.get("copy", copy)
        meta["torch"] = {k: ptj.get(k) for k in ("torch", "gpu", "loop")}
        print("torch scale %d done" % s, file=sys.stderr)
        p = subprocess.run([a.bin, "bench", "--scale", str(s), "--copy-mb", "0"] + common, capture_output=True, text=True)
        gos = json.loads(p.stdout)["results"] if p.returncode == 0 else None
        for n in names:
            go = gos.get(n) if gos is not None else None
            if gos is None:
                # One process per workload: a failing workload leaves the others' figures.
                q = subprocess.run([a.bin, "bench", "--scale", str(s), "--copy-mb", "0", "--workload", n] + common, capture_output=True, text=True)
                go = json.loads(q.stdout)["results"].get(n) if q.returncode == 0 else None
                if go is None:
                    print("torchloss %s scale %d failed (rc %d): %s" % (n, s, q.returncode, q.stderr.strip()), file=sys.stderr)
            res[(n, s)] = (ptj["results"].get(n), go)
        print("torchloss scale %d done" % s, file=sys.stderr)
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump({"meta": meta, "copy": copy, "runs": [{"workload": n, "scale": s, "torch": p, "torchloss": g}
                                                           for (n, s), (p, g) in res.items()]}, f, indent=1)
    bw = copy["bytes_per_s"]
    top = scales[-1]
    hdr = ["workload"]
    for s in scales:
        hdr += ["torch s%d ms" % s, "torchloss s%d ms" % s, "ratio s%d" % s]
    hdr += ["MB moved s%d" % top, "torchloss GB/s s%d" % top, "x copy s%d" % top]
    out = ["%s; device copy of 32M float32: %.1f GB/s (%.3f ms); ratio = torch / torchloss (> 1: torchloss faster); "
           "x copy = torchloss time / (must-move MB at the copy bandwidth)" % (json.dumps(meta.get("torch")), bw / 1e9, copy["median_s"] * 1e3)]
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
        go = res[(n, top)][1]
        if go is None or not go.get("must_move_bytes"):
            cells += ["-", "-", "-"]
        else:
            moved = go["must_move_bytes"]
            cells += ["%.1f" % (moved / 1e6), "%.0f" % (moved / go["median_s"] / 1e9), "%.2f" % (go["median_s"] / (moved / bw))]
        if a.markdown:
            out.append("| " + " | ".join(cells) + " |")
        else:
            out.append("%-34s" % cells[0] + "".join("%18s" % c for c in cells[1:]))
    out.append("")
    out.append("* elementwise: the bandwidth criterion (x copy <= 2 at scale %d)" % top)
    slow = [n for n in names if n not in worst or worst[n] < 2]
    out.append("below 2x PyTorch (or missing) at some scale: %s" % (", ".join(slow) if slow else "none"))
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
