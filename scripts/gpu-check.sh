#!/usr/bin/env bash
# GPU check for a machine with an NVIDIA GPU and driver but no Go toolchain
# and no network. Build the binaries here (on a machine with Go):
#
#   go test -c -o gpu-check/cuda.test ./cuda
#   go build -o gpu-check/torchloss ./cmd/torchloss
#   go test -c -o gpu-check/kernels.test ./internal/kernels   (optional)
#
# then, on the GPU machine, from the repository root:
#
#   OUT=/some/dir scripts/gpu-check.sh gpu-check
#
# It writes to $OUT: nvidia-smi.txt, conform-cuda.txt (torchloss conform
# --device cuda -v), results-cuda.json.gz (what the GPU computed, for a diff
# with PyTorch's vectors), cuda-test.txt (the GPU tests: the conformance on
# the GPU, the fused kernels against the CPU on many blocks — the pointwise
# ones on 2^20 elements, cross_entropy, cosine_embedding_loss and ctc_loss
# launched directly so that a fallback fails — and determinism; the driver
# operations of each workload's steady training step, TestSteadyStateOnGPU:
# no allocation after warm-up, the copies per step; the deferred value
# check, TestDeferredCheckOnGPU),
# bench-cuda.json (torchloss bench --device cuda --json, when the bench
# command takes --device), kernels-cpu.txt (when kernels.test is built: the
# host CPU's AVX-512 row kernels against AVX2 and Go, and their speed) and
# summary.txt with each step's exit status. The
# CPU conformance runs too, as a control. Without the bench, the run takes
# about a minute.
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
# The test binary runs in its package directory (kernels/*.ptx; nvcc and
# ptxas absent: those tests skip).
(cd cuda && step cuda-test "$BIN/cuda.test" -test.v -test.timeout 300s)
# The host CPU's row kernels (AVX-512 where it has it) against AVX2 and Go,
# bit for bit, and their speed with each instruction set (a few seconds).
if [ -x "$BIN/kernels.test" ]; then
  (cd internal/kernels && step kernels-cpu "$BIN/kernels.test" -test.run 'CERow|ForwardGradSum|CosineRow' -test.bench 'CERow|KLRows' -test.benchtime 200x -test.count 3)
fi
# The benchmark, if this build of torchloss has it for the GPU.
if "$BIN/torchloss" bench -h 2>&1 | grep -q -- '-device'; then
  t0=$(date +%s)
  timeout 300 "$BIN/torchloss" bench --device cuda --json > "$OUT/bench-cuda.json" 2> "$OUT/bench-cuda.txt"
  printf '%-16s rc=%d %ds\n' bench-cuda "$?" "$(( $(date +%s) - t0 ))" >> "$OUT/summary.txt"
else
  echo "bench-cuda       skipped (torchloss bench has no --device)" >> "$OUT/summary.txt"
fi
cat "$OUT/summary.txt"
tail -3 "$OUT/conform-cuda.txt"
grep -E '^(--- |ok|FAIL|PASS)' "$OUT/cuda-test.txt" | head -30
