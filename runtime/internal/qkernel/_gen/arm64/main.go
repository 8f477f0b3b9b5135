// Command arm64 generates conv_arm64.s, the arm64 NEON convolution
// microkernels of package qkernel:
//
//	go run . -out ../../conv_arm64.s
//
// (or `go generate` in package qkernel). Instructions that Go's arm64
// assembler knows (loads, stores, EOR, DUP, MOVI, MOV, integer ops) are
// written in its syntax; the others (SDOT, SMULL, SMLAL2, SADALP, SRSHL, the
// saturating narrows, ADDP, …) are emitted as WORD with their mnemonic in a
// comment, from the encoders in enc.go (checked against llvm-mc by
// enc_test.go). main_test.go fails when the checked-in file differs from
// what this program writes.
//
// Both kernels share one frame (see the header of the generated file) and
// compute whole tiles of MR = 4 output pixels by NR output channels for nb
// consecutive blocks: Go (conv_arm64.go) checks bounds, handles the last
// partial block through a scratch tile, and turns GEMM calls into a
// one-tap indirection.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
)

func main() {
	out := flag.String("out", "../../conv_arm64.s", "file to write")
	flag.Parse()
	if err := os.WriteFile(*out, generate(), 0o644); err != nil {
		log.Fatal(err)
	}
}

type gen struct{ b bytes.Buffer }

func (g *gen) p(format string, a ...any) { fmt.Fprintf(&g.b, format+"\n", a...) }

// i emits an instruction in Go assembler syntax.
func (g *gen) i(format string, a ...any) { g.p("\t"+format, a...) }

// op emits an instruction Go's assembler lacks, as WORD plus mnemonic.
func (g *gen) op(x inst) { g.p("\tWORD $0x%08x // %s", x.enc, x.text) }

func (g *gen) label(l string) { g.p("%s:", l) }

// Registers shared by both kernels (Go ABI0: R18 is the platform register,
// R26–R30 belong to the runtime and the assembler; every V register is
// scratch).
//
//	R0  output zero point      R10–R13 indirection rows I0–I3
//	R1  blocks left            R14–R17 output rows C0–C3
//	R2  kc (padded)            R19–R22 activation pointers X0–X3
//	R3  ks·4                   R23 packed weight pointer
//	R4  qmin                   R24 byte offset of the tap in I0–I3
//	R5  x + xoff               R25 k-loop counter
//	R6  current block          R9  scratch
//	R7  block stride
//	R8  qmax
const frameDoc = `// Frame shared by every kernel below (Go ABI0, arguments on the stack):
//
//	func k(mr, nb, kc, ks int, ind *int32, x *byte, xoff int, w *byte, bs int, c *byte, cs int, o *Output)
//
// computes nb consecutive blocks of NR output channels for MR = 4 output
// pixels. Pixel i < 4 reads, for tap t < ks, the kc input channels at
// x + xoff + ind[min(i, mr−1)·ks + t] (kc already padded to the kernel's
// step; the bytes past the true channel count meet zero weights) and writes
// its NR outputs of block b at c + min(i, mr−1)·cs + b·NR: rows past mr
// repeat row mr−1, so they store the same bytes to the same place. The
// packed block b starts at w + b·bs with the common header (NR int32
// biases, multipliers, shifts), then the kernel's layout. o is the Output.
//
// Requantization (the epilogue) is exact: for each int32 accumulator a,
// multiplier M ≥ 0 and shift s in [1, 62] of its channel, the value
// v = (a·M + 2^(s−1)) >> s (requantize in requant.go) comes from
//
//	SMULL/SMULL2  p = a·M                     (64-bit lanes, exact)
//	SRSHL         v = (p + 2^(s−1)) >> s      (shift by −s: rounds half up, no overflow)
//	SQXTN/SQXTN2  saturate to int32
//
// or, when every channel of the block has s ≥ 32 (the packer sets a flag;
// real multipliers below 1/2: a convolution's are typically near 10^−3),
// from
//
//	SQDMULH       q = ⌊a·M / 2^31⌋            (saturates only for a = M = −2^31)
//	SRSHL         v = (q + 2^(r−1)) >> r      (r = s − 31 ≥ 1)
//
// which is the same v: ⌊(⌊P/2^31⌋ + 2^(r−1)) / 2^r⌋ = ⌊(P + 2^(s−1)) / 2^s⌋
// for P = a·M (adding an integer commutes with ⌊·⌋; nested floor divisions
// by positive integers compose). Then
//
//	SQXTN/SQXTN2  saturate to int16
//	SQADD         + output zero point         (int16, saturating)
//	SQXTUN        saturate to [0, 255]
//	UMAX/UMIN     clamp to [qmin, qmax]
//
// which is clamp(v, qmin − zp, qmax − zp) + zp, the Go requantize: the
// saturations are monotone and the identity on every value that survives
// the clamp, since 0 ≤ zp, qmin ≤ qmax ≤ 255.
`

