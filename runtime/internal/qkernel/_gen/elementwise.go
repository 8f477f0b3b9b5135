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

// epilogueSteps is requant as a list of steps (one instruction each), so
// that independent streams can be interleaved; a nil oc leaves out the
// output stage, outClamp false its clamp (requantFast).
func epilogueSteps(s, e, o VecPhysical, tab func(int) Mem, oc func(int) Mem, outClamp bool) []func() {
	steps := []func(){
		func() { VPMAXSD(tab(tAccLo), s, s) },
		func() { VPMINSD(tab(tAccHi), s, s) },
		func() { VPSLLVD(tab(tShl), s, s) },
		func() { VPSHUFD(U8(0xF5), s, o) },
		func() { VPMULDQ(tab(tMultE), s, e) },
		func() { VPMULDQ(tab(tMultO), o, o) },
		func() { VPADDQ(tab(tRndE), e, e) },
		func() { VPADDQ(tab(tRndO), o, o) },
		func() { VPSRLQ(U8(32), e, e) },
		func() { VPBLENDD(U8(0xAA), o, e, s) },
		func() { VPSRAVD(tab(tShr), s, s) },
	}
	if oc != nil && outClamp {
		steps = append(steps,
			func() { VPMAXSD(oc(1), s, s) },
			func() { VPMINSD(oc(2), s, s) })
	}
	if oc != nil {
		steps = append(steps, func() { VPADDD(oc(0), s, s) })
	}
	return steps
}

// Split rescale table of one Add input (addSIMD), in vectors of 8 dwords:
// the high and low parts of the multiplier, the low part's rounding term
// and shift, the high part's rounding term and the final shift.
const (
	sMh = iota
	sMl
	sRndLo
	sShLo
	sRndHi
	sShHi
	sVectors
)

// splitRescaleSteps computes, in place on d (int32 lanes, |d| ≤ 255), the
// input rescale of addSIMD with two 32-bit products:
// ((d·Mh + rndHi) + ((d·Ml + rndLo) >> shLo)) >> shHi; t is a temporary.
func splitRescaleSteps(d, t VecPhysical, tab func(int) Mem) []func() {
	return []func(){
		func() { VPMULLD(tab(sMl), d, t) },
		func() { VPMULLD(tab(sMh), d, d) },
		func() { VPADDD(tab(sRndLo), t, t) },
		func() { VPADDD(tab(sRndHi), d, d) },
		func() { VPSRAVD(tab(sShLo), t, t) },
		func() { VPADDD(t, d, d) },
		func() { VPSRAVD(tab(sShHi), d, d) },
	}
}

// addU8 emits addU8_avx2: the residual addition of AddTables for n16
// groups of 16 elements, in arithmetic: each input minus its zero point
// goes through its split rescale (splitRescaleSteps), the two are added and
// the sum goes through the output epilogue. Two streams of 8 elements are
// interleaved (the epilogues are long dependency chains). epi (addSIMD):
// the zero points of a and b (8 lanes each), the split rescale tables of a
// and b, then the output's epilogue table.
func addU8() {
	TEXT("addU8_avx2", attr.NOSPLIT, "func(a, b, y *byte, n16 int, epi *byte, oc *int32)")
	Doc("addU8_avx2 computes, for i < 16·n16, y[i] = out(ea(a[i] − za) + eb(b[i] − zb)) with the",
		"rescales (and zero points) of epi and the output stage oc.")
	Pragma("noescape")
	Load(Param("a"), RAX)
	Load(Param("b"), RBX)
	Load(Param("y"), RDI)
	Load(Param("n16"), RCX)
	Load(Param("epi"), RSI)
	Load(Param("oc"), RDX)
	const splitBytes = sVectors * 32
	split := func(i int) func(int) Mem {
		return func(k int) Mem { return Mem{Base: RSI, Disp: 64 + i*splitBytes + k*32} }
	}
	out := func(k int) Mem { return Mem{Base: RSI, Disp: 64 + 2*splitBytes + k*32} }
	ocm := func(k int) Mem { return Mem{Base: RDX, Disp: 32 * k} }
	// Two copies of the loop: without the output clamp when the output
	// range is [0, 255] (the packs saturate to it), and with it.
	CMPL(Mem{Base: RDX, Disp: ocClampOff}, U8(0))
	JNE(LabelRef("addu8_clamped"))
	addU8Loop("addu8_loop", split, out, ocm, false)
	Label("addu8_clamped")
	addU8Loop("addu8_loop_clamped", split, out, ocm, true)
}

// addU8Loop is the loop of addU8_avx2 (clamped: with the output clamp);
// it returns.
func addU8Loop(label string, split func(int) func(int) Mem, out, ocm func(int) Mem, clamped bool) {
	Label(label)
	var streams [2][]func()
	for st := 0; st < 2; st++ {
		va, vb := yreg(7*st), yreg(7*st+1)
		e1, o1, e2 := yreg(7*st+2), yreg(7*st+3), yreg(7*st+4)
		x := yreg(7*st + 6)
		off := 8 * st
		steps := []func(){
			func() { VPMOVZXBD(Mem{Base: RAX, Disp: off}, va) },
			func() { VPMOVZXBD(Mem{Base: RBX, Disp: off}, vb) },
			func() { VPSUBD(Mem{Base: RSI}, va, va) },
			func() { VPSUBD(Mem{Base: RSI, Disp: 32}, vb, vb) },
		}
		ea := splitRescaleSteps(va, e1, split(0))
		eb := splitRescaleSteps(vb, e2, split(1))
		for i := range ea {
			steps = append(steps, ea[i], eb[i])
		}
		steps = append(steps, func() { VPADDD(vb, va, va) })
		// The output epilogue without its first three steps (the clamp
		// of the accumulator and the left shift): addSIMD takes only
		// epilogues whose clamp is the int32 range and shift 0.
		steps = append(steps, epilogueSteps(va, e1, o1, out, ocm, clamped)[3:]...)
		steps = append(steps,
			func() { VEXTRACTI128(U8(1), va, x.AsX()) },
			func() { VPACKSSDW(x.AsX(), va.AsX(), va.AsX()) },
			func() { VPACKUSWB(va.AsX(), va.AsX(), va.AsX()) },
			func() { MOVQ(va.AsX(), Mem{Base: RDI, Disp: off}) })
		streams[st] = steps
	}
	for i := range streams[0] {
		streams[0][i]()
		streams[1][i]()
	}
	ADDQ(U8(16), RAX)
	ADDQ(U8(16), RBX)
	ADDQ(U8(16), RDI)
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
