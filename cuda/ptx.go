package cuda

import _ "embed"

// The fused loss kernels (kernels/losses.cu), compiled to PTX for compute
// capability 8.0 (A100) and 9.0 (H100, H200); the driver JIT-compiles the
// PTX for the GPU at hand. The generated files are committed so that
// building needs no CUDA toolkit; TestPTXUpToDate checks them against nvcc.
//
// -fmad=false keeps a*b+c unfused, as PyTorch's CPU kernels compute it.
//
//go:generate nvcc -ptx -arch=compute_80 -fmad=false -O3 -o kernels/losses_sm80.ptx kernels/losses.cu
//go:generate nvcc -ptx -arch=compute_90 -fmad=false -O3 -o kernels/losses_sm90.ptx kernels/losses.cu

//go:embed kernels/losses_sm80.ptx
var ptxSM80 []byte

//go:embed kernels/losses_sm90.ptx
var ptxSM90 []byte
