#!/usr/bin/python3
"""Generates vecmath_amd64.s: the AVX2 (four float64 lanes, no FMA)
versions of Exp32, Log32 and Log1p32, eight-lane float32 Expf and the
cross_entropy row kernels (cerow.go), the same operations in the same order
as the Go functions in fastmath.go, so that the results are bitwise
identical; and AVX-512 forms of the hottest row kernels (sixteen lanes,
selected at run time, see zify). Run by go generate ./internal/kernels
(python3 gen_vecmath.py -o vecmath_amd64.s; without -o it writes to standard
output); TestVecmathUpToDate checks the committed file.
"""
import struct
import sys

consts = {}


def c(name, bits):
    consts[name] = bits
    return "%s<>(SB)" % name


def cd(name, v):
    return c(name, struct.unpack("<Q", struct.pack("<d", v))[0])


ROUND = float.fromhex("0x1.8p52")
body = []
EXP = """
// func exp32AVX2(dst, src []float32) bool
TEXT ·exp32AVX2(SB), NOSPLIT, $0-49
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	SHRQ $2, CX
	VPCMPEQQ Y15, Y15, Y15
	TESTQ CX, CX
	JZ exp_done
exp_loop:
	VCVTPS2PD (SI), Y0
	VCMPPD $0x12, %s, Y0, Y6
	VANDPD Y6, Y15, Y15
	VCMPPD $0x1D, %s, Y0, Y7
	VMAXPD exp_lo<>(SB), Y0, Y0
	VMULPD %s, Y0, Y1
	VADDPD %s, Y1, Y1
	VSUBPD round<>(SB), Y1, Y2
	VMULPD %s, Y2, Y3
	VSUBPD Y3, Y0, Y3
	VMULPD %s, Y3, Y4
	VADDPD %s, Y4, Y4
""" % (cd("exp_hi", 88.8), cd("exp_lo", -104.0), cd("log2e", 1.44269504088896340735992468100189214),
       cd("round", ROUND), cd("ln2", 0.693147180559945309417232121458176568), cd("e8", 1.0 / 40320), cd("e7", 1.0 / 5040))
for name, v in [("e6", 1.0 / 720), ("e5", 1.0 / 120), ("e4", 1.0 / 24), ("e3", 1.0 / 6), ("e2", 1.0 / 2), ("one", 1.0)]:
    EXP += "\tVMULPD Y3, Y4, Y4\n\tVADDPD %s, Y4, Y4\n" % cd(name, v)
EXP += "\tVMULPD Y3, Y4, Y4\n\tVADDPD one<>(SB), Y4, Y4\n"
cadj = (1023 - 0x4338000000000000) & 0xFFFFFFFFFFFFFFFF
EXP += """	VPADDQ %s, Y1, Y5
	VPSLLQ $52, Y5, Y5
	VMULPD Y5, Y4, Y4
	VANDPD Y7, Y4, Y4
	VCVTPD2PSY Y4, X4
	VMOVUPS X4, (DI)
	ADDQ $16, SI
	ADDQ $16, DI
	DECQ CX
	JNZ exp_loop
exp_done:
	VMOVMSKPD Y15, AX
	CMPL AX, $0xF
	SETNE ret+48(FP)
	VZEROUPPER
	RET
""" % c("expadj", cadj)
body.append(EXP)


def logcore():
    # Y0 = u (positive, finite, normal) -> Y1 = log(u); clobbers Y1-Y7.
    s = """	VPSRLQ $52, Y0, Y1
	VPOR %s, Y1, Y1
	VSUBPD %s, Y1, Y1
	VANDPD %s, Y0, Y2
	VORPD %s, Y2, Y2
	VCMPPD $0x1E, %s, Y2, Y3
	VMULPD %s, Y2, Y4
	VBLENDVPD Y3, Y4, Y2, Y2
	VANDPD one<>(SB), Y3, Y5
	VADDPD Y5, Y1, Y1
	VSUBPD one<>(SB), Y2, Y2
	VADDPD %s, Y2, Y6
	VDIVPD Y6, Y2, Y6
	VMULPD Y6, Y6, Y7
	VMULPD %s, Y7, Y4
""" % (c("c4330", 0x4330000000000000), cd("c2p52b", 2.0 ** 52 + 1023), c("fmask", (1 << 52) - 1),
       c("onebits", 1023 << 52), cd("sqrt2", 1.41421356237309504880168872420969808), cd("half", 0.5),
       cd("two", 2.0), cd("l13", 1.0 / 13))
    for name, v in [("l11", 1.0 / 11), ("l9", 1.0 / 9), ("l7", 1.0 / 7), ("l5", 1.0 / 5), ("l3", 1.0 / 3)]:
        s += "\tVADDPD %s, Y4, Y4\n\tVMULPD Y7, Y4, Y4\n" % cd(name, v)
    # Y4 = r; result = e·ln2 + (2s + 2s·r), 2s computed as s + s (exact).
    s += """	VADDPD Y6, Y6, Y6
	VMULPD Y4, Y6, Y4
	VADDPD Y4, Y6, Y6
	VMULPD ln2<>(SB), Y1, Y1
	VADDPD Y6, Y1, Y1
"""
    return s


def func(name, label, check, pre, post):
    return """
// func %s(dst, src []float32) bool
TEXT ·%s(SB), NOSPLIT, $0-49
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	SHRQ $2, CX
	VPCMPEQQ Y15, Y15, Y15
	TESTQ CX, CX
	JZ %s_done
%s_loop:
%s%s%s%s	VCVTPD2PSY Y1, X1
	VMOVUPS X1, (DI)
	ADDQ $16, SI
	ADDQ $16, DI
	DECQ CX
	JNZ %s_loop
%s_done:
	VMOVMSKPD Y15, AX
	CMPL AX, $0xF
	SETNE ret+48(FP)
	VZEROUPPER
	RET
""" % (name, name, label, label, check, pre, logcore(), post, label, label)


body.append(func("log32AVX2", "log", """	VCVTPS2PD (SI), Y0
	VXORPD Y8, Y8, Y8
	VCMPPD $0x1E, Y8, Y0, Y9
	VCMPPD $0x12, %s, Y0, Y10
	VANDPD Y10, Y9, Y9
	VCMPPD $0x00, Y8, Y0, Y11
	VORPD Y11, Y9, Y9
	VANDPD Y9, Y15, Y15
""" % cd("maxf32", 3.4028234663852886e38), "", "\tVBLENDVPD Y11, %s, Y1, Y1\n" % cd("neginf", float("-inf"))))
body.append(func("log1p32AVX2", "log1p", """	VCVTPS2PD (SI), Y8
	VANDPD %s, Y8, Y9
	VCMPPD $0x11, %s, Y9, Y9
	VCMPPD $0x1E, %s, Y8, Y10
	VCMPPD $0x12, maxf32<>(SB), Y8, Y11
	VANDPD Y11, Y10, Y10
	VORPD Y9, Y10, Y10
	VANDPD Y10, Y15, Y15
""" % (c("absmask", (1 << 63) - 1), cd("tiny", 2.0 ** -29), cd("mone", -1.0)), "\tVADDPD one<>(SB), Y8, Y0\n",
                 "\tVBLENDVPD Y9, Y8, Y1, Y1\n"))


# Float32 arithmetic, eight lanes: expf (Expf in cerow.go, the same
# operations in the same order, no FMA) and the cross_entropy row kernels.
def cf(name, bits32):
    return c(name, (bits32 << 32) | bits32)


EXPF_CONSTS = dict(
    f_hi=0x42b1999a, f_lo=0xc2d00000, f_log2e=0x3fb8aa3b, f_rnd=0x4b400000, f_c1=0x3f318000, f_c2=0xb95e8083,
    f_p0=0x39506967, f_p1=0x3ab743ce, f_p2=0x3c088908, f_p3=0x3d2aa9c1, f_p4=0x3e2aaaaa, f_p5=0x3f000000,
    f_one=0x3f800000, f_bias=127)
for k, v in EXPF_CONSTS.items():
    cf(k, v)


