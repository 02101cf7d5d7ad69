// Fused loss kernels of torchloss (package github.com/torchloss/torchloss/cuda).
//
// One kernel per loss and dtype computes, in one pass over the elements, the
// per-element loss (reduction none) or per-block partial sums of it (sum,
// mean), and the gradient of every argument that needs one. Each element
// follows the order of operations of torchloss's CPU kernels
// (internal/kernels), which follow PyTorch's; transcendentals are computed
// in double and rounded to the element type, as the CPU kernels do. Compile
// with -fmad=false: PyTorch's CPU kernels do not fuse a*b+c.
//
// Reductions are deterministic: each thread sums its elements (a grid-stride
// loop over a grid whose size depends on n only) in double, each block
// reduces its threads in a fixed tree, and reduce_final sums the block
// partials in a fixed order. The order differs from PyTorch's CPU cascade,
// so a float32 sum may differ from the CPU's in its last bits.
//
// Regenerate the PTX with `go generate ./cuda` (see ../ptx.go).

#define BLOCK 256

// P is the parameter block of the pointwise kernels; its layout is mirrored
// by the Go struct params in ../fused.go (every field is 8 bytes).
struct P {
    const void *a, *b, *c, *w, *pw; // arguments: input, target, third (var), weight, pos_weight
    void *loss;                     // per-element loss (reduction none) or 0
    void *ga, *gb, *gc;             // gradients of a, b, c, or 0
    const void *up;                 // per-element upstream gradient, or 0 (then s)
    double *partial;                // per-block partial sums (sum, mean) or 0
    int *flag;                      // set to 1 when an element fails a CPU check
    long long n;                    // number of elements
    long long period;               // pos_weight broadcast along the last dim (0: same shape)
    double s;                       // the upstream gradient when up == 0
    double s2;                      // a second scalar (mse: norm; bce: the divisor n of mean, 0 otherwise)
    double o0, o1;                  // options (margin, eps)
    long long i0, i1;               // flags (log_input/log_target/bce: sigmoid chain, full)
};

template <typename T> __device__ __forceinline__ T dexp(T x) { return (T)exp((double)x); }
template <typename T> __device__ __forceinline__ T dlog(T x) { return (T)log((double)x); }
template <typename T> __device__ __forceinline__ T dlog1p(T x) { return (T)log1p((double)x); }
template <typename T> __device__ __forceinline__ T cmax(T a, T b) { return (a < b) ? b : a; } // std::max
template <typename T> __device__ __forceinline__ T clampmin(T x, T lo) { return (x != x) ? x : (x < lo ? lo : x); }
template <typename T> __device__ __forceinline__ T sgn(T x) { return (T)((0 < x) - (x < 0)); }
template <typename T> __device__ __forceinline__ T inf() { return (T)(1.0 / 0.0); }

template <typename T> __device__ __forceinline__ T ld(const void *p, long long i) { return ((const T *)p)[i]; }
template <typename T> __device__ __forceinline__ void st(void *p, long long i, T v) { if (p) ((T *)p)[i] = v; }

// log_sigmoid as ATen's CPU kernel: min(x, 0) - log1p(exp(-|x|)), NaN propagating.
template <typename T> __device__ __forceinline__ T logsig(T x) {
    T m = x;
    if (!(x < 0) && x == x) m = 0;
    T ax = (T)fabs((double)x);
    return m - dlog1p(dexp(-ax));
}
template <typename T> __device__ __forceinline__ T sigm(T x) { return (T)1 / ((T)1 + dexp(-x)); }

#define TWO_PI 6.283185307179586
#define HALF_LOG_2PI 0.9189385332046727

template <typename T> __device__ __forceinline__ T stirling(T t) {
    T m = (T)(t * dlog(t));
    T s1 = m - t;
    T c = (T)TWO_PI * t;
    T h = (T)((T)0.5 * dlog(c));
    return s1 + h;
}
template <typename T> __device__ __forceinline__ T stirling_grad(T t, T u, T main) {
    T gs = !(t <= 1) ? u : (T)0;
    T c = (T)TWO_PI * t;
    T g = (T)((T)((T)(gs * (T)0.5) / c) * (T)TWO_PI);
    g += -gs;
    g += (T)(gs * dlog(t));
    g += (T)(gs * t) / t;
    return g + main;
}

enum { L1 = 1, MSE, BCE, BCEWL, POISSON, GAUSSIAN, HINGE, KLDIV, SIGMOID, SIGMOID_BWD };

// block_sum returns to every thread the sum of v over the block's threads
// (blockDim.x a power of two, 32 to 1024) in a fixed order: each warp
// halves its lanes (lane i += lane i+16, then +8, +4, +2, +1: shuffles),
// then the warp sums, in shared memory, are halved the same way.
__device__ __forceinline__ double block_sum(double v) {
    __shared__ double red[32];
    const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
#pragma unroll
    for (int h = 16; h > 0; h >>= 1) v += __shfl_down_sync(0xffffffffu, v, h);
    __syncthreads(); // red may still be read by a previous call
    if (lane == 0) red[wid] = v;
    __syncthreads();
    if (wid == 0) {
        v = lane < nw ? red[lane] : 0;
        for (int h = 16; h > 0; h >>= 1) {
            double o = __shfl_down_sync(0xffffffffu, v, h);
            if (h < nw) v += o;
        }
        if (lane == 0) red[0] = v;
    }
    __syncthreads();
    return red[0];
}

// The elements of one thread's group: inputs and gradients (those of a
// null pointer are unused).
template <typename T> struct In { T x, y, v, w, pw, u; };
template <typename T> struct Out { T ga, gb, gc; };

