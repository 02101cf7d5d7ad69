#!/usr/bin/env bash
# GPU check for a machine with an NVIDIA GPU and driver but no Go toolchain
# and no network. Build the binaries here (on a machine with Go):
#
#   go test -c -o gpu-check/cuda.test ./cuda
#   go build -o gpu-check/torchloss ./cmd/torchloss
#
# then, on the GPU machine, from the repository root:
#
#   OUT=/some/dir scripts/gpu-check.sh gpu-check
#
# It writes to $OUT: nvidia-smi.txt, conform-cuda.txt (torchloss conform
# --device cuda -v), results-cuda.json.gz (what the GPU computed, for a diff
# with PyTorch's vectors), cuda-test.txt (the GPU tests: the conformance on
# the GPU, fused kernels against the CPU on 2^20 elements, determinism) and
# summary.txt with each step's exit status. The CPU conformance runs too,
# as a control. The whole run takes well under a minute.
set -u
BIN=${1:-gpu-check}
OUT=${OUT:-gpu-check-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
BIN=$(cd "$BIN" && pwd)
: > "$OUT/summary.txt"
step() { # name, command...
  local name=$1; shift
  local t0=$(date +%s)
  "$@" > "$OUT/$name.txt" 2>&1
  local rc=$?
  printf '%-16s rc=%d %ds\n' "$name" "$rc" "$(( $(date +%s) - t0 ))" >> "$OUT/summary.txt"
}
step nvidia-smi nvidia-smi
step conform-cpu "$BIN/torchloss" conform
step conform-cuda "$BIN/torchloss" conform --device cuda -v --write-results "$OUT/results-cuda.json.gz"
# The test binary runs in its package directory (kernels/*.ptx, nvcc absent: skipped).
(cd cuda && step cuda-test "$BIN/cuda.test" -test.v -test.timeout 300s)
cat "$OUT/summary.txt"
tail -3 "$OUT/conform-cuda.txt"
grep -E '^(--- |ok|FAIL|PASS)' "$OUT/cuda-test.txt" | head -20
