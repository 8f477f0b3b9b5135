package qkernel

import (
	"encoding/binary"

	"github.com/piresnet/piresnet/quant"
)

// addSIMD is AddTables in the form of the SIMD add kernel (addArch): each
// input's rescale, (q − zero point)·2^20 by a multiplier with one rounding,
// as an epilogue (epilogueFor) of acc = q − zero point, then the output's
// epilogue. ok only when both input epilogues reproduce their tables for
// all 256 inputs (checked here, exhaustively), so the kernel is exact by
// construction; otherwise Add runs the tables.
type addSIMD struct {
	ok bool
	// epi: the zero points of a and b (8 int32 lanes each), then the
	// epilogue tables (8 lanes) of a, b and the output.
	epi [64 + 3*epiVectors*32]byte
}

func newAddSIMD(p *quant.AddParams, t *AddTables) (s addSIMD) {
	le := binary.LittleEndian
	tab := func(i int, e epilogue) {
		putEpilogues(s.epi[64+i*epiVectors*32:64+(i+1)*epiVectors*32], 8, 8, func(int) epilogue { return e })
	}
	for i, in := range []struct {
		zero  int32
		m     quant.Multiplier
		table *[256]int32
	}{{p.AZero, p.AMul, &t.A}, {p.BZero, p.BMul, &t.B}} {
		// MultiplyByQuantizedMultiplierSingleRounding(u·2^20, m) is
		// (u·M + 2^(s−21)) >> (s−20) with s = 31 − m.Shift, when s > 20.
		shift := 31 - int32(in.m.Shift) - quant.AddLeftShift
		if in.m.M < 0 || shift < 1 || shift > 62 {
			return addSIMD{}
		}
		e := rescaleEpilogue(in.m.M, shift)
		for q := range 256 {
			u := int32(q) - in.zero
			a := min(max(u, e.lo), e.hi) << e.shl
			if v := int32((int64(a)*int64(e.mult)+e.rnd)>>32) >> e.shr; v != in.table[q] {
				return addSIMD{}
			}
		}
		for l := 0; l < 8; l++ {
			le.PutUint32(s.epi[32*i+4*l:], uint32(in.zero))
		}
		tab(i, e)
	}
	tab(2, epilogueFor(t.Out.Mult, t.Out.Shift))
	s.ok = true
	return s
}

// rescaleEpilogue is (u·m + 2^(s−1)) >> s for |u| ≤ 255 without any
// output clamp: epilogueFor's form when s ≥ 32, else u·2^(32−s) (which
// fits int32 for s ≥ 9) with the shift made 32. Its result is not trusted:
// newAddSIMD checks it on every input.
func rescaleEpilogue(m, s int32) epilogue {
	if s >= 32 || s < 9 {
		return epilogueFor(m, s)
	}
	return epilogue{lo: -255, hi: 255, shl: 32 - s, mult: m, rnd: 1 << 31}
}