template <typename T, int K> __device__ __forceinline__ T element(const P &p, const In<T> &in, Out<T> &o, bool &bad) {
    T u = in.u;
    T x = in.x;
    if (K == MSE) {
        // (Written apart from the switch: cicc 11.8 at -O2 hangs on the
        // switch case.) norm is a T value, so norm*d in double rounds once
        // to T, exactly T's product.
        T y = in.y;
        T d = x - y;
        if (p.ga) o.ga = ((T)(p.s2 * (double)d) * u);
        if (p.gb) o.gb = ((T)(p.s2 * (double)(y - x)) * u);
        return d * d;
    }
    if (K == SIGMOID) { // torch.sigmoid: y = 1/(1 + exp(-x)) to loss (no partial)
        return sigm(x);
    }
    if (K == SIGMOID_BWD) { // its backward: a = y, up = g; ga = g*(1 - y)*y
        o.ga = (T)((T)(u * (1 - x)) * x);
        return 0;
    }
    if (K == HINGE) {
        T t = in.y;
        T margin = (T)p.o0;
        T a = 0, b = 0;
        if (t != 1) a = clampmin(margin - x, (T)0);
        if (t != -1) b = x;
        if (p.ga) {
            T gs = (t != -1) ? u : (T)0;
            T gm = (t != 1) ? u : (T)0;
            if (!(margin - x >= 0)) gm = 0;
            o.ga = (gs + -gm);
        }
        return a + b;
    }
    T y = in.y;
    switch (K) {
    case L1: {
        T g = u * sgn(x - y);
        o.ga = (g);
        o.gb = (-g);
        return (T)fabs((double)(x - y));
    }
    case BCE: {
        if (!(x >= 0 && x <= 1) || !(y >= 0 && y <= 1)) {
            bad = true;
            return 0;
        }
        T a = (T)((y - 1) * cmax(dlog1p(-x), (T)-100));
        T b = (T)(y * cmax(dlog(x), (T)-100));
        T l = a - b;
        T w = in.w;
        if (p.w) l = (T)(l * w);
        if (p.ga) {
            T num = (T)(u * (x - y));
            T g = num / cmax((T)((1 - x) * x), (T)1e-12f);
            if (p.w) g = (T)(g * w);
            if (p.s2 != 0) g /= (T)p.s2;
            // i0: the input is sigmoid(z) and ga is z's gradient, the
            // sigmoid's backward folded in (kernels.BCESigmoidGradMean).
            if (p.i0) g = (T)((T)(g * (1 - x)) * x);
            o.ga = (g);
        }
        if (p.gb) {
            T lg = (x == 1) ? inf<T>() : dlog(x / (1 - x));
            T g = -lg * u;
            if (p.w) g = (T)(g * w);
            if (p.s2 != 0) g /= (T)p.s2;
            o.gb = (g);
        }
        return l;
    }
    case BCEWL: {
        T pw = in.pw;
        T ls = logsig(x);
        if (p.pw) {
            T pm1 = pw - 1;
            T lw = (T)(pm1 * y);
            lw = lw + 1;
            ls = (T)(ls * lw);
        }
        T l = 1 - y;
        l = (T)(l * x);
        l = l - ls;
        T w = in.w;
        if (p.w) l = (T)(l * w);
        if (p.ga) {
            T s = sigm(x), g;
            if (p.pw) {
                T t = (T)(pw * y);
                T a = t + 1;
                a = a - y;
                a = (T)(a * s);
                g = a - t;
            } else {
                g = s - y;
            }
            g = (T)(g * u);
            if (p.w) g = (T)(g * w);
            if (p.s2 != 0) g = g / (T)p.s2;
            o.ga = (g);
        }
        if (p.gb) {
            T g;
            if (p.pw) {
                T a = logsig(-x);
                T b = (T)(logsig(x) * pw);
                g = a - b;
                g = (T)(g * u);
            } else {
                g = (T)(-x * u);
            }
            if (p.w) g = (T)(g * w);
            if (p.s2 != 0) g = g / (T)p.s2;
            o.gb = (g);
        }
        return l;
    }
    case POISSON: {
        bool logInput = p.i0 != 0, full = p.i1 != 0;
        T eps = (T)p.o1;
        T l;
        if (logInput) {
            T e = dexp(x);
            l = e - (T)(y * x);
            if (p.ga) {
                T c1 = (T)(u * e);
                T c2 = (T)(-u * y);
                o.ga = (c2 + c1);
            }
            if (p.gb) {
                T main = (T)(-u * x);
                o.gb = (full ? stirling_grad(y, u, main) : main);
            }
        } else {
            T a = x + eps;
            T lg = dlog(a);
            l = x - (T)(y * lg);
            if (p.ga) {
                T gl = (T)(-u * y);
                T c2 = gl / a;
                o.ga = (u + c2);
            }
            if (p.gb) {
                T main = (T)(-u * lg);
                o.gb = (full ? stirling_grad(y, u, main) : main);
            }
        }
        if (full) {
            T s = 0;
            if (!(y <= 1)) s = stirling(y);
            l += s;
        }
        return l;
    }
    case GAUSSIAN: {
        T v = in.v;
        if (v < 0) {
            bad = true;
            return 0;
        }
        T vc = clampmin(v, (T)p.o1);
        T d = x - y;
        T sq = (T)(d * d);
        T q = sq / vc;
        T lv = dlog(vc);
        T l = (T)((T)0.5 * (lv + q));
        if (p.i1) l += (T)HALF_LOG_2PI;
        T gs = (T)(u * (T)0.5);
        if (p.ga || p.gb) {
            T gsq = gs / vc;
            T gd = (T)(gsq * (T)(2 * d));
            o.ga = (gd);
            o.gb = (-gd);
        }
        if (p.gc) {
            T gq = (T)(-gs * ((sq / vc) / vc));
            T lg = gs / vc;
            o.gc = (gq + lg);
        }
        return l;
    }
    case KLDIV: {
        T l;
        if (p.i0) { // log_target
            T e = dexp(y);
            l = (T)(e * (y - x));
            T gD = (T)(u * e);
            o.ga = (-gD);
            if (p.gb) {
                T gE = (T)(u * (y - x));
                o.gb = (gD + (T)(gE * e));
            }
        } else {
            T xl = (y != y) ? y : (y == 0 ? (T)0 : (T)(y * dlog(y))); // xlogy(y, y)
            l = xl - (T)(y * x);
            o.ga = ((T)(-u * y));
            if (p.gb) {
                T gself = 0;
                if (y != 0) gself = (y != y) ? y : (u == 0 ? (T)0 : (T)(u * dlog(y)));
                T gother = (T)((T)(u * y) / y);
                T g = (T)(-u * x) + gself;
                o.gb = (g + gother);
            }
        }
        return l;
    }
    }
    return 0;
}

// A thread handles groups of W = 16/sizeof(T) consecutive elements (one
// 16-byte load per argument when every pointer is 16-byte aligned and the
// group is whole, W scalar loads otherwise: the same elements and order
// either way), groups g, g + stride, ... for its global index g, over a
// grid that depends on n only (pointwiseGrid in ../fused.go). Its loss
// values are summed in double in that order; the block sums its threads
// with block_sum (below) into partial[blockIdx.x]; reduce_final sums the
// partials. So a result depends on n and the values only: bit-identical run
// to run, and across GPUs.
template <typename T> struct V16;
template <> struct V16<float> { typedef float4 t; };
template <> struct V16<double> { typedef double2 t; };

