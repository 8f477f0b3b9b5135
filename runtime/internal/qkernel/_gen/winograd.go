package main

import (
	"github.com/mmcloughlin/avo/attr"
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Winograd F(2×2, 3×3) kernels (winograd_amd64.go documents the layouts
// and the exactness argument).

// winogradInput emits winogradInputF23_avx2: for one tile, the 16 input
// pixels at x + off[r·4+c] (r, c in [0, 4)), c16 groups of 16 channels,
// computes V = Bᵀ d B in int16 and stores V[ξ = 4i+j] at dst + ξ·vs + 32·g.
//
//	Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
//
// Rows first (s = d B, two columns of s at a time), then columns.
func winogradInput() {
	TEXT("winogradInputF23_avx2", attr.NOSPLIT, "func(x *byte, off *int64, c16 int, dst *byte, vs int)")
	Doc("winogradInputF23_avx2 computes, for g < c16 and the 16 channels 16g … 16g+15,",
		"V = Bᵀ d B (d[r][c] = the uint8 activations at x + off[4r+c], widened to int16)",
		"and stores V[4i+j] at dst + (4i+j)·vs + 32g (16 int16).")
	Pragma("noescape")
	Load(Param("x"), RBX)
	Load(Param("off"), RSI)
	Load(Param("c16"), RCX)
	Load(Param("dst"), RDI)
	Load(Param("vs"), RDX)
	Label("wgin_loop")
	// Two passes: columns j in {0, 1} need pixel columns 0, 1, 2; columns
	// {2, 3} need 1, 2, 3.
	for pass := 0; pass < 2; pass++ {
		// s[r][0..1] in Y(2r), Y(2r+1).
		for r := 0; r < 4; r++ {
			ld := func(c int, y VecPhysical) {
				MOVQ(Mem{Base: RSI, Disp: 8 * (4*r + c)}, RAX)
				VPMOVZXBW(Mem{Base: RBX, Index: RAX, Scale: 1}, y)
			}
			a, b := yreg(2*r), yreg(2*r+1)
			if pass == 0 {
				ld(0, a)
				ld(2, Y8)
				ld(1, b)
				VPSUBW(Y8, a, a) // s0 = d0 − d2
				VPADDW(Y8, b, b) // s1 = d1 + d2
			} else {
				ld(2, a)
				ld(1, Y8)
				ld(3, Y9)
				VPSUBW(Y8, a, a)  // s2 = d2 − d1
				VPSUBW(Y9, Y8, b) // s3 = d1 − d3
			}
		}
		// V[i][j] for the two columns j = 2·pass + jj.
		for jj := 0; jj < 2; jj++ {
			s := func(r int) VecPhysical { return yreg(2*r + jj) }
			j := 2*pass + jj
			store := func(i int, y VecPhysical) {
				xi := 4*i + j
				// dst + xi·vs: xi = 4i + j, with vs in DX.
				IMUL3Q(U32(xi), RDX, RAX)
				VMOVDQU(y, Mem{Base: RDI, Index: RAX, Scale: 1})
			}
			VPSUBW(s(2), s(0), Y10) // V0 = s0 − s2
			store(0, Y10)
			VPADDW(s(2), s(1), Y10) // V1 = s1 + s2
			store(1, Y10)
			VPSUBW(s(1), s(2), Y10) // V2 = s2 − s1
			store(2, Y10)
			VPSUBW(s(3), s(1), Y10) // V3 = s1 − s3
			store(3, Y10)
		}
	}
	ADDQ(U8(16), RBX)
	ADDQ(U8(32), RDI)
	DECQ(RCX)
	JNE(LabelRef("wgin_loop"))
	VZEROUPPER()
	RET()
}

// winogradGemm emits winogradGemm_6x16_avx2: groups of of six rows of
// int16 pairs (a + (6j+i)·as) against kp pairs of 16 channels of int16
// weights (64 bytes per pair: channels 0–7 then 8–15, each a dword of two
// weights), int32 results stored raw at c + (6j+i)·cs (16 int32).
func winogradGemm() {
	TEXT("winogradGemm_6x16_avx2", attr.NOSPLIT, "func(a *byte, as int, kp int, w *byte, c *byte, cs int, groups int)")
	Doc("winogradGemm_6x16_avx2 computes, for i < 6·groups and n < 16,",
		"",
		"\tc[i·cs + 4n] = Σ_{p<kp} a16[i·as + 4p] · w16[64p + 4n] + a16[i·as + 4p + 2] · w16[64p + 4n + 2]",
		"",
		"(int16 operands, int32 sums).")
	Pragma("noescape")
	rows := []GPPhysical{RAX, R8, R9, R10, R11, R12}
	Load(Param("a"), RBX)
	Load(Param("as"), RDX)
	Load(Param("c"), RDI)
	Load(Param("groups"), R13)
	Label("wggemm_group")
	MOVQ(RBX, RAX)
	for i := 1; i < 6; i++ {
		LEAQ(Mem{Base: rows[i-1], Index: RDX, Scale: 1}, rows[i])
	}
	Load(Param("kp"), RCX)
	Load(Param("w"), RSI)
	for i := 0; i < 12; i++ {
		VPXOR(yreg(i), yreg(i), yreg(i))
	}
	// The rows advance together: one offset (R14) instead of six pointer
	// increments per step keeps the loop within the front end's width.
	XORQ(R14, R14)
	Label("wggemm_loop")
	VMOVDQU(Mem{Base: RSI}, Y12)
	VMOVDQU(Mem{Base: RSI, Disp: 32}, Y13)
	for i := 0; i < 6; i++ {
		VPBROADCASTD(Mem{Base: rows[i], Index: R14, Scale: 1}, Y14)
		VPMADDWD(Y12, Y14, Y15)
		VPADDD(Y15, yreg(2*i), yreg(2*i))
		VPMADDWD(Y13, Y14, Y15)
		VPADDD(Y15, yreg(2*i+1), yreg(2*i+1))
	}
	ADDQ(U8(4), R14)
	ADDQ(U8(64), RSI)
	DECQ(RCX)
	JNE(LabelRef("wggemm_loop"))
	Load(Param("cs"), R14)
	for i := 0; i < 6; i++ {
		VMOVDQU(yreg(2*i), Mem{Base: RDI})
		VMOVDQU(yreg(2*i+1), Mem{Base: RDI, Disp: 32})
		ADDQ(R14, RDI)
	}
	// Next group: a += 6·as.
	LEAQ(Mem{Base: RDX, Index: RDX, Scale: 2}, RCX)
	LEAQ(Mem{Base: RBX, Index: RCX, Scale: 2}, RBX)
	DECQ(R13)
	JNE(LabelRef("wggemm_group"))
	VZEROUPPER()
	RET()
}

// winogradOutput emits winogradOutputF23_avx2: for one tile, M[ξ] (16
// int32 channels at m + 64ξ), Y = Aᵀ M A (Aᵀ = [1 1 1 0; 0 1 −1 −1]), the
// exact division by 4, the bias and the requantization of blk (bias at 0,
// epilogue table at 64), 16 output bytes to each of y0 … y3 (pixels (0,0),
// (0,1), (1,0), (1,1) of the tile).
func winogradOutput() {
	TEXT("winogradOutputF23_avx2", attr.NOSPLIT, "func(m *byte, blk *byte, y0, y1, y2, y3 *byte, oc *int32)")
	Doc("winogradOutputF23_avx2 computes, for the 16 channels n of one tile,",
		"acc = bias[n] + (Aᵀ M A)[a][b] >> 2 and stores requantize(acc) at y_{2a+b}[n].")
	Pragma("noescape")
	Load(Param("m"), RSI)
	Load(Param("blk"), RBX)
	Load(Param("oc"), RCX)
	// Two copies, with and without the clamps (requantFast).
	fastEpilogueCheck(RCX, 2, func(h int) Mem { return Mem{Base: RBX, Disp: 64 + (h*tVectors+tShl)*32} }, Y8, "winoout_slow")
	winogradOutputBody(true)
	Label("winoout_slow")
	winogradOutputBody(false)
}

// winogradOutputBody is winogradOutputF23_avx2 after its check (fast: see
// requantFast); it returns.
func winogradOutputBody(fast bool) {
	res := [2][4]VecPhysical{{Y0, Y1, Y2, Y3}, {Y4, Y5, Y6, Y7}}
	q := []VecPhysical{Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}
	for h := 0; h < 2; h++ {
		mm := func(r, c int) Mem { return Mem{Base: RSI, Disp: (4*r+c)*64 + 32*h} }
		// q0[c] = M0c + M1c + M2c (in q[c]); q1[c] = M1c − M2c − M3c (q[4+c]).
		for c := 0; c < 4; c++ {
			VMOVDQU(mm(1, c), q[c])
			VPSUBD(mm(2, c), q[c], q[4+c])
			VPSUBD(mm(3, c), q[4+c], q[4+c])
			VPADDD(mm(0, c), q[c], q[c])
			VPADDD(mm(2, c), q[c], q[c])
		}
		// Y[a][0] = q_a0 + q_a1 + q_a2; Y[a][1] = q_a1 − q_a2 − q_a3.
		r := res[h]
		for a := 0; a < 2; a++ {
			q0, q1, q2, q3 := q[4*a], q[4*a+1], q[4*a+2], q[4*a+3]
			VPADDD(q1, q0, r[2*a])
			VPADDD(q2, r[2*a], r[2*a])
			VPSUBD(q2, q1, r[2*a+1])
			VPSUBD(q3, r[2*a+1], r[2*a+1])
		}
		tab := func(k int) Mem { return Mem{Base: RBX, Disp: 64 + (h*tVectors+k)*32} }
		for i := 0; i < 4; i++ {
			VPSRAD(U8(2), r[i], r[i])
			VPADDD(Mem{Base: RBX, Disp: 32 * h}, r[i], r[i])
			requantFast(r[i], Y8, Y9, tab, func(k int) Mem { return Mem{Base: RCX, Disp: 32 * k} }, false, fast)
		}
	}
	for i, p := range []string{"y0", "y1", "y2", "y3"} {
		a, b := res[0][i], res[1][i]
		VPACKSSDW(b, a, a)
		VPERMQ(U8(0xD8), a, a)
		VEXTRACTI128(U8(1), a, X8)
		VPACKUSWB(X8, a.AsX(), a.AsX())
		Load(Param(p), RDI)
		VMOVDQU(a.AsX(), Mem{Base: RDI})
	}
	VZEROUPPER()
	RET()
}