// prologue loads the arguments and sets up the row pointers.
func (g *gen) prologue() {
	g.i("MOVD mr+0(FP), R9")
	g.i("MOVD nb+8(FP), R1")
	g.i("MOVD kc+16(FP), R2")
	g.i("MOVD ks+24(FP), R3")
	g.i("LSL $2, R3, R3") // bytes of indirection per row
	g.i("MOVD ind+32(FP), R10")
	g.i("MOVD x+40(FP), R5")
	g.i("MOVD xoff+48(FP), R23")
	g.i("ADD R23, R5, R5")
	g.i("MOVD w+56(FP), R6")
	g.i("MOVD bs+64(FP), R7")
	g.i("MOVD c+72(FP), R14")
	g.i("MOVD cs+80(FP), R24")
	g.i("MOVD o+88(FP), R23")
	g.i("MOVW (R23), R0  // o.ZeroPoint")
	g.i("MOVW 4(R23), R4 // o.Lo")
	g.i("MOVW 8(R23), R8 // o.Hi")
	g.i("ADD R0, R4, R4  // qmin")
	g.i("ADD R0, R8, R8  // qmax")
	g.p("\t// Rows past mr repeat row mr−1.")
	for i := 1; i < 4; i++ {
		g.i("ADD R3, R%d, R%d", 9+i, 10+i)
		g.i("CMP $%d, R9", i)
		g.i("CSEL GT, R%d, R%d, R%d", 10+i, 9+i, 10+i)
		g.i("ADD R24, R%d, R%d", 13+i, 14+i)
		g.i("CSEL GT, R%d, R%d, R%d", 14+i, 13+i, 14+i)
	}
}

// tapLoop emits the loop over taps and, inside, over kc in steps of 16
// (then 8, then 4 when withTail4), calling the step emitters. Labels get
// prefix pre.
func (g *gen) tapLoop(pre string, step16, step8, step4 func()) {
	g.i("MOVD $0, R24")
	g.label(pre + "tap")
	for i := 0; i < 4; i++ {
		g.i("MOVW (R%d)(R24), R%d", 10+i, 19+i)
	}
	for i := 0; i < 4; i++ {
		g.i("ADD R5, R%d, R%d", 19+i, 19+i)
	}
	g.i("ADD $4, R24, R24")
	g.i("LSR $4, R2, R25")
	g.i("CBZ R25, %stail8", pre)
	g.label(pre + "k16")
	step16()
	g.i("SUBS $1, R25, R25")
	g.i("BNE %sk16", pre)
	g.label(pre + "tail8")
	g.i("TBZ $3, R2, %stail4", pre)
	step8()
	g.label(pre + "tail4")
	if step4 != nil {
		g.i("TBZ $2, R2, %snext", pre)
		step4()
		g.label(pre + "next")
	}
	g.i("CMP R3, R24")
	g.i("BLT %stap", pre)
}