def expf(x, out):
    # x (a register, clamped in place) -> out; Y10 = f_hi, Y11 = f_lo;
    # clobbers Y2-Y7. VMINPS/VMAXPS with x as the second source pass a NaN
    # through, as Expf's comparisons do.
    s = """	VMINPS %(x)s, Y10, %(x)s
	VMAXPS %(x)s, Y11, %(x)s
	VMULPS f_log2e<>(SB), %(x)s, Y2
	VADDPS f_rnd<>(SB), Y2, Y2
	VSUBPS f_rnd<>(SB), Y2, Y3
	VMULPS f_c1<>(SB), Y3, Y4
	VSUBPS Y4, %(x)s, Y4
	VMULPS f_c2<>(SB), Y3, Y5
	VSUBPS Y5, Y4, Y4
	VMULPS Y4, Y4, Y5
	VMULPS f_p0<>(SB), Y4, Y6
	VADDPS f_p1<>(SB), Y6, Y6
"""
    for p in ["f_p2", "f_p3", "f_p4", "f_p5"]:
        s += "\tVMULPS Y4, Y6, Y6\n\tVADDPS %s<>(SB), Y6, Y6\n" % p
    s += """	VMULPS Y5, Y6, Y6
	VADDPS Y4, Y6, Y6
	VADDPS f_one<>(SB), Y6, Y6
	VPSUBD f_rnd<>(SB), Y2, Y2
	VPSRAD $1, Y2, Y3
	VPSUBD Y3, Y2, Y2
	VPADDD f_bias<>(SB), Y3, Y3
	VPSLLD $23, Y3, Y3
	VPADDD f_bias<>(SB), Y2, Y2
	VPSLLD $23, Y2, Y2
	VMULPS Y3, Y6, Y6
	VMULPS Y2, Y6, %(out)s
"""
    return s % {"x": x, "out": out}


body.append("""
// func expf32AVX2(dst, src []float32)
// dst[i] = Expf(src[i]) for i < len(src)&^7.
TEXT ·expf32AVX2(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	SHRQ $3, CX
	JZ expf_done
	VMOVUPS f_hi<>(SB), Y10
	VMOVUPS f_lo<>(SB), Y11
expf_loop:
	VMOVUPS (SI), Y0
""" + expf("Y0", "Y1") + """	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ expf_loop
expf_done:
	VZEROUPPER
	RET

// func max32AVX2(x []float32) float32
// The maximum of x[:len(x)&^7] (len(x) >= 8) by VMAXPS: a NaN may be
// dropped (see RowMaxF).
TEXT ·max32AVX2(SB), NOSPLIT, $0-28
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	SHRQ $3, CX
	VMOVUPS (SI), Y0
	VMOVAPS Y0, Y1
	VMOVAPS Y0, Y2
	VMOVAPS Y0, Y3
	ADDQ $32, SI
	DECQ CX
max_loop4:
	CMPQ CX, $4
	JB max_loop1
	VMAXPS (SI), Y0, Y0
	VMAXPS 32(SI), Y1, Y1
	VMAXPS 64(SI), Y2, Y2
	VMAXPS 96(SI), Y3, Y3
	ADDQ $128, SI
	SUBQ $4, CX
	JMP max_loop4
max_loop1:
	TESTQ CX, CX
	JZ max_done
	VMAXPS (SI), Y0, Y0
	ADDQ $32, SI
	DECQ CX
	JMP max_loop1
max_done:
	VMAXPS Y1, Y0, Y0
	VMAXPS Y3, Y2, Y2
	VMAXPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4E, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xB1, X0, X1
	VMAXPS X1, X0, X0
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func expSum32AVX2(x, e []float32, m float32, w []float32, mode int, acc *[16]float32)
// For i < len(x)&^7, d = x[i] - m: e[i] = Expf(d), acc[i%8] += e[i], and
// acc[8+i%8] += d (mode 1) or float32(w[i]*d) (mode 2).
TEXT ·expSum32AVX2(SB), NOSPLIT, $0-96
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	MOVQ e_base+24(FP), DI
	VBROADCASTSS m+48(FP), Y12
	MOVQ w_base+56(FP), R8
	MOVQ mode+80(FP), DX
	MOVQ acc+88(FP), AX
	VMOVUPS (AX), Y8
	VMOVUPS 32(AX), Y9
	VMOVUPS f_hi<>(SB), Y10
	VMOVUPS f_lo<>(SB), Y11
	SHRQ $3, CX
	JZ es_done
es_loop:
	VMOVUPS (SI), Y0
	VSUBPS Y12, Y0, Y0
	CMPQ DX, $1
	JB es_exp
	JA es_w
	VADDPS Y0, Y9, Y9
	JMP es_exp
es_w:
	VMULPS (R8), Y0, Y1
	VADDPS Y1, Y9, Y9
	ADDQ $32, R8
es_exp:
""" + expf("Y0", "Y1") + """	VMOVUPS Y1, (DI)
	VADDPS Y1, Y8, Y8
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ es_loop
es_done:
	VMOVUPS Y8, (AX)
	VMOVUPS Y9, 32(AX)
	VZEROUPPER
	RET

// func ceGrad32AVX2(g, w []float32, k, a float32)
// For i < len(g)&^7: g[i] = g[i]*k + w[i]*a (len(w) == 0: g[i]*k + a).
TEXT ·ceGrad32AVX2(SB), NOSPLIT, $0-56
	MOVQ g_base+0(FP), DI
	MOVQ g_len+8(FP), CX
	MOVQ w_base+24(FP), R8
	MOVQ w_len+32(FP), DX
	VBROADCASTSS k+48(FP), Y1
	VBROADCASTSS a+52(FP), Y2
	SHRQ $3, CX
	JZ cg_done
	TESTQ DX, DX
	JNZ cg_wloop
cg_loop:
	VMULPS (DI), Y1, Y3
	VADDPS Y2, Y3, Y3
	VMOVUPS Y3, (DI)
	ADDQ $32, DI
	DECQ CX
	JNZ cg_loop
	JMP cg_done
cg_wloop:
	VMULPS (DI), Y1, Y3
	VMULPS (R8), Y2, Y4
	VADDPS Y4, Y3, Y3
	VMOVUPS Y3, (DI)
	ADDQ $32, DI
	ADDQ $32, R8
	DECQ CX
	JNZ cg_wloop
cg_done:
	VZEROUPPER
	RET
""")


# AVX-512 forms (sixteen lanes, run-time selected where the CPU has
# AVX512F): zify turns an AVX2 sequence into the same operations on Z
# registers, with the constants it reads from memory preloaded into
# registers (zconsts). Lane l of a 16-lane vector is lane l of the AVX2
# kernel's vector for the first eight elements and lane l - 8 of the next
# vector's for the rest, so kernels that sum by lanes add the lower, then
# the upper half to their eight-lane accumulators: the same additions in
# the same order.
import re

EXPF_Z = ["f_log2e", "f_rnd", "f_c1", "f_c2", "f_p0", "f_p1", "f_p2", "f_p3", "f_p4", "f_p5", "f_one", "f_bias"]


def zconsts(names, first=16):
    return {n: "Z%d" % (first + i) for i, n in enumerate(names)}


def zload(cmap):
    return "".join("\tVBROADCASTSS %s<>(SB), %s\n" % (n, r) for n, r in cmap.items())


def zify(asm, cmap):
    asm = re.sub(r"\bY(\d+)\b", r"Z\1", asm)
    for n, r in cmap.items():
        asm = asm.replace(n + "<>(SB)", r)
    assert "<>(SB)" not in asm, asm
    return asm


def expsum512():
    cm = zconsts(EXPF_Z)
    return """
// func expSum32AVX512(x, e []float32, m float32, w []float32, mode int, acc *[16]float32)
// expSum32AVX2 for i < len(x)&^15, sixteen lanes at a time.
TEXT ·expSum32AVX512(SB), NOSPLIT, $0-96
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	MOVQ e_base+24(FP), DI
	VBROADCASTSS m+48(FP), Z12
	MOVQ w_base+56(FP), R8
	MOVQ mode+80(FP), DX
	MOVQ acc+88(FP), AX
	VMOVUPS (AX), Y8
	VMOVUPS 32(AX), Y9
	VBROADCASTSS f_hi<>(SB), Z10
	VBROADCASTSS f_lo<>(SB), Z11
""" + zload(cm) + """	SHRQ $4, CX
	JZ done
loop:
	VMOVUPS (SI), Z0
	VSUBPS Z12, Z0, Z0
	CMPQ DX, $1
	JB exp
	JA wsum
	VEXTRACTF64X4 $1, Z0, Y13
	VADDPS Y0, Y9, Y9
	VADDPS Y13, Y9, Y9
	JMP exp
wsum:
	VMULPS (R8), Z0, Z1
	VEXTRACTF64X4 $1, Z1, Y13
	VADDPS Y1, Y9, Y9
	VADDPS Y13, Y9, Y9
	ADDQ $64, R8
exp:
""" + zify(expf("Y0", "Y1"), cm) + """	VMOVUPS Z1, (DI)
	VEXTRACTF64X4 $1, Z1, Y13
	VADDPS Y1, Y8, Y8
	VADDPS Y13, Y8, Y8
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ loop
done:
	VMOVUPS Y8, (AX)
	VMOVUPS Y9, 32(AX)
	VZEROUPPER
	RET
"""


