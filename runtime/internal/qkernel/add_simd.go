package qkernel

import (
	"encoding/binary"
	"math"

	"github.com/piresnet/piresnet/quant"
)

// addSIMD is AddTables in the form of the SIMD add kernel (addArch). Each
// input's rescale, MultiplyByQuantizedMultiplierSingleRounding((q − z)·2^20,
// m), is (d·M + 2^(u−1)) >> u with d = q − z, |d| ≤ 255 and u = 11 − Shift
// (11 to 42 for the multipliers of an Add, which are at most 1/2). With M
// split into high and low parts around bit 16 of the product, it is
//
//	(d·Mh + ((d·Ml + 2^15) >> 16))                    u ≤ 16: Mh = M >> u, Ml = (M mod 2^u)·2^(16−u)
//	((d·Mh + 2^(u−17)) + ((d·Ml) >> 16)) >> (u − 16)  u > 16: Mh = M >> 16, Ml = M mod 2^16
//
// (floor division nests: ⌊(X·2^k + Y)/2^u⌋ = ⌊(X + ⌊Y/2^k⌋)/2^(u−k)⌋), where
// every product and sum fits int32: two 32-bit products and five cheap
// operations per 8 elements instead of two 64-bit products with their
// shuffles. The first shift is 16 for every multiplier, an immediate; the
// second, u − 16 or 0, is the kernel's one shift count per input, held in
// a register (a count read from memory costs several times more on Zen 3).
// The zero point is folded into the rounding terms: with d·M = q·M − z·M,
// the rescale reads q itself and adds rnd − z·M, the same int32 sums
// modulo 2^32 (so the same values, which fit). The sum goes through the
// output's epilogue. ok only when both rescales reproduce their tables for
// all 256 inputs (checked here, exhaustively), so the kernel is exact by
// construction; otherwise Add runs the tables.
type addSIMD struct {
	ok bool
	// epi: the split rescales of a and b (splitVectors vectors of 8 lanes
	// each, zero points folded in), the output's epilogue table, then its
	// right shift as a count vector. The kernel shifts every lane by the
	// same count (VPSRAD), so shift vectors hold it in their low quadword.
	epi [2*splitVectors*32 + epiVectors*32 + 32]byte
}

// splitRescale is one input's rescale in addSIMD's form (the first shift
// is always 16); the vectors of its table are in this order.
type splitRescale struct{ mh, ml, rndLo, rndHi, shHi int32 }

const splitVectors = 5

// newSplitRescale returns the split form of the rescale of d = q − z by
// multiplier m and shift u, as a function of q (z folded in).
func newSplitRescale(m int32, u int32, z int32) (splitRescale, bool) {
	var r splitRescale
	switch {
	case m < 0 || u < 9 || u > 46:
		return splitRescale{}, false
	case u <= 16:
		r = splitRescale{mh: m >> u, ml: (m & (1<<u - 1)) << (16 - u), rndLo: 1 << 15}
	default:
		r = splitRescale{mh: m >> 16, ml: m & 0xFFFF, rndHi: 1 << (u - 17), shHi: u - 16}
	}
	r.rndLo -= z * r.ml // int32 wrap-around, as the kernel's additions
	r.rndHi -= z * r.mh
	return r, true
}

// apply is the kernel's arithmetic on one lane (int32 wrap-around, as the
// vector instructions): the rescale of input q.
func (r splitRescale) apply(q int32) int32 {
	lo := (q*r.ml + r.rndLo) >> 16
	return (q*r.mh + r.rndHi + lo) >> r.shHi
}

func newAddSIMD(p *quant.AddParams, t *AddTables) (s addSIMD) {
	le := binary.LittleEndian
	for i, in := range []struct {
		zero  int32
		m     quant.Multiplier
		table *[256]int32
	}{{p.AZero, p.AMul, &t.A}, {p.BZero, p.BMul, &t.B}} {
		r, ok := newSplitRescale(in.m.M, 31-int32(in.m.Shift)-quant.AddLeftShift, in.zero)
		if !ok {
			return addSIMD{}
		}
		for q := range 256 {
			if r.apply(int32(q)) != in.table[q] {
				return addSIMD{}
			}
		}
		tab := s.epi[i*splitVectors*32:]
		for k, v := range [splitVectors]int32{r.mh, r.ml, r.rndLo, r.rndHi, r.shHi} {
			if k == splitVectors-1 { // the shift count
				le.PutUint64(tab[32*k:], uint64(v))
				continue
			}
			for l := 0; l < 8; l++ {
				le.PutUint32(tab[32*k+4*l:], uint32(v))
			}
		}
	}
	// The kernel skips the output epilogue's clamp and left shift, which
	// only multipliers below 1/2 do without: every Add's output multiplier,
	// 2·max(scaleA, scaleB) / (2^20·scaleOut), unless the output scale is
	// below 2^-18 of the larger input scale.
	out := epilogueFor(t.Out.Mult, t.Out.Shift)
	if out.shl != 0 || out.lo != math.MinInt32 || out.hi != math.MaxInt32 {
		return addSIMD{}
	}
	putEpilogues(s.epi[2*splitVectors*32:], 8, 8, func(int) epilogue { return out })
	le.PutUint64(s.epi[2*splitVectors*32+epiVectors*32:], uint64(out.shr))
	s.ok = true
	return s
}