// loadActs loads n bytes of each of the 4 activation rows into V16–V19 and
// flips them to int8 (x XOR 0x80 = x − 128) with the mask in vmask.
func (g *gen) loadActs(n int, vmask v) {
	for i := 0; i < 4; i++ {
		switch n {
		case 16:
			g.i("VLD1.P 16(R%d), [V%d.B16]", 19+i, 16+i)
		case 8:
			g.i("FMOVD.P 8(R%d), F%d", 19+i, 16+i)
		case 4:
			g.i("FMOVS.P 4(R%d), F%d", 19+i, 16+i)
		}
	}
	for i := 0; i < 4; i++ {
		g.i("VEOR V%d.B16, V%d.B16, V%d.B16", vmask, 16+i, 16+i)
	}
}

// requant4 requantizes the int32 lanes of acc in place (result saturated to
// int32 in acc) with multipliers in vm and negated shifts in sh0 (lanes 0,
// 1 as 64-bit) and sh1 (lanes 2, 3), using temporaries t0, t1.
func (g *gen) requant4(acc, vm, sh0, sh1, t0, t1 v) {
	g.op(smull2s(t0, acc, vm))
	g.op(smull24s(t1, acc, vm))
	g.op(srshl2d(t0, t0, sh0))
	g.op(srshl2d(t1, t1, sh1))
	g.op(sqxtn2d(acc, t0))
	g.op(sqxtn22d(acc, t1))
}

// narrow16 turns 16 requantized int32 lanes (a0…a3, 4 each) into 16 output
// bytes in d: int16 with the zero point added, then uint8 clamped to
// [qmin, qmax]. vzp, vmin, vmax hold the zero point (8H), qmin and qmax
// (16B); t is a temporary.
func (g *gen) narrow16(d, t v, a [4]v, vzp, vmin, vmax v) {
	g.op(sqxtn4s(d, a[0]))
	g.op(sqxtn24s(d, a[1]))
	g.op(sqxtn4s(t, a[2]))
	g.op(sqxtn24s(t, a[3]))
	g.op(sqadd8h(d, d, vzp))
	g.op(sqadd8h(t, t, vzp))
	g.op(sqxtun8h(d, d))
	g.op(sqxtun28h(d, t))
	g.op(umax16b(d, d, vmin))
	g.op(umin16b(d, d, vmax))
}

func (g *gen) nextBlock(nr int, pre string) {
	g.i("ADD R7, R6, R6")
	for i := 0; i < 4; i++ {
		g.i("ADD $%d, R%d, R%d", nr, 14+i, 14+i)
	}
	g.i("SUBS $1, R1, R1")
	g.i("BNE %sblock", pre)
	g.i("RET")
}

// Layout offsets of the SDOT kernel's block (NR = 16).
const (
	dotNR     = 16
	dotHeader = 12 * dotNR          // biases, multipliers, shifts
	dotBias   = dotHeader           // NR int32 effective biases
	dotShift  = dotBias + 4*dotNR   // NR int64 negated shifts −s
	dotRShift = dotShift + 8*dotNR  // NR int32 negated shifts −(s − 31)
	dotFlag   = dotRShift + 4*dotNR // uint32: 1 when every s ≥ 32; 60 bytes of padding
	dotW      = dotFlag + 64        // weights
)