body.append(expsum512())
body.append("""
// func sigmoid32AVX2(dst, src []float32)
// dst[i] = 1/(1 + Expf(-src[i])) for i < len(src)&^7.
TEXT ·sigmoid32AVX2(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	SHRQ $3, CX
	JZ sig_done
	VMOVUPS f_hi<>(SB), Y10
	VMOVUPS f_lo<>(SB), Y11
	VMOVUPS f_one<>(SB), Y12
	VMOVUPS f_sign<>(SB), Y13
sig_loop:
	VXORPS (SI), Y13, Y0
""" + expf("Y0", "Y1") + """	VADDPS Y12, Y1, Y1
	VDIVPS Y1, Y12, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ sig_loop
sig_done:
	VZEROUPPER
	RET
""")
cf("f_sign", 0x80000000)

# Logf (logf.go) and the binary_cross_entropy forward kernel.
LOGF_CONSTS = dict(
    f_sqrthf=0x3f3504f3,
    f_q1=0xb95e8083,
    f_q2=0x3f318000,
    f_l0=0x3d9021bb,
    f_l1=0xbdebd1b8,
    f_l2=0x3def251a,
    f_l3=0xbdfe5d4f,
    f_l4=0x3e11e9bf,
    f_l5=0xbe2aae50,
    f_l6=0x3e4cceac,
    f_l7=0xbe7ffffc,
    f_l8=0x3eaaaaaa,
    f_m100=0xc2c80000,
    f_mant=0x807fffff, f_halfb=0x3f000000, f_c126=126, f_tiny=0x00800000)
for k, v in LOGF_CONSTS.items():
    cf(k, v)


def logf(x, out):
    # x: a positive, finite, normal float32 register (clobbered unless Y0)
    # -> out; clobbers Y0-Y7.
    s = ""
    if x != "Y0":
        s += "\tVMOVAPS %s, Y0\n" % x
    s += """	VPSRLD $23, Y0, Y1
	VPSUBD f_c126<>(SB), Y1, Y1
	VANDPS f_mant<>(SB), Y0, Y2
	VORPS f_halfb<>(SB), Y2, Y2
	VCMPPS $0x11, f_sqrthf<>(SB), Y2, Y3
	VPADDD Y3, Y1, Y1
	VANDPS Y3, Y2, Y4
	VADDPS Y4, Y2, Y2
	VSUBPS f_one<>(SB), Y2, Y2
	VCVTDQ2PS Y1, Y1
	VMULPS Y2, Y2, Y5
	VMULPS f_l0<>(SB), Y2, Y6
	VADDPS f_l1<>(SB), Y6, Y6
"""
    for k in range(2, 9):
        s += "\tVMULPS Y2, Y6, Y6\n\tVADDPS f_l%d<>(SB), Y6, Y6\n" % k
    s += """	VMULPS Y2, Y6, Y6
	VMULPS Y5, Y6, Y6
	VMULPS f_q1<>(SB), Y1, Y7
	VADDPS Y7, Y6, Y6
	VMULPS f_halfb<>(SB), Y5, Y7
	VSUBPS Y7, Y6, Y6
	VADDPS Y6, Y2, Y2
	VMULPS f_q2<>(SB), Y1, Y7
	VADDPS Y7, Y2, %s
""" % out
    return s


def logf_ops(x, out, e, z, z2, q, t):
    # logf's operations, in its order, on registers of one's choice: x (a
    # positive, finite, normal float32 register, not clobbered) -> out;
    # e, z, z2, q, t are clobbered (out may be one of them, or x).
    ops = [
        "VPSRLD $23, %(x)s, %(e)s",
        "VPSUBD f_c126<>(SB), %(e)s, %(e)s",
        "VANDPS f_mant<>(SB), %(x)s, %(z)s",
        "VORPS f_halfb<>(SB), %(z)s, %(z)s",
        "VCMPPS $0x11, f_sqrthf<>(SB), %(z)s, %(t)s",
        "VPADDD %(t)s, %(e)s, %(e)s",
        "VANDPS %(t)s, %(z)s, %(t)s",
        "VADDPS %(t)s, %(z)s, %(z)s",
        "VSUBPS f_one<>(SB), %(z)s, %(z)s",
        "VCVTDQ2PS %(e)s, %(e)s",
        "VMULPS %(z)s, %(z)s, %(z2)s",
        "VMULPS f_l0<>(SB), %(z)s, %(q)s",
        "VADDPS f_l1<>(SB), %(q)s, %(q)s",
    ]
    for k in range(2, 9):
        ops += ["VMULPS %(z)s, %(q)s, %(q)s", "VADDPS f_l" + str(k) + "<>(SB), %(q)s, %(q)s"]
    ops += [
        "VMULPS %(z)s, %(q)s, %(q)s",
        "VMULPS %(z2)s, %(q)s, %(q)s",
        "VMULPS f_q1<>(SB), %(e)s, %(t)s",
        "VADDPS %(t)s, %(q)s, %(q)s",
        "VMULPS f_halfb<>(SB), %(z2)s, %(t)s",
        "VSUBPS %(t)s, %(q)s, %(q)s",
        "VADDPS %(q)s, %(z)s, %(z)s",
        "VMULPS f_q2<>(SB), %(e)s, %(t)s",
        "VADDPS %(t)s, %(z)s, %(out)s",
    ]
    r = dict(x=x, out=out, e=e, z=z, z2=z2, q=q, t=t)
    return ["\t" + o % r + "\n" for o in ops]


def logf2(a, b):
    # Two independent logfs (logf_ops argument tuples), their operations
    # interleaved one for one: each lane's operations are logf's, in its
    # order, but the two dependency chains are side by side.
    oa, ob = logf_ops(*a), logf_ops(*b)
    return "".join(u + v for u, v in zip(oa, ob))


body.append("""
// func bceFwd32AVX2(x, y, out []float32) bool
// For i < len(x)&^7: out[i] = (y[i]-1)*max(Log1pf(-x[i]), -100) -
// y[i]*max(Logf(x[i]), -100). Returns true when some lane's x is outside
// [2^-126, 1) (-0 and NaN included), or some lane's y is outside [+0, 1]
// (-0 and NaN included): the caller recomputes the block (and checks its
// range, see BCEForwardCheck). The check compares bit patterns as unsigned
// integers, accumulated over the block: the largest x (Y15), the smallest
// x (Y11) and the largest y (Y14); a negative or NaN pattern is larger
// than that of 1.
TEXT ·bceFwd32AVX2(SB), NOSPLIT, $0-73
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	MOVQ y_base+24(FP), R8
	MOVQ out_base+48(FP), DI
	VPXOR Y15, Y15, Y15
	VPCMPEQD Y11, Y11, Y11
	VPXOR Y14, Y14, Y14
	SHRQ $3, CX
	JZ bf_done
bf_loop:
	VMOVUPS (SI), Y8
	VPMAXUD Y8, Y15, Y15
	VPMINUD Y8, Y11, Y11
	VXORPS f_sign<>(SB), Y8, Y12
	VADDPS f_one<>(SB), Y12, Y13
	VSUBPS f_one<>(SB), Y13, Y9
	VSUBPS Y9, Y12, Y12
	VDIVPS Y13, Y12, Y12
""" + logf2(("Y8", "Y8", "Y0", "Y1", "Y2", "Y3", "Y4"), ("Y13", "Y13", "Y5", "Y6", "Y7", "Y9", "Y10")) + """	VADDPS Y12, Y13, Y13
	VMAXPS f_m100<>(SB), Y13, Y13
	VMAXPS f_m100<>(SB), Y8, Y8
	VMOVUPS (R8), Y12
	VPMAXUD Y12, Y14, Y14
	VSUBPS f_one<>(SB), Y12, Y9
	VMULPS Y13, Y9, Y9
	VMULPS Y8, Y12, Y12
	VSUBPS Y12, Y9, Y9
	VMOVUPS Y9, (DI)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, DI
	DECQ CX
	JNZ bf_loop
bf_done:
	VPMINUD f_below1<>(SB), Y15, Y9
	VPCMPEQD Y9, Y15, Y9
	VPMAXUD f_tiny<>(SB), Y11, Y10
	VPCMPEQD Y10, Y11, Y10
	VPAND Y10, Y9, Y9
	VPMINUD f_one<>(SB), Y14, Y10
	VPCMPEQD Y10, Y14, Y10
	VPAND Y10, Y9, Y9
	VMOVMSKPS Y9, AX
	CMPL AX, $0xFF
	SETNE ret+72(FP)
	VZEROUPPER
	RET
""")
cf("f_below1", 0x3f7fffff)