template <typename T, int W> __device__ __forceinline__ void ldg(const void *p, long long i0, int m, bool full, T *o, T dflt) {
    if (!p) {
#pragma unroll
        for (int k = 0; k < W; k++) o[k] = dflt;
        return;
    }
    if (full) {
        union { typename V16<T>::t v; T a[W]; } u;
        u.v = __ldg((const typename V16<T>::t *)((const T *)p + i0));
#pragma unroll
        for (int k = 0; k < W; k++) o[k] = u.a[k];
        return;
    }
#pragma unroll
    for (int k = 0; k < W; k++) o[k] = k < m ? ((const T *)p)[i0 + k] : dflt;
}

template <typename T, int W> __device__ __forceinline__ void stg(void *p, long long i0, int m, bool full, const T *v) {
    if (!p) return;
    if (full) {
        union { typename V16<T>::t v; T a[W]; } u;
#pragma unroll
        for (int k = 0; k < W; k++) u.a[k] = v[k];
        *(typename V16<T>::t *)((T *)p + i0) = u.v;
        return;
    }
#pragma unroll
    for (int k = 0; k < W; k++)
        if (k < m) ((T *)p)[i0 + k] = v[k];
}

__device__ __forceinline__ bool al16(const void *p) { return ((unsigned long long)p & 15) == 0; }

// Which arguments and gradients kind K has (the others are neither loaded
// nor kept in registers).
template <int K> struct Has {
    static constexpr bool b = K != SIGMOID && K != SIGMOID_BWD;
    static constexpr bool c = K == GAUSSIAN;
    static constexpr bool w = K == BCE || K == BCEWL;
    static constexpr bool pw = K == BCEWL;
    static constexpr bool gb = K != HINGE && K != SIGMOID && K != SIGMOID_BWD;
    static constexpr bool gc = K == GAUSSIAN;
};

// Grp is one group's elements in registers.
template <typename T, int W> struct Grp {
    long long i0;
    int m;     // elements in the group (W but at the end)
    bool full; // vector loads and stores
    T x[W], y[W], v[W], w[W], pw[W], u[W];
};

template <typename T, int K, int W> __device__ __forceinline__ void grp_load(const P &p, Grp<T, W> &e, long long g, bool vec) {
    e.i0 = g * W;
    e.m = (int)min((long long)W, p.n - e.i0);
    e.full = vec && e.m == W;
    ldg<T, W>(p.a, e.i0, e.m, e.full, e.x, (T)0);
    if (Has<K>::b) ldg<T, W>(p.b, e.i0, e.m, e.full, e.y, (T)0);
    if (Has<K>::c) ldg<T, W>(p.c, e.i0, e.m, e.full, e.v, (T)0);
    if (Has<K>::w) ldg<T, W>(p.w, e.i0, e.m, e.full, e.w, (T)1);
    ldg<T, W>(p.up, e.i0, e.m, e.full, e.u, (T)p.s);
    if (Has<K>::pw) {
        if (p.pw) {
            long long r = p.period ? e.i0 % p.period : e.i0;
#pragma unroll
            for (int k = 0; k < W; k++) {
                e.pw[k] = k < e.m ? ((const T *)p.pw)[r] : (T)0;
                r++;
                if (p.period) while (r >= p.period) r -= p.period;
            }
        } else {
#pragma unroll
            for (int k = 0; k < W; k++) e.pw[k] = 0;
        }
    }
}

// grp_run computes a loaded group, adds its losses to acc in order and
// stores its outputs.
template <typename T, int K, int W> __device__ __forceinline__ void grp_run(const P &p, const Grp<T, W> &e, double &acc, bool &bad) {
    T l[W], ga[W], gb[W], gc[W];
#pragma unroll
    for (int k = 0; k < W; k++) {
        In<T> in = {e.x[k], Has<K>::b ? e.y[k] : (T)0, Has<K>::c ? e.v[k] : (T)0, Has<K>::w ? e.w[k] : (T)1, Has<K>::pw ? e.pw[k] : (T)0, e.u[k]};
        Out<T> o = {0, 0, 0};
        bool b = false; // the padding of a partial group is not checked
        l[k] = element<T, K>(p, in, o, b);
        bad = bad || (b && k < e.m);
        ga[k] = o.ga;
        gb[k] = o.gb;
        gc[k] = o.gc;
    }
#pragma unroll
    for (int k = 0; k < W; k++)
        if (k < e.m) acc += (double)l[k];
    stg<T, W>(p.loss, e.i0, e.m, e.full, l);
    stg<T, W>(p.ga, e.i0, e.m, e.full, ga);
    if (Has<K>::gb) stg<T, W>(p.gb, e.i0, e.m, e.full, gb);
    if (Has<K>::gc) stg<T, W>(p.gc, e.i0, e.m, e.full, gc);
}

// pointwise: the grid-stride loop over groups; the light kinds take two
// groups per iteration (both loaded before either is computed, for more
// bytes in flight; summed in the order g, g + stride as a one-group loop
// would), the kinds with several transcendentals one (two would spill
// under the launch bounds).
template <typename T, int K> __device__ void pointwise(const P &p) {
    constexpr int W = 16 / sizeof(T);
    constexpr bool pair = !(K == BCE || K == BCEWL || K == POISSON || K == GAUSSIAN);
    const long long groups = (p.n + W - 1) / W;
    const long long stride = (long long)gridDim.x * blockDim.x;
    const bool vec = al16(p.a) && al16(p.b) && al16(p.c) && al16(p.w) && al16(p.up) && al16(p.loss) && al16(p.ga) && al16(p.gb) && al16(p.gc);
    double acc = 0;
    bool bad = false;
    for (long long g = (long long)blockIdx.x * blockDim.x + threadIdx.x; g < groups; g += (pair ? 2 : 1) * stride) {
        Grp<T, W> e0, e1;
        const bool two = pair && g + stride < groups;
        grp_load<T, K, W>(p, e0, g, vec);
        if (two) grp_load<T, K, W>(p, e1, g + stride, vec);
        grp_run<T, K, W>(p, e0, acc, bad);
        if (two) grp_run<T, K, W>(p, e1, acc, bad);
    }
    if (bad) *p.flag = 1;
    if (!p.partial) return;
    double t = block_sum(acc);
    if (threadIdx.x == 0) p.partial[blockIdx.x] = t;
}

// reduce_final sums nb block partials in a fixed order (one block: thread
// k sums partial[k], partial[k + blockDim], ... then block_sum) and
// writes out[0] = (T)sum, divided by (T)div when div != 0.
template <typename T> __device__ void reduce_final(const double *partial, long long nb, T *out, double div) {
    double acc = 0;
    for (long long i = threadIdx.x; i < nb; i += blockDim.x) acc += partial[i];
    double t = block_sum(acc);
    if (threadIdx.x == 0) {
        T r = (T)t;
        if (div != 0) r = r / (T)div;
        out[0] = r;
    }
}

