// Command gen writes conv_amd64.s and conv_stubs_amd64.go of package qkernel:
// the AVX2 and AVX-512 VNNI convolution microkernels. Run it with
// `go generate` in runtime/internal/qkernel (see gen_amd64.go there), or
//
//	cd runtime/internal/qkernel/_gen && go run . -out ../conv_amd64.s -stubs ../conv_stubs_amd64.go -pkg qkernel
//
// Registers are physical (the kernels are register-blocked by hand: the
// tile sizes are chosen so that the accumulators, the weights of one step
// and the broadcast activations fill the register file exactly).
//
// Every kernel computes nb whole blocks of NR output channels for one tile
// of MR output pixels; Go (conv_amd64.go) does the partial last block, the
// bounds checks and the packing. The packed block layouts are documented
// in conv_amd64.go beside the packing code.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/mmcloughlin/avo/attr"
	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

const signature = "func(x *byte, ind *int32, ks, kq, mr, nb int, w *byte, bs int, c *byte, cs int, oc *int32)"

func main() {
	ConstraintExpr("!purego")
	avx2(3, 16)
	avx2(4, 8)
	avx2madd(5, 16)
	avx512vnni(6, 64)
	avx512vnni(8, 32)
	winogradInput()
	winogradGemm()
	winogradOutput()
	maxU8()
	maxTapsU8()
	addU8()
	quantizeF32()
	Generate()
	if err := alignFunctions(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// alignFunctions puts a PCALIGN $64 at the start of every function of the
// written assembly file (avo has no PCALIGN): the linker then starts each
// on a 64-byte boundary, so that where its loops fall in the instruction
// cache lines depends on its own code only, not on the size of the
// functions linked before it (which otherwise can change a kernel's speed
// from one build to the next). A function without a frame gets no padding;
// one with a frame gets a few NOPs after the prologue the assembler
// inserts. (A PCALIGN in the middle of these functions, before a loop
// label, made Go 1.26's assembler loop forever: keep it at the entry.)
func alignFunctions() error {
	out := flag.Lookup("out").Value.String()
	b, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	var sb strings.Builder
	for _, l := range strings.SplitAfter(string(b), "\n") {
		sb.WriteString(l)
		if strings.HasPrefix(l, "TEXT ") {
			sb.WriteString("\tPCALIGN $64\n")
		}
	}
	return os.WriteFile(out, []byte(sb.String()), 0o644)
}

// Offsets inside a packed block (see conv_amd64.go): header, then the
// epilogue table at tableOff, then the weights at weightsOff.
func alignUp(n, a int) int { return (n + a - 1) / a * a }

func tableOff(nr int) int { return alignUp(12*nr, 64) }

// Epilogue table, per group of L channels (L = 8 for ymm, 16 for zmm), in
// vectors of L dwords: accLo, accHi, shl, multE, multO, rndE, rndO, shr.
const (
	tAccLo = iota
	tAccHi
	tShl
	tMultE
	tMultO
	tRndE
	tRndO
	tShr
	tVectors
)

func weightsOff(nr, lanes int) int { return tableOff(nr) + nr/lanes*tVectors*4*lanes }

// Row pointers: the kernels keep x (BX), the weights (SI), the tap
// pointer (DI), its end (DX) and the k counter (CX) in registers, and the
// rows in these; the row offsets into the indirection buffer live in the
// frame.
var gpRows = []GPPhysical{RAX, R8, R9, R10, R11, R12, R13, R14}

func doc(name string, mr, nr int, isa string, extra ...string) {
	Doc(append([]string{
		fmt.Sprintf("%s computes nb blocks of %d output channels for one tile of %d output", name, nr, mr),
		fmt.Sprintf("pixels (%s). Row i < mr reads, for tap t < ks, the activations at", isa),
		"x + ind[i·ks + t] (rows i ≥ mr repeat row mr−1 and are not stored), kq groups",
		"of 4 bytes; block b (w + b·bs, the layout of conv_amd64.go) holds the bias,",
		"epilogue table and weights of its channels. It stores, for i < mr, n < NR:",
		"",
		"\tacc := bias[n] + Σ_t Σ_k x[ind[i·ks+t]+k] · w[n][t][k]   (k < 4·kq, int32)",
		"\tc[i·cs + b·NR + n] = requantize(acc)   (oc: zero point, lo, hi, clamp flag vectors)",
	}, extra...)...)
	Pragma("noescape")
}

// Frame locals: the block and output pointers, the block count, ks·4 and
// the row offsets min(i, mr−1)·ks·4 into the indirection buffer.
type locals struct {
	blk, c, nb, ks4 Mem
	off             []Mem
}

// prologue fills the locals and loads x into BX.
func prologue(mr int) locals {
	m := AllocLocal(32 + 8*mr)
	l := locals{blk: m, c: m.Offset(8), nb: m.Offset(16), ks4: m.Offset(24)}
	for i := 0; i < mr; i++ {
		l.off = append(l.off, m.Offset(32+8*i))
	}
	Load(Param("w"), RSI)
	MOVQ(RSI, l.blk)
	Load(Param("c"), RSI)
	MOVQ(RSI, l.c)
	Load(Param("nb"), RSI)
	MOVQ(RSI, l.nb)
	Load(Param("x"), RBX)
	Load(Param("ks"), RDX)
	SHLQ(U8(2), RDX)
	MOVQ(RDX, l.ks4)
	Load(Param("mr"), RCX)
	DECQ(RCX)
	for i := 1; i < mr; i++ {
		MOVQ(U32(i), RAX)
		CMPQ(RCX, U32(i))
		CMOVQLT(RCX, RAX)
		IMULQ(RDX, RAX)
		MOVQ(RAX, l.off[i])
	}
	return l
}

// tapStart points DI at the tile's indirection entries and DX at their
// end (one tap past the last of row 0).
func tapStart(l locals) {
	Load(Param("ind"), RDI)
	MOVQ(RDI, RDX)
	ADDQ(l.ks4, RDX)
}

// loadRows sets the row pointers for the tap at DI: x (BX) + ind entries.
func loadRows(l locals, mr int) {
	for i := 0; i < mr; i++ {
		r := gpRows[i]
		if i == 0 {
			MOVLQSX(Mem{Base: RDI}, r)
		} else {
			MOVQ(l.off[i], r)
			MOVLQSX(Mem{Base: RDI, Index: r, Scale: 1}, r)
		}
		ADDQ(RBX, r)
	}
}

// epilogueGP loads the epilogue's general registers: SI = block, DI = c,
// DX = cs, CX = oc, R8 = mr.
func epilogueGP(l locals) {
	MOVQ(l.blk, RSI)
	MOVQ(l.c, RDI)
	Load(Param("cs"), RDX)
	Load(Param("oc"), RCX)
	Load(Param("mr"), R8)
}

// nextBlock advances to the next block and loops to label.
func nextBlock(l locals, nr int, label string) {
	MOVQ(l.blk, RSI)
	Load(Param("bs"), RAX)
	ADDQ(RAX, RSI)
	MOVQ(RSI, l.blk)
	ADDQ(U32(nr), l.c)
	DECQ(l.nb)
	JNE(LabelRef(label))
}

// --- AVX2 -------------------------------------------------------------------

// avx2 emits convU8S8_<mr>x<nr>c4_avx2: VPMADDWD on 16-bit lanes (exact:
// no saturating step). Each ymm accumulator holds 4 channels × 2 k-pairs;
// a broadcast dword of 4 activations is widened by VPSHUFB to the words
// (x0, x1, x2, x3, x0, x1, x2, x3) per 128-bit lane; weights are int16,
// pre-arranged so that VPHADDD of accumulators 2h and 2h+1 gives channels
// 8h … 8h+7 in order.
func avx2(mr, nr int) {
	name := fmt.Sprintf("convU8S8_%dx%dc4_avx2", mr, nr)
	nv := nr / 4
	if mr*nv+3 > 16 || mr > len(gpRows) || (nr != 8 && nr != 16) {
		panic(name + ": does not fit the registers")
	}
	TEXT(name, attr.NOSPLIT, signature)
	doc(name, mr, nr, "AVX2")
	acc := func(i, v int) VecPhysical { return yreg(i*nv + v) }
	act := yreg(mr * nv)
	tmp := yreg(mr*nv + 1)
	mask := Y15
	l := prologue(mr)

	Label(name + "_block")
	VMOVDQU(widenMask, mask)
	for i := 0; i < mr; i++ {
		for v := 0; v < nv; v++ {
			VPXOR(acc(i, v), acc(i, v), acc(i, v))
		}
	}
	MOVQ(l.blk, RSI)
	ADDQ(U32(weightsOff(nr, 8)), RSI)
	tapStart(l)

	Label(name + "_tap")
	loadRows(l, mr)
	// Two k steps per iteration, then the odd one.
	step := func(u int) {
		for i := 0; i < mr; i++ {
			VPBROADCASTD(Mem{Base: gpRows[i], Disp: 4 * u}, act)
			VPSHUFB(mask, act, act)
			for v := 0; v < nv; v++ {
				VPMADDWD(Mem{Base: RSI, Disp: 32*v + 8*nr*u}, act, tmp)
				VPADDD(tmp, acc(i, v), acc(i, v))
			}
		}
	}
	advance := func(u int) {
		for i := 0; i < mr; i++ {
			ADDQ(U8(4*u), gpRows[i])
		}
		ADDQ(U32(8*nr*u), RSI)
	}
	Load(Param("kq"), RCX)
	SHRQ(U8(1), RCX)
	JE(LabelRef(name + "_odd"))
	Label(name + "_k")
	step(0)
	step(1)
	advance(2)
	DECQ(RCX)
	JNE(LabelRef(name + "_k"))
	Label(name + "_odd")
	Load(Param("kq"), RCX)
	TESTQ(U32(1), RCX)
	JE(LabelRef(name + "_tapdone"))
	step(0)
	advance(1)
	Label(name + "_tapdone")
	ADDQ(U8(4), RDI)
	CMPQ(RDI, RDX)
	JNE(LabelRef(name + "_tap"))

	// Epilogue: per row, reduce the k-pairs, requantize, narrow, store;
	// in two copies, with and without the clamps (requantFast).
	epilogueGP(l)
	e, o := tmp, mask
	epilogueCopies(l, name, nr, e, func(fast bool) { avx2Epilogue(name, mr, nr, acc, e, o, fast) })
}

// epilogueCopies ends a conv kernel: the check of fastEpilogueCheck (tmp
// is clobbered), the epilogue emit(true), the epilogue emit(false) for the
// blocks that fail it, then the loop to the next block and the return.
// emit jumps to <name>_stored after its last row.
func epilogueCopies(l locals, name string, nr int, tmp VecPhysical, emit func(fast bool)) {
	fastEpilogueCheck(RCX, nr/8, func(h int) Mem { return Mem{Base: RSI, Disp: tableOff(nr) + (h*tVectors+tShl)*32} }, tmp, name+"_slow")
	emit(true)
	JMP(LabelRef(name + "_stored"))
	Label(name + "_slow")
	emit(false)
	Label(name + "_stored")
	nextBlock(l, nr, name+"_block")
	VZEROUPPER()
	RET()
}

// avx2Epilogue is the epilogue of convU8S8_<mr>x<nr>c4_avx2 (fast: see
// requantFast); it jumps to <name>_stored after the last row.
func avx2Epilogue(name string, mr, nr int, acc func(i, v int) VecPhysical, e, o VecPhysical, fast bool) {
	for i := 0; i < mr; i++ {
		for h := 0; h < nr/8; h++ {
			s := acc(i, 2*h)
			VPHADDD(acc(i, 2*h+1), s, s)
			tab := func(k int) Mem { return Mem{Base: RSI, Disp: tableOff(nr) + (h*tVectors+k)*32} }
			VPADDD(Mem{Base: RSI, Disp: 32 * h}, s, s) // bias
			requantFast(s, e, o, tab, func(k int) Mem { return Mem{Base: RCX, Disp: 32 * k} }, false, fast)
		}
		s0 := acc(i, 0)
		if nr == 16 {
			s1 := acc(i, 2)
			VPACKSSDW(s1, s0, s0)
			VPERMQ(U8(0xD8), s0, s0)
			VEXTRACTI128(U8(1), s0, e.AsX())
			VPACKUSWB(e.AsX(), s0.AsX(), s0.AsX())
		} else {
			VEXTRACTI128(U8(1), s0, e.AsX())
			VPACKSSDW(e.AsX(), s0.AsX(), s0.AsX())
			VPACKUSWB(s0.AsX(), s0.AsX(), s0.AsX())
		}
		if i > 0 {
			CMPQ(R8, U8(i))
			JLE(LabelRef(name + "_stored"))
		}
		if nr == 16 {
			VMOVDQU(s0.AsX(), Mem{Base: RDI})
		} else {
			MOVQ(s0.AsX(), Mem{Base: RDI})
		}
		if i < mr-1 {
			ADDQ(RDX, RDI)
		}
	}
}

// avx2madd emits convU8S8_<mr>x<nr>c4_avx2madd: VPMADDUBSW (u8 × s8 →
// saturating int16 pair sums) then VPMADDWD with int16 ones (pair sums →
// int32), exact only for weights whose every pair (input channels 4q, 4q+1
// and 4q+2, 4q+3 of one output channel) has |w0| + |w1| ≤ 128 (then
// 255·128 = 32640 fits int16); the caller checks that at pack time
// (MaddPairsFit in conv_amd64.go).
//
// Packing (the AVX-512 kernels' c4 byte order with 8 channels per ymm):
// int8 weights, NR/8 vectors of 32 bytes per (tap t, group q of 4 input
// channels); byte b of dword j of vector v is the weight of channel 8·v + j
// for input channel 4q + b. A broadcast dword of activations
// (x0 x1 x2 x3) meets it so that VPMADDUBSW gives, per channel, the words
// x0·w0 + x1·w1 and x2·w2 + x3·w3, and VPMADDWD(ones) their int32 sum: the
// dwords of accumulator v are channels 8v … 8v+7 in order, no reduction
// step. The weights of a step stay in registers across the mr rows.
func avx2madd(mr, nr int) {
	name := fmt.Sprintf("convU8S8_%dx%dc4_avx2madd", mr, nr)
	nv := nr / 8
	// accumulators, weights, activation, product, ones
	if mr*nv+nv+3 > 16 || mr > len(gpRows) || nr%8 != 0 {
		panic(name + ": does not fit the registers")
	}
	TEXT(name, attr.NOSPLIT, signature)
	doc(name, mr, nr, "AVX2", "",
		"VPMADDUBSW: exact only if every weight pair (input channels 4q, 4q+1 and",
		"4q+2, 4q+3 of one channel) has |w0|+|w1| ≤ 128. Weights: int8, per (t, q)",
		"NR/8 vectors of 32 bytes; byte b of dword j of vector v is the weight of",
		"channel 8v+j for input channel 4q+b.")
	acc := func(i, v int) VecPhysical { return yreg(i*nv + v) }
	wr := func(v int) VecPhysical { return yreg(mr*nv + v) }
	act := yreg(mr*nv + nv)
	prod := yreg(mr*nv + nv + 1)
	ones := yreg(mr*nv + nv + 2)
	l := prologue(mr)

	// The rows advance by one offset (off) instead of mr pointer
	// increments per step.
	off := gpRows[mr]
	if mr+1 > len(gpRows) {
		panic(name + ": no register for the row offset")
	}
	Label(name + "_block")
	VPBROADCASTD(maddOnes, ones)
	// The accumulators start at the bias (the block's first vectors).
	MOVQ(l.blk, RSI)
	for v := 0; v < nv; v++ {
		VMOVDQU(Mem{Base: RSI, Disp: 32 * v}, acc(0, v))
		for i := 1; i < mr; i++ {
			VMOVDQA(acc(0, v), acc(i, v))
		}
	}
	ADDQ(U32(weightsOff(nr, 8)), RSI)
	tapStart(l)

	Label(name + "_tap")
	loadRows(l, mr)
	XORQ(off, off)
	Load(Param("kq"), RCX)
	Label(name + "_k")
	for v := 0; v < nv; v++ {
		VMOVDQU(Mem{Base: RSI, Disp: 32 * v}, wr(v))
	}
	for i := 0; i < mr; i++ {
		VPBROADCASTD(Mem{Base: gpRows[i], Index: off, Scale: 1}, act)
		for v := 0; v < nv; v++ {
			// prod = u8(act) · s8(w) pair sums (Intel operand order reversed).
			VPMADDUBSW(wr(v), act, prod)
			VPMADDWD(ones, prod, prod)
			VPADDD(prod, acc(i, v), acc(i, v))
		}
	}
	ADDQ(U8(4), off)
	ADDQ(U32(4*nr), RSI)
	DECQ(RCX)
	JNE(LabelRef(name + "_k"))
	ADDQ(U8(4), RDI)
	CMPQ(RDI, RDX)
	JNE(LabelRef(name + "_tap"))

	// Epilogue: the AVX2 kernels' requantization, per 8 channels, in two
	// copies, with and without the clamps (requantFast).
	epilogueGP(l)
	e, o := act, prod
	epilogueCopies(l, name, nr, e, func(fast bool) { maddEpilogue(name, mr, nr, acc, e, o, fast) })
}

// maddEpilogue is the epilogue of convU8S8_<mr>x<nr>c4_avx2madd (fast: see
// requantFast); it jumps to <name>_stored after the last row.
func maddEpilogue(name string, mr, nr int, acc func(i, v int) VecPhysical, e, o VecPhysical, fast bool) {
	nv := nr / 8
	for i := 0; i < mr; i++ {
		for v := 0; v < nv; v++ {
			s := acc(i, v)
			tab := func(k int) Mem { return Mem{Base: RSI, Disp: tableOff(nr) + (v*tVectors+k)*32} }
			// (the bias is in the accumulator since the block's start)
			requantFast(s, e, o, tab, func(k int) Mem { return Mem{Base: RCX, Disp: 32 * k} }, false, fast)
		}
		if i > 0 {
			CMPQ(R8, U8(i))
			JLE(LabelRef(name + "_stored"))
		}
		for v := 0; v < nv; v += 2 {
			s0 := acc(i, v)
			if v+1 < nv {
				VPACKSSDW(acc(i, v+1), s0, s0)
				VPERMQ(U8(0xD8), s0, s0)
				VEXTRACTI128(U8(1), s0, e.AsX())
				VPACKUSWB(e.AsX(), s0.AsX(), s0.AsX())
				VMOVDQU(s0.AsX(), Mem{Base: RDI, Disp: 8 * v})
			} else {
				VEXTRACTI128(U8(1), s0, e.AsX())
				VPACKSSDW(e.AsX(), s0.AsX(), s0.AsX())
				VPACKUSWB(s0.AsX(), s0.AsX(), s0.AsX())
				MOVQ(s0.AsX(), Mem{Base: RDI, Disp: 8 * v})
			}
		}
		if i < mr-1 {
			ADDQ(RDX, RDI)
		}
	}
}

// requant turns the int32 sums in s (bias added) into outputs in [0, 255]
// (still one per dword): the table's clamp and pre-shift of the
// accumulator, the 32×32→64-bit products with the multipliers (even and
// odd lanes), the rounding constant, the high dwords, the arithmetic shift,
// the output clamp and the zero point. e and o are scratch. For zmm, K1
// must hold 0xAAAA.
func requant(s, e, o VecPhysical, tab func(int) Mem, oc func(int) Mem, zmm bool) {
	requantFast(s, e, o, tab, oc, zmm, false)
}

// requantFast is requant; with fast it leaves out the accumulator clamp
// and pre-shift (no-ops when every channel's shl is 0: epilogueFor gives
// such channels the int32 range) and the output clamp (a no-op when the
// output range is [0, 255]: the narrowing packs saturate to it). The
// kernels check both at run time (fastEpilogueCheck) and run one of two
// copies of their epilogue.
func requantFast(s, e, o VecPhysical, tab func(int) Mem, oc func(int) Mem, zmm, fast bool) {
	if !fast {
		VPMAXSD(tab(tAccLo), s, s)
		VPMINSD(tab(tAccHi), s, s)
		VPSLLVD(tab(tShl), s, s)
	}
	VPSHUFD(U8(0xF5), s, o)
	VPMULDQ(tab(tMultE), s, e)
	VPMULDQ(tab(tMultO), o, o)
	VPADDQ(tab(tRndE), e, e)
	VPADDQ(tab(tRndO), o, o)
	VPSRLQ(U8(32), e, e)
	if zmm {
		VMOVDQA32(o, K1, e)
		s, e = e, s
	} else {
		VPBLENDD(U8(0xAA), o, e, s)
	}
	VPSRAVD(tab(tShr), s, s)
	if oc == nil && !zmm { // raw: no output stage
		resultReg = s
		return
	}
	if zmm {
		// oc(k) are registers here (broadcast once per call).
		VPMAXSD(zc[1], s, s)
		VPMINSD(zc[2], s, s)
		VPADDD(zc[0], s, s)
		// The result is in s; callers read it from resultReg.
		resultReg = s
		return
	}
	if !fast {
		VPMAXSD(oc(1), s, s)
		VPMINSD(oc(2), s, s)
	}
	VPADDD(oc(0), s, s)
	resultReg = s
}

// ocClampOff is the offset in the output constants (outConsts) of the
// dword that is non-zero when the output range is narrower than [0, 255].
const ocClampOff = 96

// fastEpilogueCheck jumps to slow unless the fast epilogue (requantFast)
// is exact for this block: the output range is [0, 255] (the dword at
// ocClampOff of oc is 0) and the shl vector of every one of the groups is
// zero. tmp is clobbered.
func fastEpilogueCheck(oc GPPhysical, groups int, shl func(h int) Mem, tmp VecPhysical, slow string) {
	CMPL(Mem{Base: oc, Disp: ocClampOff}, U8(0))
	JNE(LabelRef(slow))
	VMOVDQU(shl(0), tmp)
	for h := 1; h < groups; h++ {
		VPOR(shl(h), tmp, tmp)
	}
	VPTEST(tmp, tmp)
	JNE(LabelRef(slow))
}

var (
	resultReg VecPhysical
	zc        [3]VecPhysical
)

var widenMask, maddOnes Mem

func yreg(i int) VecPhysical {
	return []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}[i]
}

func zreg(i int) VecPhysical {
	return []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}[i]
}

