package qkernel

import (
	"math"
	"testing"

	"github.com/piresnet/piresnet/quant"
)

// The kernels' inline requantization must be quant.Requantize, the
// project's definition, for every accumulator and multiplier.
func TestRequantizeIsQuantRequantize(t *testing.T) {
	r := newRand(t)
	accs := []int32{0, 1, -1, math.MaxInt32, math.MinInt32, math.MinInt32 + 1, 1 << 30, -(1 << 30)}
	n := 200000
	if testing.Short() {
		n = 20000
	}
	for i := 0; i < n; i++ {
		var m quant.Multiplier
		switch i % 4 {
		case 0:
			m = randMultiplier(t, r, 1e-6, 0.5)
		case 1:
			m = randMultiplier(t, r, 0.5, 1000)
		case 2:
			m = randMultiplier(t, r, 1e-10, 1e-6)
		default:
			m = quant.Multiplier{} // zero
		}
		o := randOutput(r)
		acc := int32(r.Uint32())
		switch i % 3 {
		case 0:
			acc = accs[r.IntN(len(accs))]
		case 1:
			acc >>= uint(r.IntN(31))
		}
		got := Requantize(acc, NewRequant(m), &o)
		want := quant.Requantize(acc, m, o.ZeroPoint, o.Qmin(), o.Qmax())
		if int32(got) != want {
			t.Fatalf("acc %d, multiplier %v, output %+v: got %d, quant.Requantize %d", acc, m, o, got, want)
		}
	}
}