#define POINTWISE(name, K)                                                   \
    extern "C" __global__ void __launch_bounds__(BLOCK, 4) name##_f32(P p) { pointwise<float, K>(p); }  \
    extern "C" __global__ void __launch_bounds__(BLOCK, 4) name##_f64(P p) { pointwise<double, K>(p); }

POINTWISE(l1_loss, L1)
POINTWISE(mse_loss, MSE)
POINTWISE(binary_cross_entropy, BCE)
POINTWISE(binary_cross_entropy_with_logits, BCEWL)
POINTWISE(poisson_nll_loss, POISSON)
POINTWISE(gaussian_nll_loss, GAUSSIAN)
POINTWISE(hinge_embedding_loss, HINGE)
POINTWISE(kl_div, KLDIV)
POINTWISE(sigmoid, SIGMOID)
POINTWISE(sigmoid_backward, SIGMOID_BWD)

extern "C" __global__ void reduce_final_f32(const double *partial, long long nb, float *out, double div) { reduce_final<float>(partial, nb, out, div); }
extern "C" __global__ void reduce_final_f64(const double *partial, long long nb, double *out, double div) { reduce_final<double>(partial, nb, out, div); }

// ---------------------------------------------------------------------------
// Row kernels: cross_entropy (class indices) and cosine_embedding_loss, one
// block per row (a block-stride loop over the rows of a grid whose size
// depends on the row count only). Row sums are accumulated in double, each
// thread over its strided columns in order, then in a fixed tree: the same
// bits run to run. R is mirrored by rowParams in ../rows.go.
struct R {
    const void *x, *x2;  // input (cross_entropy), input1 and input2 (cosine)
    const void *tgt;     // target: int64 class indices, or the cosine target (dtype tdt)
    const void *w;       // class weights (C) or 0
    const void *up;      // per-row upstream gradient (reduction none) or 0
    void *loss;          // per-row loss (none) or 0; ce_final: the scalar output
    double *partial;     // per-row values for a reduction (cross_entropy: 3 per row) or 0
    void *ga, *gb;       // gradients of x and x2, or 0
    void *stat;          // cross_entropy: per-row max and log-sum-exp (2 T per row)
    double *aux;         // ce_final: total weight, smoothing denominator
    int *flag;           // set to 1 on a target out of range
    long long rows, cols;
    long long ignore;    // ignore_index
    long long tdt;       // cosine target dtype: 0 float32, 1 float64, 2 int64, 3 bool
    long long smoothing; // label_smoothing > 0
    long long mean;      // reduction mean (ce_final)
    double s, s2;        // upstream scalars (ce_grad: nll and smoothing; cosine: s)
    double o0, o1;       // cross_entropy: 1 - ls and ls/C in T; cosine: margin
};

// block_max: the maximum with NaN propagation over the block's threads, in
// block_sum's order.
__device__ __forceinline__ double nanmax(double a, double b) { return (a != a) ? a : ((b != b) ? b : cmax(a, b)); }
template <typename T> __device__ __forceinline__ T block_max(T v) {
    __shared__ double red[32];
    const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    double d = (double)v;
#pragma unroll
    for (int h = 16; h > 0; h >>= 1) d = nanmax(d, __shfl_down_sync(0xffffffffu, d, h));
    __syncthreads();
    if (lane == 0) red[wid] = d;
    __syncthreads();
    if (wid == 0) {
        d = lane < nw ? red[lane] : -1.0 / 0.0;
        for (int h = 16; h > 0; h >>= 1) {
            double o = __shfl_down_sync(0xffffffffu, d, h);
            if (h < nw) d = nanmax(d, o);
        }
        if (lane == 0) red[0] = d;
    }
    __syncthreads();
    return (T)red[0];
}

// ce_stats: the row's max m and log-sum-exp ls in one read of the row (an
// online softmax): each thread keeps its running max mt (NaN sticky) and
// st = sum over its strided columns of exp(x - mt) (each term exp in
// double rounded to T, as the CPU's; rescaled by exp(mt_old - mt_new) when
// mt grows; -inf columns add 0); then m = block_max(mt) and
// ls = log((T) block_sum(st * exp(mt - m))).
template <typename T> __device__ __forceinline__ void ce_stats(const T *x, long long C, T &m, T &ls, T &sum) {
    const T ninf = -inf<T>();
    T mt = ninf;
    double st = 0;
    for (long long j = threadIdx.x; j < C; j += blockDim.x) {
        T v = x[j];
        if (v != v) mt = v;
        if (v > mt) {
            st = st * exp((double)mt - (double)v);
            mt = v;
        }
        if (v != ninf) st += (double)dexp<T>(v - mt);
    }
    m = block_max<T>(mt);
    double sc = (mt == ninf) ? 0.0 : st * exp((double)mt - (double)m);
    sum = (T)block_sum(sc);
    ls = dlog<T>(sum);
}

// ce_fwd: per row, lp = (x - max) - log(sum exp(x - max)) (not stored: the
// max and log-sum-exp go to stat), the target's nll term -lp[t]*w[t], its
// weight, and the smoothing term -sum_c lp[c]*w[c] (0 at ignored targets).
// Reduction none writes the row's loss; otherwise the three values go to
// partial[3*row ...] for ce_final. With ga (a reduction and a gradient
// wanted) it also writes the row's gradient for an output gradient of 1,
// the scalars from the total weight aux[0] that ce_tw wrote: the logits
// are read from memory once, the later passes over the row hit the cache.
template <typename T> __device__ void ce_row_grad(const R &p, long long r, const T *x, T m, T ls, T s, T s2);

template <typename T> __device__ void ce_fwd(const R &p) {
    const T *w = (const T *)p.w;
    long long C = p.cols;
    T s = 0, s2 = 0; // the eager gradient's scalars (ceScalars in ../rows.go for g = 1)
    if (p.ga) {
        T tw = (T)p.aux[0], keep = (T)p.o0, share = (T)p.o1;
        T gn = p.smoothing ? keep : (T)1;
        s = p.mean ? -(gn / tw) : -gn;
        if (p.smoothing) s2 = p.mean ? -(share / tw) : -share;
    }
    for (long long r = blockIdx.x; r < p.rows; r += gridDim.x) {
        const T *x = (const T *)p.x + r * C;
        T m, ls, sum;
        ce_stats<T>(x, C, m, ls, sum);
        long long t = ((const long long *)p.tgt)[r];
        bool ign = t == p.ignore;
        if (!ign && (t < 0 || t >= C)) {
            if (threadIdx.x == 0) *p.flag = 1;
            continue;
        }
        T sm = 0;
        if (p.smoothing) {
            double a = 0;
            for (long long j = threadIdx.x; j < C; j += blockDim.x) {
                T lp = (x[j] - m) - ls;
                a += (double)(w ? (T)(lp * w[j]) : lp);
            }
            sm = -(T)block_sum(a);
            if (ign) sm = 0;
        }
        if (p.ga) ce_row_grad<T>(p, r, x, m, ls, s, s2);
        if (threadIdx.x != 0) continue;
        if (p.stat) {
            ((T *)p.stat)[2 * r] = m;
            ((T *)p.stat)[2 * r + 1] = ls;
        }
        T nl = 0, wt = 0;
        if (!ign) {
            T lpt = (x[t] - m) - ls;
            wt = w ? w[t] : (T)1;
            nl = w ? -(T)(lpt * wt) : -lpt;
        }
        if (p.loss) {
            T o = nl;
            if (p.smoothing) o = (T)(nl * (T)p.o0) + (T)(sm * (T)p.o1);
            ((T *)p.loss)[r] = o;
        }
        if (p.partial) {
            p.partial[3 * r] = (double)nl;
            p.partial[3 * r + 1] = (double)wt;
            p.partial[3 * r + 2] = (double)sm;
        }
    }
}