func (g *gen) dotKernel() {
	g.p(`// igemmU8S8_4x16c4_neondot: 4 pixels × 16 channels, SDOT (FEAT_DotProd,
// Cortex-A76 / Pi 5). Block layout after the header (offsets from the block):
//
//	%d: 16 int32 effective biases: bias − xzp·Σw + 128·Σw
//	%d: 16 int64 negated shifts −s (SRSHL reads the low byte)
//	%d: 16 int32 negated shifts −(s − 31), for the 32-bit epilogue
//	%d: uint32 1 when every channel has s ≥ 32 (32-bit epilogue), else 0
//	%d: weights, XNNPACK's c4 layout: for tap t, for group q of 4 input
//	     channels (kc padded to 4), for channel j < 16: w[j][t][4q…4q+3]
//
// Accumulators: V(4i+q) holds pixel i, channels 4q…4q+3. Activations are
// flipped to int8 (x XOR 0x80) on load; the +128·Σw in the bias undoes it.
// Inner step (16 input channels): 4 row loads, 4 EOR, 4 weight loads of 64
// bytes, 64 SDOT = 1024 MACs in 76 instructions.`, dotBias, dotShift, dotRShift, dotFlag, dotW)
	g.p("TEXT ·igemmU8S8_4x16c4_neondot(SB), NOSPLIT, $0-96")
	g.prologue()
	g.label("block")
	g.i("ADD $%d, R6, R9", dotBias)
	g.i("VLD1 (R9), [V0.S4, V1.S4, V2.S4, V3.S4]")
	for i := 1; i < 4; i++ {
		for q := 0; q < 4; q++ {
			g.i("VMOV V%d.B16, V%d.B16", q, 4*i+q)
		}
	}
	g.i("VMOVI $128, V20.B16")
	g.i("ADD $%d, R6, R23", dotW)
	acc := func(i, q int) v { return v(4*i + q) }
	sdots := func(wbase v, lane int) {
		for q := 0; q < 4; q++ {
			for i := 0; i < 4; i++ {
				g.op(sdotLane(acc(i, q), wbase+v(q), v(16+i), lane))
			}
		}
	}
	ldw := func(wbase v) {
		g.i("VLD1.P 64(R23), [V%d.B16, V%d.B16, V%d.B16, V%d.B16]", wbase, wbase+1, wbase+2, wbase+3)
	}
	g.tapLoop("",
		func() {
			g.loadActs(16, 20)
			ldw(24)
			ldw(28)
			sdots(24, 0)
			ldw(24)
			sdots(28, 1)
			ldw(28)
			sdots(24, 2)
			sdots(28, 3)
		},
		func() {
			g.loadActs(8, 20)
			ldw(24)
			ldw(28)
			sdots(24, 0)
			sdots(28, 1)
		},
		func() {
			g.loadActs(4, 20)
			ldw(24)
			sdots(24, 0)
		})
	g.p("\t// Epilogue: requantize, narrow, store 16 bytes per row.")
	g.i("MOVWU %d(R6), R9", dotFlag)
	g.i("CBZ R9, epi64")
	for q := 0; q < 4; q++ {
		g.i("FMOVQ %d(R6), F16 // multipliers of channels %d…%d", 4*dotNR+16*q, 4*q, 4*q+3)
		g.i("FMOVQ %d(R6), F17", dotRShift+16*q)
		for i := 0; i < 4; i++ {
			g.op(sqdmulh4s(acc(i, q), acc(i, q), 16))
			g.op(srshl4s(acc(i, q), acc(i, q), 17))
		}
	}
	g.i("B narrow")
	g.label("epi64")
	for q := 0; q < 4; q++ {
		g.i("FMOVQ %d(R6), F16 // multipliers of channels %d…%d", 4*dotNR+16*q, 4*q, 4*q+3)
		g.i("FLDPQ %d(R6), (F17, F18)", dotShift+32*q)
		for i := 0; i < 4; i++ {
			g.requant4(acc(i, q), 16, 17, 18, v(19+2*i), v(20+2*i))
		}
	}
	g.label("narrow")
	g.i("VDUP R0, V29.H8")
	g.i("VDUP R4, V30.B16")
	g.i("VDUP R8, V31.B16")
	for i := 0; i < 4; i++ {
		g.narrow16(27, 28, [4]v{acc(i, 0), acc(i, 1), acc(i, 2), acc(i, 3)}, 29, 30, 31)
		g.i("VST1 [V27.B16], (R%d)", 14+i)
	}
	g.nextBlock(dotNR, "")
}

