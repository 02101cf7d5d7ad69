#!/usr/bin/python3
"""Generates vecmath_amd64.s: the AVX2 (four float64 lanes, no FMA)
versions of Exp32, Log32 and Log1p32, the same operations in the same order
as the Go functions in fastmath.go, so that the results are bitwise
identical. Run from internal/kernels: python3 gen_vecmath.py > vecmath_amd64.s
"""
import struct

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
# KL divergence (log_target=False) for float32 input x and target t:
# out = xlogy(t, t) - t·x with xlogy(t, t) = t·Log32(t) (0 at t = 0), and,
# when gx is not empty, gx = negu·t; float32 operations after the float64
# logarithm, as in KLDivVec. Lanes with t < 0, t = +inf or NaN are special.
body.append("""
// func klDivAVX2(x, t, out, gx []float32, negu float32) bool
TEXT ·klDivAVX2(SB), NOSPLIT, $0-105
	MOVQ x_base+0(FP), R8
	MOVQ t_base+24(FP), SI
	MOVQ t_len+32(FP), CX
	MOVQ out_base+48(FP), DI
	MOVQ gx_base+72(FP), R9
	MOVQ gx_len+80(FP), R10
	VBROADCASTSS negu+96(FP), X14
	SHRQ $2, CX
	VPCMPEQQ Y15, Y15, Y15
	VXORPS X13, X13, X13
	TESTQ CX, CX
	JZ kl_done
kl_loop:
	VCVTPS2PD (SI), Y0
	VXORPD Y8, Y8, Y8
	VCMPPD $0x1E, Y8, Y0, Y9
	VCMPPD $0x12, maxf32<>(SB), Y0, Y10
	VANDPD Y10, Y9, Y9
	VCMPPD $0x00, Y8, Y0, Y11
	VORPD Y11, Y9, Y9
	VANDPD Y9, Y15, Y15
""" + logcore() + """	VCVTPD2PSY Y1, X1
	VMOVUPS (SI), X2
	VMULPS X1, X2, X3
	VCMPPS $0x00, X13, X2, X4
	VANDNPS X3, X4, X3
	VMULPS (R8), X2, X5
	VSUBPS X5, X3, X6
	VMOVUPS X6, (DI)
	TESTQ R10, R10
	JZ kl_nograd
	VMULPS X14, X2, X7
	VMOVUPS X7, (R9)
	ADDQ $16, R9
kl_nograd:
	ADDQ $16, SI
	ADDQ $16, DI
	ADDQ $16, R8
	DECQ CX
	JNZ kl_loop
kl_done:
	VMOVMSKPD Y15, AX
	CMPL AX, $0xF
	SETNE ret+104(FP)
	VZEROUPPER
	RET
""")
body.append("""
// func cpuid(eax, ecx uint32) (a, b, c, d uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eax+0(FP), AX
	MOVL ecx+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET
""")
out = ["// Code generated by gen_vecmath.py; DO NOT EDIT.", "", "//go:build amd64 && !purego", "", '#include "textflag.h"', ""]
for name, bits in consts.items():
    for i in range(4):
        out.append("DATA %s<>+%d(SB)/8, $0x%016x" % (name, 8 * i, bits))
    out.append("GLOBL %s<>(SB), RODATA|NOPTR, $32" % name)
print("\n".join(out) + "".join(body), end="")