// ce_tw (one block of ce_final's size): the total weight of the
// non-ignored rows, sum w[t] (1 without weights) in ce_final's order (the
// same value), to aux[0] as a T value; a target out of range sets the flag
// (and counts 0).
template <typename T> __device__ __forceinline__ T ce_row_weight(const R &p, long long t) {
    if (t == p.ignore) return 0;
    if (t < 0 || t >= p.cols) {
        *p.flag = 1;
        return 0;
    }
    return p.w ? ((const T *)p.w)[t] : (T)1;
}

template <typename T> __device__ void ce_tw(const R &p) {
    const long long *tg = (const long long *)p.tgt;
    const long long bd = blockDim.x;
    double a = 0;
    long long r = threadIdx.x;
    // Four rows at a time: their loads in flight together, summed in order.
    for (; r + 3 * bd < p.rows; r += 4 * bd) {
        long long t0 = tg[r], t1 = tg[r + bd], t2 = tg[r + 2 * bd], t3 = tg[r + 3 * bd];
        T w0 = ce_row_weight<T>(p, t0), w1 = ce_row_weight<T>(p, t1), w2 = ce_row_weight<T>(p, t2), w3 = ce_row_weight<T>(p, t3);
        a += (double)w0;
        a += (double)w1;
        a += (double)w2;
        a += (double)w3;
    }
    for (; r < p.rows; r += bd) a += (double)ce_row_weight<T>(p, tg[r]);
    T tw = (T)block_sum(a);
    if (threadIdx.x == 0) p.aux[0] = (double)tw;
}

// ce_final (one block): the nll sum, the total weight and the smoothing sum
// over the rows in a fixed order, combined in T as the CPU does; aux gets
// the total weight (the mean's divisor of both terms).
template <typename T> __device__ void ce_final(const R &p) {
    double a0 = 0, a1 = 0, a2 = 0;
#pragma unroll 4
    for (long long r = threadIdx.x; r < p.rows; r += blockDim.x) {
        a0 += p.partial[3 * r];
        a1 += p.partial[3 * r + 1];
        a2 += p.partial[3 * r + 2];
    }
    T loss = (T)block_sum(a0);
    T tw = (T)block_sum(a1);
    T sm = (T)block_sum(a2);
    if (threadIdx.x != 0) return;
    T nv = p.mean ? loss / tw : loss;
    T o = nv;
    if (p.smoothing) {
        T st = p.mean ? sm / tw : sm;
        o = (T)(nv * (T)p.o0) + (T)(st * (T)p.o1);
    }
    ((T *)p.loss)[0] = o;
    p.aux[0] = (double)tw;
}

// ce_row_grad: row r's gradient, log_softmax's backward of the nll and
// smoothing gradients: g[c] = gs*w[c] (+ the nll term at the target),
// S = sum_c g[c], gx[c] = g[c] - exp(lp[c])*S. Reduced: s is the nll
// scalar (-(g/tw) or -g, times 1-ls with smoothing) and s2 the smoothing
// one; none: the row's upstream gradient up[r].
template <typename T> __device__ void ce_row_grad(const R &p, long long r, const T *x, T m, T ls, T s, T s2) {
    const T *w = (const T *)p.w;
    long long C = p.cols;
    T keep = (T)p.o0, share = (T)p.o1;
    T *gx = (T *)p.ga + r * C;
    long long t = ((const long long *)p.tgt)[r];
    bool ign = t == p.ignore;
    T wt = (w && !ign) ? w[t] : (T)1;
    T nv, gs = 0;
    if (p.up) {
        T g = ((const T *)p.up)[r];
        T gn = p.smoothing ? (T)(g * keep) : g;
        nv = -wt * gn;
        if (p.smoothing && !ign) gs = -(T)(g * share);
    } else {
        nv = w ? (T)(wt * s) : s;
        if (p.smoothing && !ign) gs = s2;
    }
    if (ign) nv = 0;
    // S: the row sum of the upstream gradient of log_softmax.
    T S;
    if (!p.smoothing) {
        S = nv;
    } else {
        double a = 0;
        for (long long j = threadIdx.x; j < C; j += blockDim.x) {
            T v = w ? (T)(gs * w[j]) : gs;
            T g = (T)0 + v;
            if (!ign && j == t) g = nv + v;
            a += (double)g;
        }
        S = (T)block_sum(a);
    }
    for (long long j = threadIdx.x; j < C; j += blockDim.x) {
        T lp = (x[j] - m) - ls;
        T g;
        if (p.smoothing) {
            T v = w ? (T)(gs * w[j]) : gs;
            g = (T)0 + v;
            if (!ign && j == t) g = nv + v;
        } else {
            g = (!ign && j == t) ? nv : (T)0;
        }
        gx[j] = g - (T)(dexp<T>(lp) * S);
    }
}

// ce_grad: the gradient for another upstream gradient (or reduction none),
// from the forward's stat.
template <typename T> __device__ void ce_grad(const R &p) {
    for (long long r = blockIdx.x; r < p.rows; r += gridDim.x) {
        const T *x = (const T *)p.x + r * p.cols;
        T m = ((const T *)p.stat)[2 * r], ls = ((const T *)p.stat)[2 * r + 1];
        ce_row_grad<T>(p, r, x, m, ls, (T)p.s, (T)p.s2);
    }
}

