package qkernel

import (
	"fmt"
	"math"
)

// AddParams are the constants of a quantized elementwise addition
// y = a + b (residual connections), computed in integer arithmetic with a
// single rounding, as XNNPACK's qu8 vadd does:
//
//	acc = (a − AZero)·AMult + (b − BZero)·BMult          (int32, exact)
//	y   = clamp((acc + 2^(Shift−1)) >> Shift, Out.Lo, Out.Hi) + Out.ZeroPoint
//
// with AMult ≈ a_scale/y_scale · 2^Shift and BMult ≈ b_scale/y_scale ·
// 2^Shift, both below 2^21 so that |acc| < 2^30 and the rounding add stays
// in int32 on every ISA. Shift is the largest in [1, 31] that keeps the
// larger multiplier below 2^21: the ratios are represented with a relative
// error of at most 2^−21 whenever a ratio is at least 2^−10.
type AddParams struct {
	AZero, BZero int32
	AMult, BMult int32
	Shift        uint32
	Out          Output
}

// addMultLimit bounds the magnitude of AMult and BMult.
const addMultLimit = 1 << 21

// NewAddParams computes AddParams from the float32 scales and uint8-domain
// zero points of the inputs and the output. It fails when a scale ratio is
// 2^20 or more (the output would be a step function of one input).
func NewAddParams(aScale float32, aZero int32, bScale float32, bZero int32, yScale float32, out Output) (*AddParams, error) {
	for _, s := range []float32{aScale, bScale, yScale} {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return nil, fmt.Errorf("qkernel: add scales %g, %g -> %g: must be positive and finite", aScale, bScale, yScale)
		}
	}
	ra := float64(aScale) / float64(yScale)
	rb := float64(bScale) / float64(yScale)
	rmax := max(ra, rb)
	shift := 31
	for shift > 0 && math.Round(math.Ldexp(rmax, shift)) >= addMultLimit {
		shift--
	}
	if shift < 1 {
		return nil, fmt.Errorf("qkernel: add scale ratio %g is too large (must be below 2^20)", rmax)
	}
	return &AddParams{
		AZero: aZero, BZero: bZero,
		AMult: int32(math.Round(math.Ldexp(ra, shift))),
		BMult: int32(math.Round(math.Ldexp(rb, shift))),
		Shift: uint32(shift), Out: out,
	}, nil
}
