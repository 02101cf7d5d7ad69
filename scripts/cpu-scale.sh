#!/usr/bin/env bash
# CPU side by side on the GPU machine's host (16 cores, PyTorch 2.11 on
# PATH's python3, no Go toolchain): torchloss against PyTorch in both
# steady states (bench/compare.py: gradients kept and zeroed in place,
# three warm-up steps, glibc's thresholds raised for PyTorch) at 1 and 16
# threads, with torchloss's copy bandwidth and allocations per step. Build
# the binary here (on a machine with Go):
#
#   go build -o gpu-check/torchloss ./cmd/torchloss
#
# then, on that machine, from the repository root:
#
#   OUT=/some/dir scripts/cpu-scale.sh gpu-check
#
# (or CPU_SCALE=1 scripts/gpu-check.sh, which calls this). It writes to
# $OUT: cpu-info.txt (lscpu, nproc, python3 and torch versions),
# cpu-compare.md (the table, markdown), cpu-compare.json (every run),
# cpu-compare.log (per-run progress) and appends its status to
# summary.txt. REPS (default 5), THREADS (default 1,16) and WORKLOADS
# (default all; comma-separated) adjust it, PYTHON the interpreter; the
# whole run takes about 2-3 minutes at the defaults (a 230 s timeout;
# cpu-compare.json is written after every run and cpu-compare.log lists
# each run's medians, so a cut-off run keeps what it measured).
set -u
BIN=${1:-gpu-check}
OUT=${OUT:-gpu-check-out}
REPS=${REPS:-5}
THREADS=${THREADS:-1,16}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
BIN=$(cd "$BIN" && pwd)
PY=${PYTHON:-python3}
{
  lscpu 2>&1 | head -30
  echo "nproc: $(nproc)"
  "$PY" -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__, "threads", torch.get_num_threads(), "cpu capability", torch.backends.cpu.get_cpu_capability() if hasattr(torch.backends, "cpu") else "?")' 2>&1
  "$BIN/torchloss" bench -h 2>&1 | head -3
} > "$OUT/cpu-info.txt"
t0=$(date +%s)
timeout 230 "$PY" bench/compare.py --torchloss-bin "$BIN/torchloss" --python "$PY" \
  --threads "$THREADS" --reps "$REPS" --workload "${WORKLOADS:-}" --markdown --json-out "$OUT/cpu-compare.json" \
  > "$OUT/cpu-compare.md" 2> "$OUT/cpu-compare.log"
rc=$?
printf '%-16s rc=%d %ds\n' cpu-scale "$rc" "$(( $(date +%s) - t0 ))" >> "$OUT/summary.txt"
cat "$OUT/cpu-compare.md"
tail -3 "$OUT/cpu-compare.log"
exit $rc