// softmax and log_softmax along a contiguous last dimension (rows of cols
// values; R's x: input, loss: output), and their backward (x: the output y,
// up: its gradient g, ga: the input's gradient), one block per row:
// m and the sum of exp(x - m) by ce_stats (one read of the row), then
// log_softmax y = (x - m) - log(sum), softmax y = exp(x - m) / sum; the
// backward of log_softmax g - exp(y) * sum(g), of softmax (g - sum(g*y)) * y,
// the row sums in double (block_sum), rounded to T.
template <typename T, bool LOG> __device__ void softmax_fwd(const R &p) {
    const long long C = p.cols;
    for (long long r = blockIdx.x; r < p.rows; r += gridDim.x) {
        const T *x = (const T *)p.x + r * C;
        T *y = (T *)p.loss + r * C;
        T m, ls, sum;
        ce_stats<T>(x, C, m, ls, sum);
        for (long long j = threadIdx.x; j < C; j += blockDim.x) y[j] = LOG ? (x[j] - m) - ls : dexp<T>(x[j] - m) / sum;
    }
}

template <typename T, bool LOG> __device__ void softmax_bwd(const R &p) {
    const long long C = p.cols;
    for (long long r = blockIdx.x; r < p.rows; r += gridDim.x) {
        const T *y = (const T *)p.x + r * C, *g = (const T *)p.up + r * C;
        T *gx = (T *)p.ga + r * C;
        double a = 0;
        for (long long j = threadIdx.x; j < C; j += blockDim.x) a += (double)(LOG ? g[j] : (T)(g[j] * y[j]));
        T s = (T)block_sum(a);
        for (long long j = threadIdx.x; j < C; j += blockDim.x) gx[j] = LOG ? g[j] - (T)(dexp<T>(y[j]) * s) : (T)((g[j] - s) * y[j]);
    }
}

template <typename T> __device__ void softmax_fwd_s(const R &p) { softmax_fwd<T, false>(p); }
template <typename T> __device__ void log_softmax_fwd_s(const R &p) { softmax_fwd<T, true>(p); }
template <typename T> __device__ void softmax_bwd_s(const R &p) { softmax_bwd<T, false>(p); }
template <typename T> __device__ void log_softmax_bwd_s(const R &p) { softmax_bwd<T, true>(p); }

// cosine: per row prod = sum x1*x2, m1 = sum x1^2 + EPSILON, m2 likewise
// (EPSILON = float(1e-12), in T), den = sqrt(m1*m2), cos = prod/den; the
// loss 1 - cos (t = 1), max(0, cos - margin) (t = -1), 0 otherwise; and the
// gradients of both inputs as autograd of that graph (kernels.CosineBackward).
template <typename T> __device__ T cos_target_class(const R &p, long long r) {
    double v;
    switch (p.tdt) {
    case 0: v = ((const float *)p.tgt)[r]; break;
    case 1: v = ((const double *)p.tgt)[r]; break;
    case 2: v = (double)((const long long *)p.tgt)[r]; break;
    default: v = ((const unsigned char *)p.tgt)[r] ? 1 : 0; break;
    }
    return v == 1 ? (T)1 : (v == -1 ? (T)-1 : (T)0);
}

template <typename T> __device__ void cosine(const R &p) {
    long long D = p.cols;
    T margin = (T)p.o0;
    T eps = (T)(float)1e-12;
    for (long long r = blockIdx.x; r < p.rows; r += gridDim.x) {
        const T *x1 = (const T *)p.x + r * D, *x2 = (const T *)p.x2 + r * D;
        double a = 0, b = 0, c = 0;
        for (long long j = threadIdx.x; j < D; j += blockDim.x) {
            T u = x1[j], v = x2[j];
            a += (double)(T)(u * v);
            b += (double)(T)(u * u);
            c += (double)(T)(v * v);
        }
        T prod = (T)block_sum(a);
        T m1 = (T)block_sum(b) + eps;
        T m2 = (T)block_sum(c) + eps;
        T den = (T)sqrt((double)(T)(m1 * m2));
        T cos = prod / den;
        T cls = cos_target_class<T>(p, r);
        T l = 0;
        if (cls == 1) l = 1 - cos;
        if (cls == -1) l = clampmin(cos - margin, (T)0);
        if (threadIdx.x == 0) {
            if (p.loss) ((T *)p.loss)[r] = l;
            if (p.partial) p.partial[r] = (double)l;
        }
        if (!p.ga && !p.gb) continue;
        T u = p.up ? ((const T *)p.up)[r] : (T)p.s;
        T gpos = cls == 1 ? u : (T)0, gn = cls == -1 ? u : (T)0;
        if (!(cos - margin >= 0)) gn = 0;
        T gc = -gpos + gn;
        T gprod = gc / den;
        T gden = (T)(-gc * ((prod / den) / den));
        T gp = gden / (T)(2 * den);
        T gm1 = (T)(gp * m2), gm2 = (T)(gp * m1);
        for (long long j = threadIdx.x; j < D; j += blockDim.x) {
            T v1 = x1[j], v2 = x2[j];
            if (p.ga) {
                T rr = (T)(gm1 * v1);
                ((T *)p.ga)[r * D + j] = (rr + rr) + (T)(gprod * v2);
            }
            if (p.gb) {
                T rr = (T)(gm2 * v2);
                ((T *)p.gb)[r * D + j] = (rr + rr) + (T)(gprod * v1);
            }
        }
    }
}

#define ROWS(name, body)                                                          \
    extern "C" __global__ void __launch_bounds__(512) name##_f32(R p) { body<float>(p); }  \
    extern "C" __global__ void __launch_bounds__(512) name##_f64(R p) { body<double>(p); }

ROWS(ce_fwd, ce_fwd)
ROWS(ce_tw, ce_tw)
ROWS(ce_final, ce_final)
ROWS(ce_grad, ce_grad)
ROWS(cosine_embedding_loss, cosine)
ROWS(softmax, softmax_fwd_s)
ROWS(log_softmax, log_softmax_fwd_s)
ROWS(softmax_backward, softmax_bwd_s)
ROWS(log_softmax_backward, log_softmax_bwd_s)

