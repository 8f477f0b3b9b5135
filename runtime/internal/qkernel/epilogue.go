package qkernel

import (
	"encoding/binary"
	"math"
)

// The requantization epilogue of the SIMD kernels (conv_amd64.go,
// winograd.go): one channel's multiplier in a form that 32-bit lanes with
// a 32×32→64-bit multiply compute exactly.

// Epilogue table vectors, in block order.
const (
	epiAccLo = iota
	epiAccHi
	epiShl
	epiMultE
	epiMultO
	epiRndE
	epiRndO
	epiShr
	epiVectors
)

// epilogue is one channel's requantization in the form the SIMD epilogue
// computes exactly: with a = min(max(acc, lo), hi) << shl (int32),
//
//	v = int32((int64(a)·mult + rnd) >> 32) >> shr
//
// then the output clamp and zero point. epilogueFor proves it equal to
// requantize for every int32 accumulator.
type epilogue struct {
	lo, hi, shl, mult int32
	rnd               int64
	shr               int32
}

// epilogueFor converts the multiplier m·2^−s (requantize: (acc·m +
// 2^(s−1)) >> s, s in [1, 62], m ≥ 0) into the SIMD epilogue:
//
//   - m = 0 gives 0 for every accumulator.
//   - m is first normalized to [2^30, 2^31) by raising s (the same value).
//     If then s ≥ 63, |acc·m| < 2^62 ≤ 2^(s−1) and the result is 0.
//   - s ≥ 32: (acc·m + 2^(s−1)) >> s = ((acc·m + 2^(s−1)) >> 32) >> (s−32)
//     (floors compose); the sum fits int64 and its high half int32.
//   - 23 ≤ s ≤ 31, L = 32 − s: the same with acc·2^L, exact while acc·2^L
//     fits int32, that is |acc| ≤ A = (2^31−1) >> L; past A the result is
//     beyond ±256 either way (m ≥ 2^30 makes |v(A)| ≥ 2^20), so clamping acc
//     to ±A leaves the clamped output unchanged.
//   - s ≤ 22: m/2^s ≥ 256, so every acc ≠ 0 saturates the output (|v| ≥
//     256 > 255 ≥ |Lo|, |Hi|) with the sign of acc, and 0 gives 0: acc
//     clamped to [−1, 1], times 2^10, times 2^30, plus 2^31, >> 32 gives
//     −256, 0 or 256.
func epilogueFor(mult int32, shift int32) epilogue {
	zero := epilogue{lo: math.MinInt32, hi: math.MaxInt32, rnd: 1 << 31}
	m, s := int64(mult), int64(shift)
	if m == 0 {
		return zero
	}
	for m < 1<<30 {
		m <<= 1
		s++
	}
	switch {
	case s >= 63:
		return zero
	case s >= 32:
		return epilogue{lo: math.MinInt32, hi: math.MaxInt32, mult: int32(m), rnd: 1 << (s - 1), shr: int32(s - 32)}
	case s >= 23:
		l := 32 - s
		a := int32((1<<31 - 1) >> l)
		return epilogue{lo: -a, hi: a, shl: int32(l), mult: int32(m), rnd: 1 << 31}
	default:
		return epilogue{lo: -1, hi: 1, shl: 10, mult: 1 << 30, rnd: 1 << 31}
	}
}

// apply is the epilogue in scalar Go (the tests check it against
// requantize and the kernels against it).
func (e epilogue) apply(acc int32, o *Output) uint8 {
	a := min(max(acc, e.lo), e.hi) << e.shl
	v := int32((int64(a)*int64(e.mult)+e.rnd)>>32) >> e.shr
	v = min(max(v, o.Lo), o.Hi)
	return uint8(v + o.ZeroPoint)
}

// putEpilogueTable writes the epilogue table of nr channels in groups of
// lanes channels (one vector each): per group, the vectors accLo, accHi,
// shl (int32 per channel), multE, multO (int64 per even / odd channel, the
// multiplier in the low half), rndE, rndO (int64 per even / odd channel)
// and shr (int32 per channel). req(j) gives channel j's multiplier, or
// false for a padding channel (which computes 0).
func putEpilogueTable(tab []byte, lanes, nr int, req func(j int) (Requant, bool)) {
	putEpilogues(tab, lanes, nr, func(j int) epilogue {
		if r, ok := req(j); ok {
			return epilogueFor(r.Mult, r.Shift)
		}
		return epilogueFor(0, 1)
	})
}

// putEpilogues writes the table of putEpilogueTable from the epilogues.
func putEpilogues(tab []byte, lanes, nr int, epi func(j int) epilogue) {
	le := binary.LittleEndian
	vec := 4 * lanes
	for j := 0; j < nr; j++ {
		e := epi(j)
		grp := tab[j/lanes*epiVectors*vec:]
		lane := j % lanes
		le.PutUint32(grp[epiAccLo*vec+4*lane:], uint32(e.lo))
		le.PutUint32(grp[epiAccHi*vec+4*lane:], uint32(e.hi))
		le.PutUint32(grp[epiShl*vec+4*lane:], uint32(e.shl))
		le.PutUint32(grp[epiShr*vec+4*lane:], uint32(e.shr))
		mv, rv := epiMultE, epiRndE
		if lane%2 == 1 {
			mv, rv = epiMultO, epiRndO
		}
		le.PutUint64(grp[mv*vec+8*(lane/2):], uint64(uint32(e.mult)))
		le.PutUint64(grp[rv*vec+8*(lane/2):], uint64(e.rnd))
	}
}

// outConsts are the output stage as the kernels read it: 8 lanes of the
// zero point, then of Lo, then of Hi (the AVX-512 kernels broadcast lane
// 0 of each), then the clamp flag (at byte ocClampOff of the generator):
// 0 when the range is [0, 255], which the AVX2 kernels' narrowing packs
// give by saturation, so that they leave the clamp out.
func outConsts(o *Output) (v [32]int32) {
	clamp := int32(0)
	if o.Qmin() != 0 || o.Qmax() != 255 {
		clamp = 1
	}
	for i := 0; i < 8; i++ {
		v[i], v[8+i], v[16+i], v[24+i] = o.ZeroPoint, o.Lo, o.Hi, clamp
	}
	return v
}