body.append("""
// func sigmoidBwd32AVX2(g, y, gx []float32)
// gx[i] = g[i]*(1 - y[i])*y[i] for i < len(gx)&^7.
TEXT ·sigmoidBwd32AVX2(SB), NOSPLIT, $0-72
	MOVQ g_base+0(FP), SI
	MOVQ y_base+24(FP), R8
	MOVQ gx_base+48(FP), DI
	MOVQ gx_len+56(FP), CX
	VMOVUPS f_one<>(SB), Y3
	SHRQ $3, CX
	JZ sb_done
sb_loop:
	VMOVUPS (R8), Y0
	VSUBPS Y0, Y3, Y1
	VMULPS (SI), Y1, Y1
	VMULPS Y0, Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, DI
	DECQ CX
	JNZ sb_loop
sb_done:
	VZEROUPPER
	RET

// func sigmoidBwd32NTAVX2(g, y, gx []float32)
// sigmoidBwd32AVX2 with non-temporal stores of gx (32-byte aligned).
// gx[i] = g[i]*(1 - y[i])*y[i] for i < len(gx)&^7.
TEXT ·sigmoidBwd32NTAVX2(SB), NOSPLIT, $0-72
	MOVQ g_base+0(FP), SI
	MOVQ y_base+24(FP), R8
	MOVQ gx_base+48(FP), DI
	MOVQ gx_len+56(FP), CX
	VMOVUPS f_one<>(SB), Y3
	SHRQ $3, CX
	JZ sbnt_done
sbnt_loop:
	VMOVUPS (R8), Y0
	VSUBPS Y0, Y3, Y1
	VMULPS (SI), Y1, Y1
	VMULPS Y0, Y1, Y1
	VMOVNTPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, DI
	DECQ CX
	JNZ sbnt_loop
sbnt_done:
	SFENCE
	VZEROUPPER
	RET
""")

cf("f_inf", 0x7f800000)

body.append("""
// func logf32AVX2(dst, src []float32) bool
// dst[i] = Logf(src[i]) for i < len(src)&^7. Returns true when some lane's
// src is not in [2^-126, +inf) (the caller recomputes the block).
TEXT ·logf32AVX2(SB), NOSPLIT, $0-49
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	VPCMPEQD Y15, Y15, Y15
	SHRQ $3, CX
	JZ lf_done
lf_loop:
	VMOVUPS (SI), Y8
	VCMPPS $0x1D, f_tiny<>(SB), Y8, Y9
	VCMPPS $0x11, f_inf<>(SB), Y8, Y10
	VANDPS Y10, Y9, Y9
	VANDPS Y9, Y15, Y15
""" + logf("Y8", "Y11") + """	VMOVUPS Y11, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ lf_loop
lf_done:
	VMOVMSKPS Y15, AX
	CMPL AX, $0xFF
	SETNE ret+48(FP)
	VZEROUPPER
	RET
""")

# binary_cross_entropy_with_logits (BCEWLVec, float32): per element
#   e1 = Expf(-|x|); ls = min(x, 0) - Log1pf(e1); [ls = ls*((pw-1)*y + 1)]
#   out = (1-y)*x - ls
#   grad: s = 1/(1 + Expf(-x)); g = s - y  or  t = pw*y; g = ((t+1)-y)*s - t
#         g = g*u; [g = g/d]  or  [g = g*d]
# pw (flags&1) holds c elements, c%8 == 0, starting at element j (j%8 == 0)
# and wrapping; flags&2: write gx; flags&4: divide by d; flags&8: multiply
# by d (the caller passes d = 2^-k for a mean over 2^k elements: see
# BCEWLVec). Returns true when some x is NaN (the caller recomputes).
#
# One element's operations form one long dependency chain (Expf, VDIVPS,
# Logf, ..., Expf, VDIVPS, VDIVPS), too long for the out-of-order window to
# overlap more than a couple of vectors. So the kernel works in blocks of
# BCEWL_BLOCK bytes (which stay in L1) in three phases, each a loop of
# short independent iterations: A) e1 = Expf(-|x|) into out and, with a
# gradient, e2 = Expf(-x) into gx; B) the loss from e1 (out), x, y, pw into
# out; C) the gradient from e2 (gx), y, pw into gx. Each element's float32
# operations and their order are the former single loop's (a float32 store
# and load is exact), so the results are bitwise the same. out and gx must
# not overlap x, y or pw.
BCEWL_BLOCK = 1024
body.append("""
// func bceWL32AVX2(x, y, pw []float32, j int, out, gx []float32, u, d float32, flags int) bool
TEXT ·bceWL32AVX2(SB), NOSPLIT, $0-145
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	MOVQ y_base+24(FP), R8
	MOVQ pw_base+48(FP), R13
	MOVQ pw_len+56(FP), R14
	MOVQ j+72(FP), AX
	MOVQ out_base+80(FP), DI
	MOVQ gx_base+104(FP), R11
	MOVQ flags+136(FP), R12
	LEAQ (R13)(AX*4), R9
	LEAQ (R13)(R14*4), R10
	VPCMPEQD Y15, Y15, Y15
	VMOVUPS f_hi<>(SB), Y10
	VMOVUPS f_lo<>(SB), Y11
	SHLQ $2, CX
	ANDQ $~31, CX
	JZ bw_done
bw_block:
	MOVQ $""" + str(BCEWL_BLOCK) + """, DX
	CMPQ CX, DX
	CMOVQLT CX, DX
	XORQ BX, BX
bw_a:
	VMOVUPS (SI)(BX*1), Y8
	VCMPPS $0x07, Y8, Y8, Y9
	VANDPS Y9, Y15, Y15
	VORPS f_sign<>(SB), Y8, Y0
""" + expf("Y0", "Y1") + """	VMOVUPS Y1, (DI)(BX*1)
	TESTQ $2, R12
	JZ bw_anext
	VXORPS f_sign<>(SB), Y8, Y0
""" + expf("Y0", "Y1") + """	VMOVUPS Y1, (R11)(BX*1)
bw_anext:
	ADDQ $32, BX
	CMPQ BX, DX
	JNE bw_a
	MOVQ R9, AX
	XORQ BX, BX
bw_b:
	VMOVUPS (DI)(BX*1), Y1
	VADDPS f_one<>(SB), Y1, Y12
	VSUBPS f_one<>(SB), Y12, Y13
	VSUBPS Y13, Y1, Y13
	VDIVPS Y12, Y13, Y13
""" + logf("Y12", "Y14") + """	VADDPS Y13, Y14, Y14
	VMOVUPS (SI)(BX*1), Y8
	VXORPS Y0, Y0, Y0
	VMINPS Y8, Y0, Y0
	VSUBPS Y14, Y0, Y14
	VMOVUPS (R8)(BX*1), Y9
	TESTQ $1, R12
	JZ bw_nopw1
	VMOVUPS (R9), Y12
	VSUBPS f_one<>(SB), Y12, Y13
	VMULPS Y9, Y13, Y13
	VADDPS f_one<>(SB), Y13, Y13
	VMULPS Y13, Y14, Y14
	ADDQ $32, R9
	CMPQ R9, R10
	JNE bw_nopw1
	MOVQ R13, R9
bw_nopw1:
	VMOVUPS f_one<>(SB), Y13
	VSUBPS Y9, Y13, Y13
	VMULPS Y8, Y13, Y13
	VSUBPS Y14, Y13, Y13
	VMOVUPS Y13, (DI)(BX*1)
	ADDQ $32, BX
	CMPQ BX, DX
	JNE bw_b
	TESTQ $2, R12
	JZ bw_next
	MOVQ AX, R9
	XORQ BX, BX
	VMOVUPS f_one<>(SB), Y5
	VBROADCASTSS u+128(FP), Y6
	VBROADCASTSS d+132(FP), Y7
bw_c:
	VMOVUPS (R11)(BX*1), Y1
	VADDPS Y5, Y1, Y1
	VDIVPS Y1, Y5, Y1
	VMOVUPS (R8)(BX*1), Y9
	TESTQ $1, R12
	JZ bw_nopw2
	VMOVUPS (R9), Y12
	VMULPS Y9, Y12, Y12
	VADDPS Y5, Y12, Y13
	VSUBPS Y9, Y13, Y13
	VMULPS Y1, Y13, Y13
	VSUBPS Y12, Y13, Y1
	ADDQ $32, R9
	CMPQ R9, R10
	JNE bw_g
	MOVQ R13, R9
	JMP bw_g
bw_nopw2:
	VSUBPS Y9, Y1, Y1
bw_g:
	VMULPS Y6, Y1, Y1
	TESTQ $4, R12
	JZ bw_nodiv
	VDIVPS Y7, Y1, Y1
bw_nodiv:
	TESTQ $8, R12
	JZ bw_nomul
	VMULPS Y7, Y1, Y1
bw_nomul:
	VMOVUPS Y1, (R11)(BX*1)
	ADDQ $32, BX
	CMPQ BX, DX
	JNE bw_c
	ADDQ DX, R11
bw_next:
	ADDQ DX, SI
	ADDQ DX, R8
	ADDQ DX, DI
	SUBQ DX, CX
	JNZ bw_block
bw_done:
	VMOVMSKPS Y15, AX
	CMPL AX, $0xFF
	SETNE ret+144(FP)
	VZEROUPPER
	RET
""")