// ---------------------------------------------------------------------------
// ctc_loss in two launches, everything on the device, no host loop:
//
// ctc_ab: grid (samples, 1 or 2): blockIdx.y 0 computes a sample's alpha
// table, 1 its beta table (only when a gradient is wanted), the threads over
// the 2S+1 states of the extended target and the time loop inside the
// kernel, one __syncthreads per step. The previous row is read from shared
// memory (double-buffered; from the global table when 2S+1 > CTC_W) and the
// log-probability of the next step is loaded while the current one is
// computed. The alpha block also writes the loss. Each step follows
// internal/kernels/ctc.go: the log-sum-exp of up to three terms with their
// maximum m (0 when all are -inf), ((log((e1 + e2) + e3) + m) + lp), in T.
//
// ctc_grad: grid (samples, time chunks), independent of the recursions'
// sequential order: for every step t of its chunk and every class, the
// log-sum of alpha*beta over the class's states (Graves eq. 16), each
// accumulated by the thread of the class's last state over its states from
// the last down, as the CPU does; then grad = (exp(lp) - exp(lcab + nll -
// lp)) * g. The steps of a sample run in parallel: the long blank chains
// (S+1 states) no longer serialize on one thread per step.
//
// CT is mirrored by ctcParams in ../ctc.go. alpha and beta are tables of
// sum L*(2S+1) values, sample b's at meta offset 3. meta: per sample five
// int64 (label offset, S, L, alpha offset, state offset) and the offsets
// of the samples' labels in the targets (at tgtBase), written by the host
// from the lengths; the labels, prev and own regions, written by
// ctc_layout from the targets on the device.
struct CT {
    const void *lp;          // (T, N, C) log-probabilities
    const long long *meta;   // per sample: label offset, S, L, alpha offset, state offset; then labels, prev, own
    void *alpha, *beta;      // the alpha and beta tables (beta: 0 without a gradient)
    void *loss;              // per-sample loss (none) or 0
    double *partial;         // per-sample value to reduce (sum: loss, mean: loss / max(S, 1)) or 0
    void *grad;              // gradient (T, N, C) or 0
    const void *up;          // per-sample upstream gradient (none) or 0 (then s)
    long long steps, n, c, blank;
    long long labBase, prevBase, ownBase;
    long long zeroInf, mean;
    double s;                // upstream scalar: 1 or g, divided by N for mean
};

#define CTC_W 1024 // states kept in shared memory (S <= 511)

template <typename T> __device__ __forceinline__ T ctc_lse3(T a1, T a2, T a3) {
    T m = a1;
    if (a2 > m) m = a2;
    if (a3 > m) m = a3;
    if (m == -inf<T>()) m = 0;
    T e = (T)(dexp<T>(a1 - m) + dexp<T>(a2 - m)) + dexp<T>(a3 - m);
    return dlog<T>(e) + m;
}

// ctc_nll: the sample's negative log-likelihood from the last alpha row.
template <typename T> __device__ T ctc_nll(const T *alpha, long long S, long long L) {
    if (L == 0) return S == 0 ? -(T)0 : inf<T>();
    long long w = 2 * S + 1;
    const T *last = alpha + (L - 1) * w;
    if (S == 0) return -last[0];
    T l1 = last[2 * S], l2 = last[2 * S - 1];
    T m = cmax(l1, l2);
    if (m == -inf<T>()) m = 0;
    return -(dlog<T>(dexp<T>(l1 - m) + dexp<T>(l2 - m)) + m);
}

#define CTC_PRIME(s) (((s) % 2 == 0) ? p.blank : lab[(s) / 2])

// ctc_rec runs one recursion: alpha forward in time (beta == false) or beta
// backward, into tab (L rows of w).
template <typename T, bool beta> __device__ void ctc_rec(const CT &p, T *tab, const T *lpb, const long long *lab, long long S, long long L) {
    __shared__ T sm[2][CTC_W];
    const long long NC = p.n * p.c, w = 2 * S + 1;
    const T ninf = -inf<T>();
    const bool shared = w <= CTC_W;
    const long long t0 = beta ? L - 1 : 0;
    for (long long s = threadIdx.x; s < w; s += blockDim.x) {
        T v = ninf;
        if (!beta && s == 0) v = lpb[t0 * NC + p.blank];
        if (!beta && s == 1) v = lpb[t0 * NC + CTC_PRIME(1)];
        if (beta && s == 2 * S) v = lpb[t0 * NC + p.blank];
        if (beta && S > 0 && s == 2 * S - 1) v = lpb[t0 * NC + CTC_PRIME(2 * S - 1)];
        tab[t0 * w + s] = v;
        if (shared) sm[0][s] = v;
    }
    const long long s0 = threadIdx.x;
    const long long cp0 = s0 < w ? CTC_PRIME(s0) : 0;
    T next = 0; // the log-probability of state s0 at the coming step
    if (L > 1 && s0 < w) next = lpb[(beta ? t0 - 1 : 1) * NC + cp0];
    __syncthreads();
    for (long long k = 1; k < L; k++) {
        const long long t = beta ? L - 1 - k : k, tp = beta ? t + 1 : t - 1;
        const T *pr = shared ? sm[(k - 1) & 1] : tab + tp * w;
        T *cs = sm[k & 1];
        T cur0 = next;
        if (k + 1 < L && s0 < w) next = lpb[(beta ? t - 1 : t + 1) * NC + cp0];
        for (long long s = s0; s < w; s += blockDim.x) {
            long long cp = s == s0 ? cp0 : CTC_PRIME(s);
            T v;
            if (!beta) {
                T a2 = s > 0 ? pr[s - 1] : ninf;
                T a3 = (s > 1 && CTC_PRIME(s - 2) != cp) ? pr[s - 2] : ninf;
                v = ctc_lse3<T>(pr[s], a2, a3);
            } else {
                T b2 = s < 2 * S ? pr[s + 1] : ninf;
                T b3 = (s < 2 * S - 1 && CTC_PRIME(s + 2) != cp) ? pr[s + 2] : ninf;
                v = ctc_lse3<T>(pr[s], b2, b3);
            }
            v = v + (s == s0 ? cur0 : lpb[t * NC + cp]);
            tab[t * w + s] = v;
            if (shared) cs[s] = v;
        }
        __syncthreads();
    }
}

template <typename T> __device__ void ctc_ab(const CT &p) {
    const bool beta = blockIdx.y == 1;
    if (beta && !p.beta) return;
    for (long long b = blockIdx.x; b < p.n; b += gridDim.x) {
        const long long *mb = p.meta + 5 * b;
        long long S = mb[1], L = mb[2];
        const long long *lab = p.meta + p.labBase + mb[0];
        const T *lpb = (const T *)p.lp + b * p.c;
        if (L > 0) {
            if (beta) ctc_rec<T, true>(p, (T *)p.beta + mb[3], lpb, lab, S, L);
            else ctc_rec<T, false>(p, (T *)p.alpha + mb[3], lpb, lab, S, L);
        }
        if (!beta && threadIdx.x == 0 && (p.loss || p.partial)) {
            T nll = ctc_nll<T>((const T *)p.alpha + mb[3], S, L);
            T res = (p.zeroInf && nll == inf<T>()) ? (T)0 : nll;
            if (p.loss) ((T *)p.loss)[b] = res;
            if (p.partial) p.partial[b] = (double)(p.mean ? res / (T)(S > 1 ? S : 1) : res);
        }
        __syncthreads();
    }
}

