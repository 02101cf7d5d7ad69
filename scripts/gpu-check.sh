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
# with PyTorch's vectors), same-bits.txt (a second GPU conformance run
# wrote the same results bit for bit: rc 0), cuda-test.txt (the GPU tests: the conformance on
# the GPU, the fused kernels against the CPU on many blocks — the pointwise
# ones on 2^20 elements, cross_entropy, cosine_embedding_loss and ctc_loss
# launched directly so that a fallback fails — and determinism; the driver
# operations of each workload's steady training step, TestSteadyStateOnGPU:
# no allocation after warm-up, the copies per step; the deferred value
# check, TestDeferredCheckOnGPU; the sigmoid kernel and the bce(sigmoid)
# chain, TestSigmoidOnGPU; softmax and log_softmax, TestSoftmaxOnGPU;
# aligned and unaligned pointwise buffers give the same bits,
# TestPointwiseUnaligned; gradient accumulation, float32<->float64
# conversion and the float64 fill on the device, TestArithOnGPU; the CTC
# layout built on the device and its deferred label check,
# TestCTCLayoutOnGPU),
# kernels-cpu.txt (when kernels.test is built: the host CPU's AVX-512 row
# kernels against AVX2 and Go, and their speed), compare-cuda.md
# (torchloss and PyTorch side by side on the GPU at scale 1 and 8, with the
# copy bandwidth and the GB/s of each workload: when python3 has torch with
# CUDA; otherwise bench-cuda.json from torchloss bench alone) and
# summary.txt with each step's exit status. The CPU conformance runs too,
# as a control. Without the bench, the run takes about a minute; the bench
# is bounded at 4 minutes. CPU_SCALE=1 adds scripts/cpu-scale.sh (torchloss
# against PyTorch on this host's CPU, 1 and 16 threads: cpu-compare.md/.json).
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
# Run to run: a second GPU conformance run must write the same results,
# bit for bit (deterministic reductions).
step conform-cuda-2 "$BIN/torchloss" conform --device cuda --write-results "$OUT/results-cuda-2.json.gz"
step same-bits bash -c "gzip -dc '$OUT/results-cuda.json.gz' | cmp - <(gzip -dc '$OUT/results-cuda-2.json.gz')"
# The test binary runs in its package directory (kernels/*.ptx; nvcc and
# ptxas absent: those tests skip).
(cd cuda && step cuda-test "$BIN/cuda.test" -test.v -test.timeout 300s)
# The host CPU's row kernels (AVX-512 where it has it) against AVX2 and Go,
# bit for bit, and their speed with each instruction set (a few seconds).
if [ -x "$BIN/kernels.test" ]; then
  (cd internal/kernels && step kernels-cpu "$BIN/kernels.test" -test.run 'CERow|ForwardGradSum|CosineRow' -test.bench 'CERow|KLRows' -test.benchtime 200x -test.count 3)
fi
# The benchmark side by side with PyTorch when python3 (on PATH) has torch
# with CUDA: bench/compare.py --device cuda runs both at scale 1 and 8 and
# writes the table (times, ratios, bytes moved, GB/s, time over the copy
# bound) to compare-cuda.md; otherwise torchloss bench alone.
if python3 -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' > /dev/null 2>&1; then
  t0=$(date +%s)
  timeout 240 python3 bench/compare.py --device cuda --scales 1,8 --go "$BIN/torchloss" --markdown > "$OUT/compare-cuda.md" 2> "$OUT/compare-cuda.txt"
  printf '%-16s rc=%d %ds\n' compare-cuda "$?" "$(( $(date +%s) - t0 ))" >> "$OUT/summary.txt"
else
  t0=$(date +%s)
  timeout 180 "$BIN/torchloss" bench --device cuda --json > "$OUT/bench-cuda.json" 2> "$OUT/bench-cuda.txt"
  printf '%-16s rc=%d %ds\n' bench-cuda "$?" "$(( $(date +%s) - t0 ))" >> "$OUT/summary.txt"
fi
# The CPU side by side with PyTorch 2.11 on this host (1 and 16 threads,
# about 3 minutes): only with CPU_SCALE=1 (or run scripts/cpu-scale.sh
# alone).
if [ "${CPU_SCALE:-0}" = 1 ]; then
  OUT="$OUT" scripts/cpu-scale.sh "$BIN" > /dev/null 2>&1
fi
cat "$OUT/summary.txt"
tail -3 "$OUT/conform-cuda.txt"
grep -E '^(--- |ok|FAIL|PASS)' "$OUT/cuda-test.txt" | head -30
[ -s "$OUT/compare-cuda.md" ] && cat "$OUT/compare-cuda.md"
exit 0
