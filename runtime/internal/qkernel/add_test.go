package qkernel

import (
	"math"
	"slices"
	"testing"
)

func TestAddMatchesRef(t *testing.T) {
	r := newRand(t)
	for i := 0; i < 2000; i++ {
		as := float32(math.Exp(r.Float64()*10 - 7))
		bs := as * float32(math.Exp(r.Float64()*6-3))
		ys := as * float32(math.Exp(r.Float64()*4-1))
		p, err := NewAddParams(as, int32(r.IntN(256)), bs, int32(r.IntN(256)), ys, randOutput(r))
		if err != nil {
			t.Fatal(err)
		}
		n := 1 + r.IntN(300)
		a, b := randU8(r, n), randU8(r, n)
		if i%10 == 0 { // extremes
			for j := range a {
				a[j], b[j] = pick[uint8](r, 0, 255), pick[uint8](r, 0, 255)
			}
		}
		want, got := make([]uint8, n), make([]uint8, n)
		AddRef(p, a, b, want)
		Add(p, a, b, got)
		if !slices.Equal(got, want) {
			t.Fatalf("%+v: Add differs from AddRef at %s", *p, firstDiff(got, want))
		}
	}
}

// The integer addition is the real one, rounded, except within 2^-12 of a
// rounding boundary (multipliers have 21 bits).
func TestAddParamsAccuracy(t *testing.T) {
	r := newRand(t)
	near := 0
	for i := 0; i < 200; i++ {
		as := float32(math.Exp(r.Float64()*8 - 6))
		bs := as * float32(math.Exp(r.Float64()*4-2))
		ys := (as + bs) * float32(math.Exp(r.Float64()*2-1))
		out := NewOutput(int32(r.IntN(256)), 0, 255)
		p, err := NewAddParams(as, int32(r.IntN(256)), bs, int32(r.IntN(256)), ys, out)
		if err != nil {
			t.Fatal(err)
		}
		for a := 0; a < 256; a += 3 {
			for b := 0; b < 256; b += 5 {
				real := (float64(a)-float64(p.AZero))*float64(as)/float64(ys) + (float64(b)-float64(p.BZero))*float64(bs)/float64(ys)
				want := math.Min(math.Max(math.Floor(real+0.5), float64(out.Lo)), float64(out.Hi)) + float64(out.ZeroPoint)
				y := make([]uint8, 1)
				Add(p, []uint8{uint8(a)}, []uint8{uint8(b)}, y)
				if float64(y[0]) != want {
					frac := real - math.Floor(real)
					if math.Abs(frac-0.5) > 1.0/4096 {
						t.Fatalf("a %d b %d scales %g %g -> %g: got %d, real %.9g", a, b, as, bs, ys, y[0], real)
					}
					near++
				}
			}
		}
	}
	t.Logf("%d results differ from real arithmetic, all within 2^-12 of a tie", near)
}

func TestNewAddParamsRejectsHugeRatio(t *testing.T) {
	if _, err := NewAddParams(1, 0, 1, 0, 1e-7, NewOutput(0, 0, 255)); err == nil {
		t.Fatal("ratio 1e7 accepted")
	}
}
