package qkernel

import (
	"math"
	"slices"
	"testing"

	"github.com/piresnet/piresnet/quant"
)

func TestAddMatchesRef(t *testing.T) {
	r := newRand(t)
	for i := 0; i < 2000; i++ {
		as := float32(math.Exp(r.Float64()*10 - 7))
		bs := as * float32(math.Exp(r.Float64()*6-3))
		ys := as * float32(math.Exp(r.Float64()*4-1))
		o := randOutput(r)
		p, err := quant.NewAddParams(as, int32(r.IntN(256)), bs, int32(r.IntN(256)), ys, o.ZeroPoint, quant.Uint8)
		if err != nil {
			continue // output scale too small for the inputs': not lowered
		}
		p.Qmin, p.Qmax = o.Qmin(), o.Qmax()
		n := 1 + r.IntN(300)
		a, b := randU8(r, n), randU8(r, n)
		if i%10 == 0 { // extremes
			for j := range a {
				a[j], b[j] = pick[uint8](r, 0, 255), pick[uint8](r, 0, 255)
			}
		}
		want, got := make([]uint8, n), make([]uint8, n)
		AddRef(&p, a, b, want)
		Add(NewAddTables(&p), a, b, got)
		if !slices.Equal(got, want) {
			t.Fatalf("%+v: Add differs from AddRef at %s", p, firstDiff(got, want))
		}
	}
}
