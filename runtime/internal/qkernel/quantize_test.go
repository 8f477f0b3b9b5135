package qkernel

import (
	"math"
	"testing"

	"github.com/piresnet/piresnet/quant"
)

// QuantizeU8 (SIMD where available) gives quant.Quantize's bytes: ties,
// values around the clamps, NaN, infinities, signed zeros, subnormals, at
// every stride 1 … 4 and length 0 … 40, with guard bytes.
func TestQuantizeU8MatchesQuant(t *testing.T) {
	r := newRand(t)
	specials := []float32{0, float32(math.Copysign(0, -1)), 0.5, -0.5, 1.5, 2.5, -2.5, 254.5, 255.5, -255.5, 127.5,
		float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), math.SmallestNonzeroFloat32, 1e30, -1e30}
	for iter := 0; iter < 3000; iter++ {
		n := r.IntN(41)
		ys := 1 + r.IntN(4)
		scale := float32(math.Exp(r.Float64()*8 - 6))
		if iter%5 == 0 {
			scale = 1
		}
		zp := int32(r.IntN(256))
		x := make([]float32, n)
		for i := range x {
			switch r.IntN(4) {
			case 0:
				x[i] = specials[r.IntN(len(specials))] * scale
			case 1:
				x[i] = (float32(r.IntN(600)-300) + 0.5) * scale // ties
			default:
				x[i] = float32(r.NormFloat64()*200) * scale
			}
		}
		y := make([]byte, n*ys+8)
		for i := range y {
			y[i] = guard
		}
		QuantizeU8(y, ys, x, scale, zp)
		for i, v := range y {
			if i%ys == 0 && i/ys < n {
				if want := uint8(quant.Quantize(x[i/ys], scale, zp, quant.Uint8)); v != want {
					t.Fatalf("x=%g scale=%g zp=%d: got %d, want %d", x[i/ys], scale, zp, v, want)
				}
			} else if v != guard {
				t.Fatalf("n=%d stride %d: byte %d written", n, ys, i)
			}
		}
	}
}
