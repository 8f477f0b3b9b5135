package main

import (
	"github.com/mmcloughlin/avo/attr"
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// maxU8 emits maxU8_avx2: out[i] = max(out[i], in[i]) for n32 blocks of 32
// bytes.
func maxU8() {
	TEXT("maxU8_avx2", attr.NOSPLIT, "func(out, in *byte, n32 int)")
	Doc("maxU8_avx2 sets out[i] = max(out[i], in[i]) for i < 32·n32.")
	Pragma("noescape")
	Load(Param("out"), RDI)
	Load(Param("in"), RSI)
	Load(Param("n32"), RCX)
	Label("maxu8_loop")
	VMOVDQU(Mem{Base: RSI}, Y0)
	VPMAXUB(Mem{Base: RDI}, Y0, Y0)
	VMOVDQU(Y0, Mem{Base: RDI})
	ADDQ(U8(32), RSI)
	ADDQ(U8(32), RDI)
	DECQ(RCX)
	JNE(LabelRef("maxu8_loop"))
	VZEROUPPER()
	RET()
}

// maxTapsU8 emits maxTapsU8_avx2: one max-pooling output pixel, the
// maximum over taps input rows, 32 bytes at a time.
func maxTapsU8() {
	TEXT("maxTapsU8_avx2", attr.NOSPLIT, "func(out, in *byte, off *int64, taps, n32 int)")
	Doc("maxTapsU8_avx2 sets out[i] = max over t < taps of in[off[t] + i], for",
		"i < 32·n32 (taps ≥ 1).")
	Pragma("noescape")
	Load(Param("out"), RDI)
	Load(Param("in"), RSI)
	Load(Param("off"), RDX)
	Load(Param("taps"), R8)
	Load(Param("n32"), RCX)
	Label("maxtaps_block")
	MOVQ(Mem{Base: RDX}, RAX)
	VMOVDQU(Mem{Base: RSI, Index: RAX, Scale: 1}, Y0)
	MOVQ(U32(1), R9)
	CMPQ(R8, U8(1))
	JE(LabelRef("maxtaps_store"))
	Label("maxtaps_tap")
	MOVQ(Mem{Base: RDX, Index: R9, Scale: 8}, RAX)
	VPMAXUB(Mem{Base: RSI, Index: RAX, Scale: 1}, Y0, Y0)
	INCQ(R9)
	CMPQ(R9, R8)
	JNE(LabelRef("maxtaps_tap"))
	Label("maxtaps_store")
	VMOVDQU(Y0, Mem{Base: RDI})
	ADDQ(U8(32), RSI)
	ADDQ(U8(32), RDI)
	DECQ(RCX)
	JNE(LabelRef("maxtaps_block"))
	VZEROUPPER()
	RET()
}

// addOutputSteps is the output stage of addU8_avx2 as a list of steps (one
// instruction each), so that independent streams can be interleaved: the
// AVX2 epilogue (requant) without the accumulator clamp and left shift
// (addSIMD takes only epilogues without them), its right shift, the same
// for every lane, by a count (shr: the low quadword of a vector; on Zen 3
// VPSRAD by a count is much cheaper than VPSRAVD), and the output clamp
// only when clamped.
func addOutputSteps(s, e, o VecPhysical, tab func(int) Mem, shr VecPhysical, oc func(int) Mem, clamped bool) []func() {
	steps := []func(){
		func() { VPSHUFD(U8(0xF5), s, o) },
		func() { VPMULDQ(tab(tMultE), s, e) },
		func() { VPMULDQ(tab(tMultO), o, o) },
		func() { VPADDQ(tab(tRndE), e, e) },
		func() { VPADDQ(tab(tRndO), o, o) },
		func() { VPSRLQ(U8(32), e, e) },
		func() { VPBLENDD(U8(0xAA), o, e, s) },
		func() { VPSRAD(shr.AsX(), s, s) },
	}
	if clamped {
		steps = append(steps,
			func() { VPMAXSD(oc(1), s, s) },
			func() { VPMINSD(oc(2), s, s) })
	}
	return append(steps, func() { VPADDD(oc(0), s, s) })
}

// Split rescale table of one Add input (addSIMD), in vectors of 8 dwords:
// the high and low parts of the multiplier, the low part's rounding term,
// the high part's rounding term and the final shift (a count for VPSRAD:
// the low quadword; the first shift is always 16).
const (
	sMh = iota
	sMl
	sRndLo
	sRndHi
	sShHi
	sVectors
)

// splitRescaleSteps computes, in place on d (the input bytes as int32
// lanes), the input rescale of addSIMD with two 32-bit products:
// ((d·Mh + rndHi) + ((d·Ml + rndLo) >> 16)) >> shHi, shHi in register sh;
// t is a temporary.
func splitRescaleSteps(d, t VecPhysical, tab func(int) Mem, sh VecPhysical) []func() {
	return []func(){
		func() { VPMULLD(tab(sMl), d, t) },
		func() { VPMULLD(tab(sMh), d, d) },
		func() { VPADDD(tab(sRndLo), t, t) },
		func() { VPADDD(tab(sRndHi), d, d) },
		func() { VPSRAD(U8(16), t, t) },
		func() { VPADDD(t, d, d) },
		func() { VPSRAD(sh.AsX(), d, d) },
	}
}

// addU8 emits addU8_avx2: the residual addition of AddTables for n32
// groups of 32 elements, in arithmetic: each input goes through its split
// rescale (splitRescaleSteps; its zero point is folded into the rounding
// terms), the two are added and the sum goes through the output epilogue.
// Four streams of 8 elements, 3 registers each, are interleaved (each is a
// long dependency chain), and their results are narrowed together: two
// VPACKSSDW, one VPACKUSWB and a VPERMD put the 32 bytes in order for one
// store. epi (addSIMD): the split rescale tables of a and b, the output's
// epilogue table, then its right shift as a count vector.
func addU8() {
	TEXT("addU8_avx2", attr.NOSPLIT, "func(a, b, y *byte, n32 int, epi *byte, oc *int32)")
	Doc("addU8_avx2 computes, for i < 32·n32, y[i] = out(ea(a[i]) + eb(b[i])) with the rescales",
		"of epi (zero points folded in) and the output stage oc.")
	Pragma("noescape")
	Load(Param("a"), RAX)
	Load(Param("b"), RBX)
	Load(Param("y"), RDI)
	Load(Param("n32"), RCX)
	Load(Param("epi"), RSI)
	Load(Param("oc"), RDX)
	VMOVDQU(addOrder, addOrderReg)
	const splitBytes = sVectors * 32
	split := func(i int) func(int) Mem {
		return func(k int) Mem { return Mem{Base: RSI, Disp: i*splitBytes + k*32} }
	}
	out := func(k int) Mem { return Mem{Base: RSI, Disp: 2*splitBytes + k*32} }
	// The three shift counts stay in registers (addShifts).
	VMOVDQU(Mem{Base: RSI, Disp: sShHi * 32}, addShifts[0].AsX())
	VMOVDQU(Mem{Base: RSI, Disp: splitBytes + sShHi*32}, addShifts[1].AsX())
	VMOVDQU(Mem{Base: RSI, Disp: 2*splitBytes + tVectors*32}, addShifts[2].AsX())
	ocm := func(k int) Mem { return Mem{Base: RDX, Disp: 32 * k} }
	// Two copies of the loop: without the output clamp when the output
	// range is [0, 255] (the packs saturate to it), and with it.
	CMPL(Mem{Base: RDX, Disp: ocClampOff}, U8(0))
	JNE(LabelRef("addu8_clamped"))
	addU8Loop("addu8_loop", split, out, ocm, false)
	Label("addu8_clamped")
	addU8Loop("addu8_loop_clamped", split, out, ocm, true)
}

// addOrder is the VPERMD index that puts the dwords of the packed four
// streams in element order; addOrderReg holds it in addU8_avx2.
var (
	addOrder    Mem
	addOrderReg = Y12
	// addShifts hold the final shift counts of a's and b's rescales and
	// the output's right shift.
	addShifts = [3]VecPhysical{Y13, Y14, Y15}
)

func init() {
	// After VPACKSSDW(s1, s0), VPACKSSDW(s3, s2) and VPACKUSWB of the two,
	// dword j of 128-bit lane L holds elements 4L … 4L+3 of stream j.
	addOrder = GLOBL("addU8Order", attr.RODATA|attr.NOPTR)
	for i, v := range []uint32{0, 4, 1, 5, 2, 6, 3, 7} {
		DATA(4*i, U32(v))
	}
}

// addU8Loop is the loop of addU8_avx2 (clamped: with the output clamp);
// it returns.
func addU8Loop(label string, split func(int) func(int) Mem, out, ocm func(int) Mem, clamped bool) {
	const streams = 4
	Label(label)
	var steps [streams][]func()
	res := make([]VecPhysical, streams)
	for st := 0; st < streams; st++ {
		va, vb, t := yreg(3*st), yreg(3*st+1), yreg(3*st+2)
		res[st] = va
		off := 8 * st
		s := []func(){
			func() { VPMOVZXBD(Mem{Base: RAX, Disp: off}, va) },
			func() { VPMOVZXBD(Mem{Base: RBX, Disp: off}, vb) },
		}
		s = append(s, splitRescaleSteps(va, t, split(0), addShifts[0])...)
		s = append(s, splitRescaleSteps(vb, t, split(1), addShifts[1])...)
		s = append(s, func() { VPADDD(vb, va, va) })
		s = append(s, addOutputSteps(va, vb, t, out, addShifts[2], ocm, clamped)...)
		steps[st] = s
	}
	for i := range steps[0] {
		for st := range steps {
			steps[st][i]()
		}
	}
	VPACKSSDW(res[1], res[0], res[0])
	VPACKSSDW(res[3], res[2], res[2])
	VPACKUSWB(res[2], res[0], res[0])
	VPERMD(res[0], addOrderReg, res[0])
	VMOVDQU(res[0], Mem{Base: RDI})
	ADDQ(U8(32), RAX)
	ADDQ(U8(32), RBX)
	ADDQ(U8(32), RDI)
	DECQ(RCX)
	JNE(LabelRef(label))
	VZEROUPPER()
	RET()
}

// quantizeF32 emits quantizeF32_avx2: ONNX QuantizeLinear to uint8 of n8
// groups of 8 float32, y[i·ys] = clamp(round_half_even(x[i] / scale)) + zp,
// with the operations of quant.Quantize: the float32 division (VDIVPS),
// NaN and values below lo to lo (VMAXPS returns its second source for a
// NaN), above hi to hi, conversion under the default rounding (to even).
// k: scale, lo, hi (float32) and zp (int32), each broadcast to 8 lanes.
func quantizeF32() {
	TEXT("quantizeF32_avx2", attr.NOSPLIT, "func(y *byte, ys int, x *float32, n8 int, k *float32)")
	Doc("quantizeF32_avx2 computes y[i·ys] = quant.Quantize(x[i], scale, zp, Uint8) for i < 8·n8",
		"(k: scale, lo, hi as float32 vectors, then zp as an int32 vector).")
	Pragma("noescape")
	Load(Param("y"), RDI)
	Load(Param("ys"), RDX)
	Load(Param("x"), RSI)
	Load(Param("n8"), RCX)
	Load(Param("k"), RBX)
	VMOVUPS(Mem{Base: RBX}, Y4)
	VMOVUPS(Mem{Base: RBX, Disp: 32}, Y5)
	VMOVUPS(Mem{Base: RBX, Disp: 64}, Y6)
	VMOVDQU(Mem{Base: RBX, Disp: 96}, Y7)
	Label("quant_loop")
	VMOVUPS(Mem{Base: RSI}, Y0)
	VDIVPS(Y4, Y0, Y0)
	VMAXPS(Y5, Y0, Y0) // Intel max(v, lo): NaN → lo
	VMINPS(Y6, Y0, Y0)
	VCVTPS2DQ(Y0, Y0)
	VPADDD(Y7, Y0, Y0)
	VEXTRACTI128(U8(1), Y0, X1)
	VPACKSSDW(X1, X0, X0)
	VPACKUSWB(X0, X0, X0)
	CMPQ(RDX, U8(1))
	JNE(LabelRef("quant_strided"))
	MOVQ(X0, Mem{Base: RDI})
	ADDQ(U8(8), RDI)
	JMP(LabelRef("quant_next"))
	Label("quant_strided")
	MOVQ(X0, RAX)
	for b := 0; b < 8; b++ {
		MOVB(AL, Mem{Base: RDI})
		ADDQ(RDX, RDI)
		if b < 7 {
			SHRQ(U8(8), RAX)
		}
	}
	Label("quant_next")
	ADDQ(U8(32), RSI)
	DECQ(RCX)
	JNE(LabelRef("quant_loop"))
	VZEROUPPER()
	RET()
}
