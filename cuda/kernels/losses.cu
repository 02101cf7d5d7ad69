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
    long long i0, i1;               // flags (log_input/log_target, full)
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

enum { L1 = 1, MSE, BCE, BCEWL, POISSON, GAUSSIAN, HINGE, KLDIV };

// element computes the loss of element i and writes the gradients.
template <typename T, int K> __device__ __noinline__ T element(const P &p, long long i) {
    T u = p.up ? ld<T>(p.up, i) : (T)p.s;
    T x = ld<T>(p.a, i);
    if (K == MSE) {
        // (Written apart from the switch: cicc 11.8 at -O2 hangs on the
        // switch case.) norm is a T value, so norm*d in double rounds once
        // to T, exactly T's product.
        T y = ld<T>(p.b, i);
        T d = x - y;
        if (p.ga) st<T>(p.ga, i, (T)(p.s2 * (double)d) * u);
        if (p.gb) st<T>(p.gb, i, (T)(p.s2 * (double)(y - x)) * u);
        return d * d;
    }
    if (K == HINGE) {
        T t = ld<T>(p.b, i);
        T margin = (T)p.o0;
        T a = 0, b = 0;
        if (t != 1) a = clampmin(margin - x, (T)0);
        if (t != -1) b = x;
        if (p.ga) {
            T gs = (t != -1) ? u : (T)0;
            T gm = (t != 1) ? u : (T)0;
            if (!(margin - x >= 0)) gm = 0;
            st<T>(p.ga, i, gs + -gm);
        }
        return a + b;
    }
    T y = ld<T>(p.b, i);
    switch (K) {
    case L1: {
        T g = u * sgn(x - y);
        st<T>(p.ga, i, g);
        st<T>(p.gb, i, -g);
        return (T)fabs((double)(x - y));
    }
    case BCE: {
        if (!(x >= 0 && x <= 1) || !(y >= 0 && y <= 1)) {
            *p.flag = 1;
            return 0;
        }
        T a = (T)((y - 1) * cmax(dlog1p(-x), (T)-100));
        T b = (T)(y * cmax(dlog(x), (T)-100));
        T l = a - b;
        T w = p.w ? ld<T>(p.w, i) : (T)1;
        if (p.w) l = (T)(l * w);
        if (p.ga) {
            T num = (T)(u * (x - y));
            T g = num / cmax((T)((1 - x) * x), (T)1e-12f);
            if (p.w) g = (T)(g * w);
            if (p.s2 != 0) g /= (T)p.s2;
            st<T>(p.ga, i, g);
        }
        if (p.gb) {
            T lg = (x == 1) ? inf<T>() : dlog(x / (1 - x));
            T g = -lg * u;
            if (p.w) g = (T)(g * w);
            if (p.s2 != 0) g /= (T)p.s2;
            st<T>(p.gb, i, g);
        }
        return l;
    }
    case BCEWL: {
        T pw = 0;
        if (p.pw) pw = ld<T>(p.pw, p.period ? i % p.period : i);
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
        T w = p.w ? ld<T>(p.w, i) : (T)1;
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
            st<T>(p.ga, i, g);
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
            st<T>(p.gb, i, g);
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
                st<T>(p.ga, i, c2 + c1);
            }
            if (p.gb) {
                T main = (T)(-u * x);
                st<T>(p.gb, i, full ? stirling_grad(y, u, main) : main);
            }
        } else {
            T a = x + eps;
            T lg = dlog(a);
            l = x - (T)(y * lg);
            if (p.ga) {
                T gl = (T)(-u * y);
                T c2 = gl / a;
                st<T>(p.ga, i, u + c2);
            }
            if (p.gb) {
                T main = (T)(-u * lg);
                st<T>(p.gb, i, full ? stirling_grad(y, u, main) : main);
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
        T v = ld<T>(p.c, i);
        if (v < 0) {
            *p.flag = 1;
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
            st<T>(p.ga, i, gd);
            st<T>(p.gb, i, -gd);
        }
        if (p.gc) {
            T gq = (T)(-gs * ((sq / vc) / vc));
            T lg = gs / vc;
            st<T>(p.gc, i, gq + lg);
        }
        return l;
    }
    case KLDIV: {
        T l;
        if (p.i0) { // log_target
            T e = dexp(y);
            l = (T)(e * (y - x));
            T gD = (T)(u * e);
            st<T>(p.ga, i, -gD);
            if (p.gb) {
                T gE = (T)(u * (y - x));
                st<T>(p.gb, i, gD + (T)(gE * e));
            }
        } else {
            T xl = (y != y) ? y : (y == 0 ? (T)0 : (T)(y * dlog(y))); // xlogy(y, y)
            l = xl - (T)(y * x);
            st<T>(p.ga, i, (T)(-u * y));
            if (p.gb) {
                T gself = 0;
                if (y != 0) gself = (y != y) ? y : (u == 0 ? (T)0 : (T)(u * dlog(y)));
                T gother = (T)((T)(u * y) / y);
                T g = (T)(-u * x) + gself;
                st<T>(p.gb, i, g + gother);
            }
        }
        return l;
    }
    }
    return 0;
}

template <typename T, int K> __device__ void pointwise(const P &p) {
    __shared__ double red[BLOCK];
    double acc = 0;
    long long stride = (long long)gridDim.x * BLOCK;
    for (long long i = (long long)blockIdx.x * BLOCK + threadIdx.x; i < p.n; i += stride) {
        T l = element<T, K>(p, i);
        if (p.loss) ((T *)p.loss)[i] = l;
        acc += (double)l;
    }
    if (!p.partial) return;
    red[threadIdx.x] = acc;
    __syncthreads();
    for (int h = BLOCK / 2; h > 0; h >>= 1) {
        if (threadIdx.x < h) red[threadIdx.x] += red[threadIdx.x + h];
        __syncthreads();
    }
    if (threadIdx.x == 0) p.partial[blockIdx.x] = red[0];
}

// reduce_final sums nb block partials in a fixed order (one block) and
// writes out[0] = (T)sum, divided by (T)div when div != 0.
template <typename T> __device__ void reduce_final(const double *partial, long long nb, T *out, double div) {
    __shared__ double red[BLOCK];
    double acc = 0;
    for (long long i = threadIdx.x; i < nb; i += BLOCK) acc += partial[i];
    red[threadIdx.x] = acc;
    __syncthreads();
    for (int h = BLOCK / 2; h > 0; h >>= 1) {
        if (threadIdx.x < h) red[threadIdx.x] += red[threadIdx.x + h];
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        T r = (T)red[0];
        if (div != 0) r = r / (T)div;
        out[0] = r;
    }
}

#define POINTWISE(name, K)                                                   \
    extern "C" __global__ void name##_f32(P p) { pointwise<float, K>(p); }  \
    extern "C" __global__ void name##_f64(P p) { pointwise<double, K>(p); }

POINTWISE(l1_loss, L1)
POINTWISE(mse_loss, MSE)
POINTWISE(binary_cross_entropy, BCE)
POINTWISE(binary_cross_entropy_with_logits, BCEWL)
POINTWISE(poisson_nll_loss, POISSON)
POINTWISE(gaussian_nll_loss, GAUSSIAN)
POINTWISE(hinge_embedding_loss, HINGE)
POINTWISE(kl_div, KLDIV)

extern "C" __global__ void reduce_final_f32(const double *partial, long long nb, float *out, double div) { reduce_final<float>(partial, nb, out, div); }
extern "C" __global__ void reduce_final_f64(const double *partial, long long nb, double *out, double div) { reduce_final<double>(partial, nb, out, div); }
