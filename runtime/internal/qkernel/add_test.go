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
		if i%3 == 0 { // input scales far apart: rescale shifts up to ~25
			bs = as * float32(math.Exp(r.Float64()*20-10))
		}
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
		tab := NewAddTables(&p)
		// The split rescale is exact for every multiplier an Add can have
		// (its derivation in addSIMD): the SIMD kernel must never fall back.
		if !tab.simd.ok {
			t.Fatalf("%+v: no exact split rescale", p)
		}
		Add(tab, a, b, got)
		if !slices.Equal(got, want) {
			t.Fatalf("%+v: Add differs from AddRef at %s", p, firstDiff(got, want))
		}
	}
}

// The split rescale of the SIMD Add reproduces quant's single-rounding
// multiply of q − z on every input q, for every shift an Add multiplier can
// have (Shift −31 to 0), mantissas at the ends of their range and at
// random, the zero multiplier, and zero points at the ends and at random
// (folded into the rounding terms).
func TestSplitRescaleExact(t *testing.T) {
	r := newRand(t)
	for shift := quant.MinShift; shift <= 0; shift++ {
		ms := []int32{0, 1 << 30, 1<<31 - 1, 1<<30 + 1, 0x5555_5555, 0x7fff_0000, 0x4000_ffff}
		for range 60 {
			ms = append(ms, 1<<30+r.Int32N(1<<30))
		}
		for _, M := range ms {
			m := quant.Multiplier{M: M, Shift: shift}
			if M == 0 {
				m = quant.Multiplier{}
			}
			for _, z := range []int32{0, 255, 128, 1 + r.Int32N(254), r.Int32N(256)} {
				sr, ok := newSplitRescale(m.M, 31-int32(m.Shift)-quant.AddLeftShift, z)
				if !ok {
					t.Fatalf("%v: no split rescale", m)
				}
				for q := int32(0); q <= 255; q++ {
					if got, want := sr.apply(q), quant.MultiplyByQuantizedMultiplierSingleRounding((q-z)<<quant.AddLeftShift, m); got != want {
						t.Fatalf("%v, q = %d, z = %d: split rescale %d, want %d", m, q, z, got, want)
					}
				}
			}
		}
	}
}

// BenchmarkAdd times Add on a ResNet-50 residual tensor (56x56x256).
func BenchmarkAdd(b *testing.B) {
	r := newRand(b)
	p, err := quant.NewAddParams(0.05, 120, 0.031, 131, 0.07, 0, quant.Uint8)
	if err != nil {
		b.Fatal(err)
	}
	n := 56 * 56 * 256
	x, y, out := randU8(r, n), randU8(r, n), make([]uint8, n)
	tab := NewAddTables(&p)
	b.SetBytes(int64(n))
	for b.Loop() {
		Add(tab, x, y, out)
	}
}