template <typename T> __device__ void ctc_grad(const CT &p) {
    __shared__ double snll;
    const long long NC = p.n * p.c, C = p.c;
    const T ninf = -inf<T>();
    const long long tch = (p.steps + gridDim.y - 1) / gridDim.y;
    const long long t0 = blockIdx.y * tch, t1 = min(t0 + tch, p.steps);
    if (t0 >= t1) return;
    for (long long b = blockIdx.x; b < p.n; b += gridDim.x) {
        const long long *mb = p.meta + 5 * b;
        long long S = mb[1], L = mb[2], w = 2 * S + 1;
        const long long *lab = p.meta + p.labBase + mb[0];
        const long long *prev = p.meta + p.prevBase + mb[4];
        const long long *own = p.meta + p.ownBase + mb[4];
        const T *alpha = (const T *)p.alpha + mb[3], *beta = (const T *)p.beta + mb[3];
        const T *lpb = (const T *)p.lp + b * C;
        T *G = (T *)p.grad + b * C;
        if (threadIdx.x == 0) snll = (double)ctc_nll<T>(alpha, S, L);
        __syncthreads();
        const T nll = (T)snll;
        T gr = p.up ? ((const T *)p.up)[b] : (T)p.s;
        if (p.mean) gr = gr / (T)(S > 1 ? S : 1);
        const bool zero = p.zeroInf && nll == inf<T>();
        const long long te = zero ? t0 : min(t1, L); // steps [t0, te) get a gradient
        for (long long k = threadIdx.x; k < (t1 - t0) * C; k += blockDim.x) {
            long long t = t0 + k / C, c = k % C;
            G[t * NC + c] = t < te ? ninf : (T)0;
        }
        __syncthreads();
        for (long long k = threadIdx.x; k < (te - t0) * w; k += blockDim.x) {
            long long t = t0 + k / w, s = k % w;
            if (!own[s]) continue;
            const T *la = alpha + t * w, *lb = beta + t * w;
            T acc = ninf;
            for (long long q = s; q >= 0; q = prev[q]) {
                T v = la[q] + lb[q];
                if (acc == ninf) {
                    acc = v;
                } else {
                    T mx = cmax(acc, v);
                    acc = dlog<T>(dexp<T>(acc - mx) + dexp<T>(v - mx)) + mx;
                }
            }
            G[t * NC + CTC_PRIME(s)] = acc;
        }
        __syncthreads();
        for (long long k = threadIdx.x; k < (te - t0) * C; k += blockDim.x) {
            long long t = t0 + k / C, c = k % C;
            T l = lpb[t * NC + c];
            T *g = G + t * NC + c;
            T eb = dexp<T>((*g + nll) - l);
            *g = (T)(dexp<T>(l) - eb) * gr;
        }
        __syncthreads();
    }
}
#undef CTC_PRIME

// ctc_layout writes the labels, prev and own regions of meta (see CT) from
// the int64 targets on the device; the host wrote the per-sample header
// and, at tgtBase, where each sample's labels start in the targets (all
// from the lengths). One block per sample, one thread per state; a label
// the kernels cannot index (outside [0, C), or the blank) sets the flag
// and is laid out as the blank, so that nothing reads out of bounds before
// the error is reported. CL is mirrored by ctcLayoutParams in ../ctc.go.
struct CL {
    const long long *tg; // the targets: padded (N, S) or concatenated
    long long *meta;     // the layout (CT's meta)
    int *flag;           // set to 1 for a label the kernels cannot index
    long long n, c, blank;
    long long tgtBase, labBase, prevBase, ownBase;
};

__device__ __forceinline__ bool ctc_bad(const CL &p, long long v) { return v < 0 || v >= p.c || v == p.blank; }
__device__ __forceinline__ long long ctc_lab(const CL &p, long long at) {
    long long v = p.tg[at];
    return ctc_bad(p, v) ? p.blank : v;
}

extern "C" __global__ void __launch_bounds__(512) ctc_layout(CL p) {
    for (long long b = blockIdx.x; b < p.n; b += gridDim.x) {
        const long long *mb = p.meta + 5 * b;
        const long long S = mb[1], w = 2 * S + 1, to = p.meta[p.tgtBase + b];
        long long *lab = p.meta + p.labBase + mb[0];
        long long *prev = p.meta + p.prevBase + mb[4], *own = p.meta + p.ownBase + mb[4];
        for (long long s = threadIdx.x; s < w; s += blockDim.x) {
            if (s % 2 == 0) { // the blank's states chain two by two
                prev[s] = s >= 2 ? s - 2 : -1;
                own[s] = s == 2 * S;
                continue;
            }
            const long long k = s / 2;
            if (ctc_bad(p, p.tg[to + k])) *p.flag = 1;
            const long long v = ctc_lab(p, to + k);
            lab[k] = v;
            long long q = -1; // the previous state of the same class
            for (long long j = k - 1; j >= 0; j--) {
                if (ctc_lab(p, to + j) == v) {
                    q = 2 * j + 1;
                    break;
                }
            }
            prev[s] = q;
            long long last = 1; // no later state of the same class
            for (long long j = k + 1; j < S; j++) {
                if (ctc_lab(p, to + j) == v) {
                    last = 0;
                    break;
                }
            }
            own[s] = last;
        }
    }
}

extern "C" __global__ void ctc_ab_f32(CT p) { ctc_ab<float>(p); }
extern "C" __global__ void ctc_ab_f64(CT p) { ctc_ab<double>(p); }
extern "C" __global__ void ctc_grad_f32(CT p) { ctc_grad<float>(p); }
extern "C" __global__ void ctc_grad_f64(CT p) { ctc_grad<double>(p); }

// The tensor package's elementwise operations on the device (tensor.Arith,
// tensor.Filler): gradient accumulation (dst may be a), dtype conversion
// (float64 to float32 rounds to nearest even, as Go's float32(x)), and a
// float64 fill. Grid-stride loops, one element per thread and step.
#define ELEMENTS(i, n) for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

extern "C" __global__ void add_f32(float *dst, const float *a, const float *b, long long n) { ELEMENTS(i, n) dst[i] = a[i] + b[i]; }
extern "C" __global__ void add_f64(double *dst, const double *a, const double *b, long long n) { ELEMENTS(i, n) dst[i] = a[i] + b[i]; }
extern "C" __global__ void convert_f32_f64(double *dst, const float *src, long long n) { ELEMENTS(i, n) dst[i] = (double)src[i]; }
extern "C" __global__ void convert_f64_f32(float *dst, const double *src, long long n) { ELEMENTS(i, n) dst[i] = __double2float_rn(src[i]); }
extern "C" __global__ void fill_f64(double *dst, double v, long long n) { ELEMENTS(i, n) dst[i] = v; }
#undef ELEMENTS