# CTC recursion row (ctc.go, float32 with Expf and Logf, eight lanes):
# m = max(a1, a2, a3') with a3' = mask ? a3 : -inf (0 when -inf),
# out = (Logf((Expf(a1-m) + Expf(a2-m)) + Expf(a3'-m)) + m) + lpg,
# with two exponentials per lane: of d = a - m, the maximum's is exactly 1
# (d1 == 0: exp(d2), exp(d3); else d2 == 0: exp(d1), exp(d3); else exp(d1),
# exp(d2) and e3 = 1 if d3 == 0, else 0 (d3 = -inf)); the sum is 0 (all
# terms -inf: Logf gives -inf) or in [1, 3]. A NaN d takes the scalar path.
cf("f_neginf", 0xff800000)
cf("f_zero", 0)


def expfm(x, out):
    # expf with the clamp bounds from memory (Y10, Y11 stay free): a NaN x
    # becomes a bound, so the callers send NaN lanes to the scalar path.
    return expf(x, out).replace("VMINPS %s, Y10, %s" % (x, x), "VMINPS f_hi<>(SB), %s, %s" % (x, x)).replace(
        "VMAXPS %s, Y11, %s" % (x, x), "VMAXPS f_lo<>(SB), %s, %s" % (x, x))


def expfz(x, out):
    # expfm with the -inf lanes computed as 0 and given 0 (Expf(-inf) is
    # exactly 0): the clamped -104 would take slow subnormal arithmetic.
    # Clobbers Y0.
    return ("\tVCMPPS $0x00, f_neginf<>(SB), %s, Y0\n\tVANDNPS %s, Y0, %s\n" % (x, x, x)
            + expfm(x, out) + "\tVANDNPS %s, Y0, %s\n" % (out, out))


body.append("""
// func ctcRow32AVX2(a1, a2, a3 []float32, mask []uint32, lpg, out []float32) bool
// For i < len(out)&^7 (every slice at least that long): see ctcRowVec.
// Returns true when some lane needs the scalar path (NaN, +inf).
TEXT ·ctcRow32AVX2(SB), NOSPLIT, $0-145
	MOVQ a1_base+0(FP), SI
	MOVQ a2_base+24(FP), R8
	MOVQ a3_base+48(FP), R9
	MOVQ mask_base+72(FP), R10
	MOVQ lpg_base+96(FP), R11
	MOVQ out_base+120(FP), DI
	MOVQ out_len+128(FP), CX
	MOVL $0xFF, R12
	SHRQ $3, CX
	JZ cr_done
cr_loop:
	VMOVUPS (SI), Y9
	VMOVUPS (R8), Y10
	VMOVUPS (R9), Y12
	VMOVUPS (R10), Y13
	VMOVUPS f_neginf<>(SB), Y11
	VBLENDVPS Y13, Y12, Y11, Y11
	VMOVAPS Y9, Y8
	VMAXPS Y8, Y10, Y8
	VMAXPS Y8, Y11, Y8
	VCMPPS $0x00, f_neginf<>(SB), Y8, Y12
	VANDNPS Y8, Y12, Y8
	VSUBPS Y8, Y9, Y9
	VSUBPS Y8, Y10, Y10
	VSUBPS Y8, Y11, Y11
	VADDPS Y10, Y9, Y12
	VADDPS Y11, Y12, Y12
	VCMPPS $0x07, Y12, Y12, Y12
	VMOVMSKPS Y12, AX
	ANDL AX, R12
	VCMPPS $0x00, f_zero<>(SB), Y9, Y12
	VCMPPS $0x00, f_zero<>(SB), Y10, Y13
	VBLENDVPS Y12, Y10, Y9, Y14
	VORPS Y12, Y13, Y13
	VBLENDVPS Y13, Y11, Y10, Y10
	VCMPPS $0x00, f_zero<>(SB), Y11, Y11
	VANDPS f_one<>(SB), Y11, Y15
""" + expfz("Y14", "Y9") + expfz("Y10", "Y11") + """	VMOVUPS f_one<>(SB), Y4
	VBLENDVPS Y12, Y4, Y9, Y14
	VBLENDVPS Y13, Y4, Y11, Y10
	VBLENDVPS Y12, Y9, Y10, Y10
	VADDPS Y10, Y14, Y14
	VBLENDVPS Y13, Y11, Y15, Y10
	VADDPS Y10, Y14, Y13
	VCMPPS $0x00, f_zero<>(SB), Y13, Y12
	VBLENDVPS Y12, f_one<>(SB), Y13, Y13
""" + logf("Y13", "Y9") + """	VBLENDVPS Y12, f_neginf<>(SB), Y9, Y9
	VADDPS Y8, Y9, Y9
	VADDPS (R11), Y9, Y9
	VMOVUPS Y9, (DI)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, DI
	DECQ CX
	JNZ cr_loop
cr_done:
	CMPL R12, $0xFF
	SETNE ret+144(FP)
	VZEROUPPER
	RET
""")


# gaussian_nll_loss (GaussianNLLVec, float32): vc = max(v, eps) (NaN kept),
# out = 0.5*(Logf(vc) + (d*d)/vc) [+ float32(0.5*log(2*pi))], d = x - t;
# gx = (gs/vc)*(2*d); gv = (-gs)*(((d*d)/vc)/vc) + gs/vc. flags: 1 full,
# 2 gx, 4 gv. Returns true when some vc is outside [2^-126, +inf) or NaN.
cf("f_hl2p", struct.unpack("<I", struct.pack("<f", 0.9189385332046727))[0])
body.append("""
// func gaussFG32AVX2(x, t, v, out, gx, gv []float32, eps, gs float32, flags int) bool
TEXT ·gaussFG32AVX2(SB), NOSPLIT, $0-161
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	MOVQ t_base+24(FP), R8
	MOVQ v_base+48(FP), R9
	MOVQ out_base+72(FP), DI
	MOVQ gx_base+96(FP), R10
	MOVQ gv_base+120(FP), R11
	MOVQ flags+152(FP), R12
	VBROADCASTSS eps+144(FP), Y13
	VBROADCASTSS gs+148(FP), Y9
	VPCMPEQD Y15, Y15, Y15
	SHRQ $3, CX
	JZ ga_done
ga_loop:
	VMOVUPS (R9), Y8
	VMAXPS Y8, Y13, Y8
	VCMPPS $0x1D, f_tiny<>(SB), Y8, Y0
	VCMPPS $0x11, f_inf<>(SB), Y8, Y1
	VANDPS Y1, Y0, Y0
	VANDPS Y0, Y15, Y15
	VMOVUPS (SI), Y10
	VSUBPS (R8), Y10, Y10
	VMULPS Y10, Y10, Y11
	VDIVPS Y8, Y11, Y12
""" + logf("Y8", "Y14") + """	VADDPS Y12, Y14, Y14
	VMULPS f_halfb<>(SB), Y14, Y14
	TESTQ $1, R12
	JZ ga_nofull
	VADDPS f_hl2p<>(SB), Y14, Y14
ga_nofull:
	VMOVUPS Y14, (DI)
	VDIVPS Y8, Y9, Y0
	TESTQ $2, R12
	JZ ga_nogx
	VADDPS Y10, Y10, Y1
	VMULPS Y1, Y0, Y1
	VMOVUPS Y1, (R10)
	ADDQ $32, R10
ga_nogx:
	TESTQ $4, R12
	JZ ga_next
	VDIVPS Y8, Y12, Y2
	VXORPS f_sign<>(SB), Y9, Y3
	VMULPS Y2, Y3, Y2
	VADDPS Y0, Y2, Y2
	VMOVUPS Y2, (R11)
	ADDQ $32, R11
ga_next:
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, DI
	DECQ CX
	JNZ ga_loop
ga_done:
	VMOVMSKPS Y15, AX
	CMPL AX, $0xFF
	SETNE ret+160(FP)
	VZEROUPPER
	RET
""")