func init() {
	// Four int16 ones per 64 bits: VPMADDWD with it sums int16 pairs.
	maddOnes = GLOBL("convMaddOnes", attr.RODATA|attr.NOPTR)
	DATA(0, U32(0x00010001))
	// VPSHUFB control: per 128-bit lane, bytes 0,1,2,3 of the broadcast
	// dword to words 0…3 and again 4…7 (0x80: zero byte).
	widenMask = GLOBL("convWidenMask", attr.RODATA|attr.NOPTR)
	for lane := 0; lane < 2; lane++ {
		for j := 0; j < 8; j++ {
			DATA(16*lane+2*j, U8(j%4))
			DATA(16*lane+2*j+1, U8(0x80))
		}
	}
}

// --- AVX-512 VNNI -----------------------------------------------------------

// avx512vnni emits convU8S8_<mr>x<nr>c4_avx512vnni: VPDPBUSD zmm (64 u8×s8
// products into 16 int32 lanes). Each zmm accumulator holds 16 channels;
// a broadcast dword of 4 activations meets the weights of 16 channels × 4
// input channels.
func avx512vnni(mr, nr int) {
	name := fmt.Sprintf("convU8S8_%dx%dc4_avx512vnni", mr, nr)
	nv := nr / 16
	if mr*nv+nv+1 > 29 || mr > len(gpRows) {
		panic(name + ": does not fit the registers")
	}
	TEXT(name, attr.NOSPLIT, signature)
	doc(name, mr, nr, "AVX-512 VNNI")
	acc := func(i, v int) VecPhysical { return zreg(i*nv + v) }
	wr := func(v int) VecPhysical { return zreg(mr*nv + v) }
	act := zreg(mr*nv + nv)
	l := prologue(mr)
	rows := gpRows
	MOVL(U32(0xAAAA), EAX)
	KMOVW(EAX, K1)

	Label(name + "_block")
	for i := 0; i < mr; i++ {
		for v := 0; v < nv; v++ {
			VPXORD(acc(i, v), acc(i, v), acc(i, v))
		}
	}
	MOVQ(l.blk, RSI)
	ADDQ(U32(weightsOff(nr, 16)), RSI)
	tapStart(l)

	Label(name + "_tap")
	loadRows(l, mr)
	Load(Param("kq"), RCX)
	Label(name + "_k")
	for v := 0; v < nv; v++ {
		VMOVDQU32(Mem{Base: RSI, Disp: 64 * v}, wr(v))
	}
	for i := 0; i < mr; i++ {
		VPBROADCASTD(Mem{Base: rows[i]}, act)
		for v := 0; v < nv; v++ {
			// VPDPBUSD acc += u8(act) · s8(w), Intel operand order reversed.
			Instruction(&ir.Instruction{Opcode: "VPDPBUSD", Operands: []Op{wr(v), act, acc(i, v)}})
		}
	}
	for i := 0; i < mr; i++ {
		ADDQ(U8(4), rows[i])
	}
	ADDQ(U32(4*nr), RSI)
	DECQ(RCX)
	JNE(LabelRef(name + "_k"))
	ADDQ(U8(4), RDI)
	CMPQ(RDI, RDX)
	JNE(LabelRef(name + "_tap"))

	// Epilogue.
	epilogueGP(l)
	zc = [3]VecPhysical{zreg(29), zreg(30), zreg(31)}
	for k := 0; k < 3; k++ {
		VPBROADCASTD(Mem{Base: RCX, Disp: 32 * k}, zc[k])
	}
	e, o := zreg(mr*nv), zreg(mr*nv+1)
	for i := 0; i < mr; i++ {
		if i > 0 {
			CMPQ(R8, U8(i))
			JLE(LabelRef(name + "_stored"))
		}
		for v := 0; v < nv; v++ {
			s := acc(i, v)
			tab := func(k int) Mem { return Mem{Base: RSI, Disp: tableOff(nr) + (v*tVectors+k)*64} }
			VPADDD(Mem{Base: RSI, Disp: 64 * v}, s, s) // bias
			requant(s, e, o, tab, nil, true)
			VPMOVDB(resultReg, Mem{Base: RDI, Disp: 16 * v})
		}
		if i < mr-1 {
			ADDQ(RDX, RDI)
		}
	}
	Label(name + "_stored")
	nextBlock(l, nr, name+"_block")
	VZEROUPPER()
	RET()
}