// Layout offsets of the widening kernel's block (NR = 4).
const (
	mlalNR     = 4
	mlalHeader = 12 * mlalNR
	mlalBias   = mlalHeader          // NR int32 effective biases
	mlalShift  = mlalBias + 4*mlalNR // NR int64 negated shifts −s
	mlalFlag   = mlalShift + 8*mlalNR
	mlalFast   = mlalFlag + 4
	mlalRShift = mlalFlag + 16 // NR int32 negated shifts −(s − 31)
	mlalW      = mlalRShift + 4*mlalNR
)

func (g *gen) mlalKernel() {
	g.p(`// igemmU8S8_4x4c8_neon: 4 pixels × 4 channels, widening multiplies
// (Armv8.0 Advanced SIMD; Cortex-A53/A72: Pi 3, Pi 4, Zero 2 W). Block
// layout after the header (offsets from the block):
//
//	%d: 4 int32 effective biases: bias − xzp·Σw + 128·Σw
//	%d: 4 int64 negated shifts −s
//	%d: uint32 1 when some channel has w[k] = w[k+8] = −128 inside a group
//	     of 16 input channels (then the int16 pair sum of the fast step
//	     could reach 2·128·128 = 32768), else 0
//	%d: uint32 1 when every channel has s ≥ 32 (32-bit epilogue), else 0;
//	     8 bytes of padding
//	%d: 4 int32 negated shifts −(s − 31)
//	%d: weights: for tap t, for each full group g of 16 input channels,
//	     for channel j < 4: w[j][t][16g…16g+15]; then, when kc (padded to 8)
//	     leaves 8, for channel j: w[j][t][16g…16g+7]
//
// Accumulators: V(4i+j) holds four int32 partial sums of pixel i, channel
// j, reduced with ADDP at the end. Activations are flipped to int8 (x XOR
// 0x80). Inner step (16 input channels), per pixel-channel pair:
//
//	pairs: SMULL t.8H (k 0–7); SMLAL2 t.8H (k 8–15); SADALP acc, t
//	       a product of int8 values is in [−16256, 16384], 16384 only for
//	       (−128)·(−128), so two fit int16 unless both are that:
//	       256 MACs in 4+4+1+48 = 57 instructions
//	exact: SMULL t; SMULL2 u; SADALP acc, t; SADALP acc, u
//	       (any weights): 256 MACs in 73 instructions`, mlalBias, mlalShift, mlalFlag, mlalFast, mlalRShift, mlalW)
	g.p("TEXT ·igemmU8S8_4x4c8_neon(SB), NOSPLIT, $0-96")
	g.prologue()
	g.label("block")
	for k := 0; k < 16; k++ {
		g.i("VEOR V%d.B16, V%d.B16, V%d.B16", k, k, k)
	}
	g.i("VMOVI $128, V24.B16")
	g.i("ADD $%d, R6, R23", mlalW)
	g.i("MOVWU %d(R6), R9", mlalFlag)
	g.i("CBNZ R9, exact")
	acc := func(i, j int) v { return v(4*i + j) }
	type pair struct{ i, j int }
	var pairs []pair
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			pairs = append(pairs, pair{i, j})
		}
	}
	ldw16 := func() { g.i("VLD1.P 64(R23), [V20.B16, V21.B16, V22.B16, V23.B16]") }
	ldw8 := func() { g.i("VLD1.P 32(R23), [V20.B8, V21.B8, V22.B8, V23.B8]") }
	// step8 (both variants): SMULL + SADALP per pair, software-pipelined
	// by one pair over temporaries V25–V30.
	step8 := func() {
		g.loadActs(8, 24)
		ldw8()
		for p := 0; p <= len(pairs); p++ {
			if p < len(pairs) {
				g.op(smull8(v(25+p%6), v(16+pairs[p].i), v(20+pairs[p].j)))
			}
			if p > 0 {
				q := pairs[p-1]
				g.op(sadalp(acc(q.i, q.j), v(25+(p-1)%6)))
			}
		}
	}
	g.tapLoop("p",
		func() {
			g.loadActs(16, 24)
			ldw16()
			// SMULL of pair p, SMLAL2 of pair p−1, SADALP of pair p−2.
			for p := 0; p < len(pairs)+2; p++ {
				if p < len(pairs) {
					a := pairs[p]
					g.op(smull8(v(25+p%6), v(16+a.i), v(20+a.j)))
				}
				if p >= 1 && p-1 < len(pairs) {
					a := pairs[p-1]
					g.op(smlal28(v(25+(p-1)%6), v(16+a.i), v(20+a.j)))
				}
				if p >= 2 {
					a := pairs[p-2]
					g.op(sadalp(acc(a.i, a.j), v(25+(p-2)%6)))
				}
			}
		}, step8, nil)
	g.i("B epilogue")
	g.label("exact")
	g.tapLoop("e",
		func() {
			g.loadActs(16, 24)
			ldw16()
			// SMULL and SMULL2 of pair p, SADALPs of pair p−1.
			for p := 0; p <= len(pairs); p++ {
				if p < len(pairs) {
					a := pairs[p]
					g.op(smull8(v(25+(2*p)%6), v(16+a.i), v(20+a.j)))
					g.op(smull28(v(25+(2*p+1)%6), v(16+a.i), v(20+a.j)))
				}
				if p > 0 {
					a := pairs[p-1]
					g.op(sadalp(acc(a.i, a.j), v(25+(2*p-2)%6)))
					g.op(sadalp(acc(a.i, a.j), v(25+(2*p-1)%6)))
				}
			}
		}, step8, nil)
	g.label("epilogue")
	g.p("\t// Reduce: row i's four sums per channel into V(4i).")
	for i := 0; i < 4; i++ {
		g.op(addp4s(acc(i, 0), acc(i, 0), acc(i, 1)))
		g.op(addp4s(acc(i, 2), acc(i, 2), acc(i, 3)))
		g.op(addp4s(acc(i, 0), acc(i, 0), acc(i, 2)))
	}
	g.i("FMOVQ %d(R6), F16 // effective biases", mlalBias)
	g.i("FMOVQ %d(R6), F17 // multipliers", 4*mlalNR)
	for i := 0; i < 4; i++ {
		g.op(add4s(acc(i, 0), acc(i, 0), 16))
	}
	g.i("MOVWU %d(R6), R9", mlalFast)
	g.i("CBZ R9, epi64")
	g.i("FMOVQ %d(R6), F18", mlalRShift)
	for i := 0; i < 4; i++ {
		g.op(sqdmulh4s(acc(i, 0), acc(i, 0), 17))
		g.op(srshl4s(acc(i, 0), acc(i, 0), 18))
	}
	g.i("B narrow")
	g.label("epi64")
	g.i("FLDPQ %d(R6), (F18, F19)", mlalShift)
	for i := 0; i < 4; i++ {
		g.requant4(acc(i, 0), 17, 18, 19, v(20+2*i), v(21+2*i))
	}
	g.label("narrow")
	g.i("VDUP R0, V30.H8")
	g.i("VDUP R4, V31.B16")
	g.i("VDUP R8, V29.B16")
	g.narrow16(28, 27, [4]v{acc(0, 0), acc(1, 0), acc(2, 0), acc(3, 0)}, 30, 31, 29)
	for i := 0; i < 4; i++ {
		g.i("VST1 V28.S[%d], (R%d)", i, 14+i)
	}
	g.nextBlock(mlalNR, "")
}

func generate() []byte {
	var g gen
	g.p("// Code generated by runtime/internal/qkernel/_gen/arm64; DO NOT EDIT.")
	g.p("")
	g.p("//go:build !purego")
	g.p("")
	g.p(`#include "textflag.h"`)
	g.p("")
	g.b.WriteString(frameDoc)
	g.p("")
	g.dotKernel()
	g.p("")
	g.mlalKernel()
	return g.b.Bytes()
}