# CTC gradient accumulation step (ctcAccumulate, float32): m = max(a, l)
# (a < l ? l : a), d = a - m, or l - m where that is 0, 0 where a = -inf;
# out = a == -inf ? l : Logf(1 + Expf(d)) + m (1 + Expf(d) in [1, 2]).
# Returns true when some lane's d is NaN (the caller redoes the block).
body.append("""
// func ctcAcc32AVX2(g, l, out []float32) bool
TEXT ·ctcAcc32AVX2(SB), NOSPLIT, $0-73
	MOVQ g_base+0(FP), SI
	MOVQ g_len+8(FP), CX
	MOVQ l_base+24(FP), R8
	MOVQ out_base+48(FP), DI
	MOVL $0xFF, R12
	SHRQ $3, CX
	JZ ca_done
ca_loop:
	VMOVUPS (SI), Y8
	VMOVUPS (R8), Y9
	VMAXPS Y8, Y9, Y10
	VSUBPS Y10, Y8, Y11
	VCMPPS $0x00, f_zero<>(SB), Y11, Y12
	VSUBPS Y10, Y9, Y13
	VBLENDVPS Y12, Y13, Y11, Y11
	VCMPPS $0x00, f_neginf<>(SB), Y8, Y12
	VANDNPS Y11, Y12, Y11
	VCMPPS $0x07, Y11, Y11, Y13
	VMOVMSKPS Y13, AX
	ANDL AX, R12
""" + expfz("Y11", "Y13") + """	VADDPS f_one<>(SB), Y13, Y13
""" + logf("Y13", "Y11") + """	VADDPS Y10, Y11, Y11
	VBLENDVPS Y12, Y9, Y11, Y11
	VMOVUPS Y11, (DI)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, DI
	DECQ CX
	JNZ ca_loop
ca_done:
	CMPL R12, $0xFF
	SETNE ret+72(FP)
	VZEROUPPER
	RET
""")

# KL divergence (log_target=False) for float32 input x and target t, eight
# lanes: out = xlogy(t, t) - t*x with xlogy(t, t) = t*Logf(t) (0 at t = 0)
# and, when gx is not empty, gx = negu*t, as KLDivVec. Lanes with t
# negative, subnormal, +inf or NaN are special (the caller recomputes).
body.append("""
// func klDiv32AVX2(x, t, out, gx []float32, negu float32) bool
TEXT ·klDiv32AVX2(SB), NOSPLIT, $0-105
	MOVQ x_base+0(FP), R8
	MOVQ t_base+24(FP), SI
	MOVQ t_len+32(FP), CX
	MOVQ out_base+48(FP), DI
	MOVQ gx_base+72(FP), R9
	MOVQ gx_len+80(FP), R10
	VBROADCASTSS negu+96(FP), Y14
	VPCMPEQD Y15, Y15, Y15
	VXORPS Y13, Y13, Y13
	SHRQ $3, CX
	JZ kl_done
kl_loop:
	VMOVUPS (SI), Y8
	VCMPPS $0x1D, f_tiny<>(SB), Y8, Y9
	VCMPPS $0x11, f_inf<>(SB), Y8, Y10
	VANDPS Y10, Y9, Y9
	VCMPPS $0x00, Y13, Y8, Y12
	VORPS Y12, Y9, Y9
	VANDPS Y9, Y15, Y15
""" + logf("Y8", "Y11") + """	VMULPS Y11, Y8, Y11
	VANDNPS Y11, Y12, Y11
	VMULPS (R8), Y8, Y5
	VSUBPS Y5, Y11, Y6
	VMOVUPS Y6, (DI)
	TESTQ R10, R10
	JZ kl_nograd
	VMULPS Y14, Y8, Y7
	VMOVUPS Y7, (R9)
	ADDQ $32, R9
kl_nograd:
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, R8
	DECQ CX
	JNZ kl_loop
kl_done:
	VMOVMSKPS Y15, AX
	CMPL AX, $0xFF
	SETNE ret+104(FP)
	VZEROUPPER
	RET
""")

# poisson_nll_loss with log_input (PoissonNLLLogInputVec, float32), eight
# lanes: e = Expf(x), out = e - t*x; when full, a = max(t, 1) (a NaN t
# kept, as Go's max), b = 2pi*a, st = (t*Logf(a) - t) + 0.5*Logf(b) and
# out = st + out with st masked to +0 where t <= 1; when gx is not empty,
# gx = u*e + (-u)*t. The operand order of each operation is the compiled Go
# loop's (the first source's NaN is the one kept). Returns true when some
# lane's b is not below +inf (t NaN, +inf, or 2pi*t overflowing; Logf of
# them is not logf's core): the caller recomputes the block.
# The Stirling term is a function of t alone: when each lane's t is <= 1
# (masked to +0) or one of the integers 2..31, the vector takes it from
# tab (tab[k] is the unmasked term for t = k, computed by the caller with
# the same operations) by four VPERMPS and three blends, without the two
# logfs; other vectors compute it.
cf("f_2pi", struct.unpack("<I", struct.pack("<f", 2 * 3.141592653589793))[0])
cf("f_32", struct.unpack("<I", struct.pack("<f", 32.0))[0])
body.append("""
// func poisson32AVX2(x, t, out, gx []float32, u float32, full bool, tab *[32]float32) bool
TEXT ·poisson32AVX2(SB), NOSPLIT, $0-113
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	MOVQ t_base+24(FP), R8
	MOVQ out_base+48(FP), DI
	MOVQ gx_base+72(FP), R9
	MOVQ gx_len+80(FP), R10
	VBROADCASTSS u+96(FP), Y14
	VXORPS f_sign<>(SB), Y14, Y13
	MOVBLZX full+100(FP), R11
	MOVQ tab+104(FP), R12
	VPCMPEQD Y15, Y15, Y15
	SHRQ $3, CX
	JZ po_done
po_loop:
	VMOVUPS (R8), Y9
	TESTQ R11, R11
	JZ po_exp
	VCVTTPS2DQ Y9, Y0
	VCVTDQ2PS Y0, Y1
	VCMPPS $0x00, Y1, Y9, Y1
	VCMPPS $0x01, f_32<>(SB), Y9, Y2
	VANDPS Y2, Y1, Y1
	VCMPPS $0x02, f_one<>(SB), Y9, Y3
	VORPS Y3, Y1, Y1
	VMOVMSKPS Y1, AX
	CMPL AX, $0xFF
	JNE po_log
	VPERMPS (R12), Y0, Y4
	VPERMPS 32(R12), Y0, Y5
	VPERMPS 64(R12), Y0, Y6
	VPERMPS 96(R12), Y0, Y7
	VPSLLD $28, Y0, Y1
	VBLENDVPS Y1, Y5, Y4, Y4
	VBLENDVPS Y1, Y7, Y6, Y6
	VPSLLD $27, Y0, Y1
	VBLENDVPS Y1, Y6, Y4, Y12
	VANDNPS Y12, Y3, Y12
	JMP po_exp
po_log:
	VMOVUPS f_one<>(SB), Y0
	VMAXPS Y9, Y0, Y0
	VMULPS f_2pi<>(SB), Y0, Y1
	VCMPPS $0x11, f_inf<>(SB), Y1, Y2
	VANDPS Y2, Y15, Y15
""" + logf2(("Y0", "Y2", "Y2", "Y3", "Y4", "Y5", "Y6"), ("Y1", "Y7", "Y7", "Y8", "Y10", "Y11", "Y12")) + """	VMULPS Y9, Y2, Y2
	VSUBPS Y9, Y2, Y2
	VMULPS f_halfb<>(SB), Y7, Y7
	VADDPS Y7, Y2, Y12
	VCMPPS $0x06, f_one<>(SB), Y9, Y3
	VANDPS Y3, Y12, Y12
po_exp:
	VMOVUPS f_hi<>(SB), Y10
	VMOVUPS f_lo<>(SB), Y11
	VMOVUPS (SI), Y0
""" + expf("Y0", "Y1") + """	VMULPS (SI), Y9, Y8
	VSUBPS Y8, Y1, Y8
	TESTQ R11, R11
	JZ po_store
	VADDPS Y8, Y12, Y8
po_store:
	VMOVUPS Y8, (DI)
	TESTQ R10, R10
	JZ po_next
	VMULPS Y14, Y1, Y2
	VMULPS Y9, Y13, Y3
	VADDPS Y3, Y2, Y2
	VMOVUPS Y2, (R9)
	ADDQ $32, R9
po_next:
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, DI
	DECQ CX
	JNZ po_loop
po_done:
	VMOVMSKPS Y15, AX
	CMPL AX, $0xFF
	SETNE ret+112(FP)
	VZEROUPPER
	RET
""")

# Fused loss-and-sum row kernels (sumfused.go), float32: each row is four
# 8-lane vectors; vector k's losses are added to accumulator k of acc as
# addRows32AVX2 adds (no FMA) and the input gradient is written, with plain or
# streaming stores (the NT kernels leave the fence to the caller: a fence a
# call, every few rows, cost more than the kernel). Argument layout (acc
# *[4][8]float32, x, y, gx []float32, c float32, rows int); kl returns a
# bool. Per vector, from x and y (the target for kl) at offset o:
#   mse: d = x - y, loss d*d, gx = d*c (MSEForward, MSEBackwardOne);
#   l1:  d = x - y, loss |d|, gx = c*sgn(d) with sgn = (0 < d) - (d < 0)
#        (+0 at ±0 and NaN; L1Forward, L1BackwardConst);
#   kl:  klDiv32AVX2's loss xlogy(t, t) - t*x, gx = c*t with c = -u; lanes
#        with a negative, subnormal, +inf or NaN target are flagged.
cf("f_abs", 0x7fffffff)


def rows_vec(kind, o, st):
    if kind == "mse":
        return """	VMOVUPS %(o)d(SI), Y0
	VSUBPS %(o)d(R8), Y0, Y0
	VMULPS Y0, Y0, Y1
	VADDPS Y1, Y%(a)d, Y%(a)d
	VMULPS Y15, Y0, Y0
	%(st)s Y0, %(o)d(R9)
""" % dict(o=o, st=st, a=8 + o // 32)
    if kind == "l1":
        return """	VMOVUPS %(o)d(SI), Y0
	VSUBPS %(o)d(R8), Y0, Y0
	VANDPS Y12, Y0, Y1
	VADDPS Y1, Y%(a)d, Y%(a)d
	VCMPPS $0x01, Y0, Y14, Y2
	VCMPPS $0x01, Y14, Y0, Y3
	VANDPS Y13, Y2, Y2
	VANDPS Y13, Y3, Y3
	VSUBPS Y3, Y2, Y2
	VMULPS Y2, Y15, Y2
	%(st)s Y2, %(o)d(R9)
""" % dict(o=o, st=st, a=8 + o // 32)
    # kl: the target in Y12, its zero mask in Y13, logf's registers Y0-Y4
    # (its result in Y1), the accumulators in registers as mse's and l1's
    # (an accumulator in memory, read back after each row's streaming
    # stores, ran several times slower on some data layouts).
    return """	VMOVUPS %(o)d(R8), Y12
	VCMPPS $0x1D, f_tiny<>(SB), Y12, Y5
	VCMPPS $0x11, f_inf<>(SB), Y12, Y6
	VANDPS Y6, Y5, Y5
	VXORPS Y6, Y6, Y6
	VCMPPS $0x00, Y6, Y12, Y13
	VORPS Y13, Y5, Y5
	VANDPS Y5, Y14, Y14
""" % dict(o=o) + "".join(logf_ops("Y12", "Y1", "Y0", "Y1", "Y2", "Y3", "Y4")) + """	VMULPS Y1, Y12, Y1
	VANDNPS Y1, Y13, Y1
	VMULPS %(o)d(SI), Y12, Y5
	VSUBPS Y5, Y1, Y1
	VADDPS Y1, Y%(a)d, Y%(a)d
	VMULPS Y15, Y12, Y5
	%(st)s Y5, %(o)d(R9)
""" % dict(o=o, st=st, a=8 + o // 32)


def rows_kernel(name, kind, nt):
    st = "VMOVNTPS" if nt else "VMOVUPS"
    ret = " bool" if kind == "kl" else ""
    frame = 97 if kind == "kl" else 96
    s = """
// func %(name)s(acc *[4][8]float32, x, y, gx []float32, c float32, rows int)%(ret)s
TEXT ·%(name)s(SB), NOSPLIT, $0-%(frame)d
	MOVQ acc+0(FP), DI
	MOVQ x_base+8(FP), SI
	MOVQ y_base+32(FP), R8
	MOVQ gx_base+56(FP), R9
	MOVQ rows+88(FP), CX
	VBROADCASTSS c+80(FP), Y15
""" % dict(name=name, ret=ret, frame=frame)
    # The accumulators in Y8-Y11 (l1: |.| mask Y12, 1.0 Y13, zero Y14; kl
    # gathers the lanes' flags in Y14).
    if kind == "kl":
        s += "\tVPCMPEQD Y14, Y14, Y14\n"
    s += "".join("\tVMOVUPS %d(DI), Y%d\n" % (32 * k, 8 + k) for k in range(4))
    if kind == "l1":
        s += "\tVMOVUPS f_abs<>(SB), Y12\n\tVMOVUPS f_one<>(SB), Y13\n\tVXORPS Y14, Y14, Y14\n"
    s += """	TESTQ CX, CX
	JZ done
loop:
"""
    for k in range(4):
        s += rows_vec(kind, 32 * k, st)
    s += """	ADDQ $128, SI
	ADDQ $128, R8
	ADDQ $128, R9
	DECQ CX
	JNZ loop
done:
"""
    s += "".join("\tVMOVUPS Y%d, %d(DI)\n" % (8 + k, 32 * k) for k in range(4))
    if kind == "kl":
        s += """	VMOVMSKPS Y14, AX
	CMPL AX, $0xFF
	SETNE ret+96(FP)
"""
    return s + "\tVZEROUPPER\n\tRET\n"


for kind in ("mse", "l1", "kl"):
    for nt in (False, True):
        body.append(rows_kernel(kind + "Rows32" + ("NT" if nt else "") + "AVX2", kind, nt))

# cosine_embedding_loss rows (CosineRowSums, CosineRowGrad), float32: one
# row's three sums Σ a·b, Σ a², Σ b² in one pass, each product rounded and
# added to its accumulators as addRows32AVX2 adds (acc[k] += x[row*32 + 8k..]),
# and a row's gradient g = (gm*a + gm*a) + gp*b (each product rounded; the
# NT form stores with streaming stores, 32-byte aligned g, no fence).
def dot3_kernel():
    s = """
// func dot3Rows32AVX2(p, s1, s2 *[4][8]float32, a, b []float32, rows int)
TEXT ·dot3Rows32AVX2(SB), NOSPLIT, $0-80
	MOVQ p+0(FP), AX
	MOVQ s1+8(FP), BX
	MOVQ s2+16(FP), DX
	MOVQ a_base+24(FP), SI
	MOVQ b_base+48(FP), DI
	MOVQ rows+72(FP), CX
"""
    for r, k in [("AX", 0), ("BX", 4), ("DX", 8)]:
        s += "".join("\tVMOVUPS %d(%s), Y%d\n" % (32 * j, r, k + j) for j in range(4))
    s += "\tTESTQ CX, CX\n\tJZ done\nloop:\n"
    for j in range(4):
        s += """	VMOVUPS %(o)d(SI), Y12
	VMOVUPS %(o)d(DI), Y13
	VMULPS Y13, Y12, Y14
	VADDPS Y14, Y%(p)d, Y%(p)d
	VMULPS Y12, Y12, Y14
	VADDPS Y14, Y%(a)d, Y%(a)d
	VMULPS Y13, Y13, Y15
	VADDPS Y15, Y%(b)d, Y%(b)d
""" % dict(o=32 * j, p=j, a=4 + j, b=8 + j)
    s += "\tADDQ $128, SI\n\tADDQ $128, DI\n\tDECQ CX\n\tJNZ loop\ndone:\n"
    for r, k in [("AX", 0), ("BX", 4), ("DX", 8)]:
        s += "".join("\tVMOVUPS Y%d, %d(%s)\n" % (k + j, 32 * j, r) for j in range(4))
    return s + "\tVZEROUPPER\n\tRET\n"


def dot3_sum_kernel():
    # dot3Rows32AVX2 from zero for rows < the cascade's step (no carry), then
    # finishLevel0 for the three sums: the vectors after the rows into
    # accumulator 0, the accumulators ((0+1)+2)+3, the leftover products
    # from 0 in order, the lanes in order, 0 + f.
    def vec(o, acc):
        return """	VMOVUPS %(o)d(SI), Y12
	VMOVUPS %(o)d(DI), Y13
	VMULPS Y13, Y12, Y14
	VADDPS Y14, Y%(p)d, Y%(p)d
	VMULPS Y12, Y12, Y14
	VADDPS Y14, Y%(a)d, Y%(a)d
	VMULPS Y13, Y13, Y15
	VADDPS Y15, Y%(b)d, Y%(b)d
""" % dict(o=o, p=acc, a=4 + acc, b=8 + acc)
    s = """
// func dot3Sum32AVX2(a, b []float32, rows int, out *[3]float32)
// out = CosineRowSums(a, b) for rows = len(a)/32 below the cascade's step.
TEXT ·dot3Sum32AVX2(SB), NOSPLIT, $96-64
	MOVQ a_base+0(FP), SI
	MOVQ a_len+8(FP), R9
	MOVQ b_base+24(FP), DI
	MOVQ rows+48(FP), CX
	MOVQ CX, R10
"""
    s += "".join("\tVXORPS Y%d, Y%d, Y%d\n" % (k, k, k) for k in range(12))
    s += "\tTESTQ CX, CX\n\tJZ vecs\nloop:\n"
    for j in range(4):
        s += vec(32 * j, j)
    s += """	ADDQ $128, SI
	ADDQ $128, DI
	DECQ CX
	JNZ loop
vecs:
	MOVQ R9, R11
	SHRQ $3, R11
	SHLQ $2, R10
	SUBQ R10, R11
	JZ merge
vloop:
""" + vec(0, 0) + """	ADDQ $32, SI
	ADDQ $32, DI
	DECQ R11
	JNZ vloop
merge:
"""
    for k in (0, 4, 8):
        s += "".join("\tVADDPS Y%d, Y%d, Y%d\n" % (k + j, k, k) for j in (1, 2, 3))
    s += """	VMOVUPS Y0, 0(SP)
	VMOVUPS Y4, 32(SP)
	VMOVUPS Y8, 64(SP)
	VXORPS X1, X1, X1
	VXORPS X5, X5, X5
	VXORPS X9, X9, X9
	MOVQ R9, R12
	ANDQ $7, R12
	JZ lanes
sloop:
	VMOVSS (SI), X12
	VMOVSS (DI), X13
	VMULSS X13, X12, X14
	VADDSS X14, X1, X1
	VMULSS X12, X12, X14
	VADDSS X14, X5, X5
	VMULSS X13, X13, X15
	VADDSS X15, X9, X9
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ R12
	JNZ sloop
lanes:
"""
    for l in range(8):
        s += "".join("\tVADDSS %d(SP), X%d, X%d\n" % (32 * q + 4 * l, 1 + 4 * q, 1 + 4 * q) for q in range(3))
    s += """	VXORPS X0, X0, X0
	MOVQ out+56(FP), AX
	VADDSS X1, X0, X2
	VMOVSS X2, (AX)
	VADDSS X5, X0, X6
	VMOVSS X6, 4(AX)
	VADDSS X9, X0, X10
	VMOVSS X10, 8(AX)
	VZEROUPPER
	RET
"""
    return s


def cosgrad_kernel(name, st):
    return """
// func %(name)s(a, b, g []float32, gm, gp float32)
// g[i] = (gm*a[i] + gm*a[i]) + gp*b[i] for i < len(g)&^7.
TEXT ·%(name)s(SB), NOSPLIT, $0-80
	MOVQ a_base+0(FP), SI
	MOVQ b_base+24(FP), R8
	MOVQ g_base+48(FP), DI
	MOVQ g_len+56(FP), CX
	VBROADCASTSS gm+72(FP), Y14
	VBROADCASTSS gp+76(FP), Y15
	SHRQ $3, CX
	JZ done
loop:
	VMULPS (SI), Y14, Y0
	VADDPS Y0, Y0, Y0
	VMULPS (R8), Y15, Y1
	VADDPS Y1, Y0, Y0
	%(st)s Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, DI
	DECQ CX
	JNZ loop
done:
	VZEROUPPER
	RET
""" % dict(name=name, st=st)


body.append(dot3_kernel())
body.append(dot3_sum_kernel())
body.append(cosgrad_kernel("cosGrad32AVX2", "VMOVUPS"))
body.append(cosgrad_kernel("cosGrad32NTAVX2", "VMOVNTPS"))

# klRows32AVX2 with AVX-512 (AVX512F and DQ): a row's two 16-lane vectors hold
# accumulators 0-1 and 2-3 (Z10, Z11), so each lane adds the same losses in
# the same order; logf's and the checks' compares write opmasks, turned
# into lane masks (VPMOVM2D) where the AVX2 kernel uses the lane mask as a
# value. The flags gather in K4. The NT form needs a 64-byte aligned gx.
LOGF_Z = ["f_c126", "f_mant", "f_halfb", "f_sqrthf", "f_one"] + ["f_l%d" % k for k in range(9)] + ["f_q1", "f_q2"]


def zlogf(x, out, e, z, z2, q, t, cm):
    ops = []
    for o in logf_ops(x, out, e, z, z2, q, t):
        m = re.match(r"\tVCMPPS (\$0x[0-9a-f]+), (\S+), (Y\d+), (Y\d+)\n", o)
        if m:
            ops.append("\tVCMPPS %s, %s, %s, K7\n\tVPMOVM2D K7, %s\n" % (m.group(1), m.group(2), m.group(3), m.group(4)))
        else:
            ops.append(o)
    return zify("".join(ops), cm)


def klrows512(name, nt):
    cm = zconsts(LOGF_Z)
    st = "VMOVNTPS" if nt else "VMOVUPS"
    s = """
// func %(name)s(acc *[4][8]float32, x, y, gx []float32, c float32, rows int) bool
TEXT ·%(name)s(SB), NOSPLIT, $0-97
	MOVQ acc+0(FP), DI
	MOVQ x_base+8(FP), SI
	MOVQ y_base+32(FP), R8
	MOVQ gx_base+56(FP), R9
	MOVQ rows+88(FP), CX
	VBROADCASTSS c+80(FP), Z15
	VBROADCASTSS f_tiny<>(SB), Z13
	VBROADCASTSS f_inf<>(SB), Z14
	VXORPS Z12, Z12, Z12
	VMOVUPS (DI), Z10
	VMOVUPS 64(DI), Z11
	KXNORW K4, K4, K4
""" % dict(name=name) + zload(cm) + """	TESTQ CX, CX
	JZ done
loop:
"""
    for h in range(2):
        s += """	VMOVUPS %(o)d(R8), Z8
	VCMPPS $0x1D, Z13, Z8, K1
	VCMPPS $0x11, Z14, Z8, K2
	KANDW K2, K1, K1
	VCMPPS $0x00, Z12, Z8, K3
	KORW K3, K1, K1
	KANDW K1, K4, K4
""" % dict(o=64 * h) + zlogf("Y8", "Y9", "Y1", "Y2", "Y3", "Y4", "Y5", cm) + """	VMULPS Z9, Z8, Z9
	VPMOVM2D K3, Z6
	VANDNPS Z9, Z6, Z9
	VMULPS %(o)d(SI), Z8, Z7
	VSUBPS Z7, Z9, Z9
	VADDPS Z9, Z%(a)d, Z%(a)d
	VMULPS Z15, Z8, Z7
	%(st)s Z7, %(o)d(R9)
""" % dict(o=64 * h, a=10 + h, st=st)
    s += """	ADDQ $128, SI
	ADDQ $128, R8
	ADDQ $128, R9
	DECQ CX
	JNZ loop
done:
	VMOVUPS Z10, (DI)
	VMOVUPS Z11, 64(DI)
	KMOVW K4, AX
	CMPL AX, $0xFFFF
	SETNE ret+96(FP)
	VZEROUPPER
	RET
"""
    return s


body.append(klrows512("klRows32AVX512", False))
body.append(klrows512("klRows32NTAVX512", True))
body.append("""
// func sfence()
TEXT ·sfence(SB), NOSPLIT, $0-0
	SFENCE
	RET
""")

out = ["// Code generated by gen_vecmath.py; DO NOT EDIT.", "", "//go:build amd64 && !purego", "", '#include "textflag.h"', ""]
for name, bits in consts.items():
    for i in range(4):
        out.append("DATA %s<>+%d(SB)/8, $0x%016x" % (name, 8 * i, bits))
    out.append("GLOBL %s<>(SB), RODATA|NOPTR, $32" % name)
text = "\n".join(out) + "".join(body)
if len(sys.argv) == 3 and sys.argv[1] == "-o":
    with open(sys.argv[2], "w") as f:
        f.write(text)
else:
    sys.stdout.write(text)
