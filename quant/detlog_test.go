package quant

import (
	"math"
	"testing"
)

func TestDetLog(t *testing.T) {
	r := newRand(t)
	check := func(x float64) {
		got, want := detLog(x), math.Log(x)
		tol := 4 * math.Abs(math.Nextafter(want, math.Inf(1))-want)
		if want == 0 {
			tol = 1e-300
		}
		if math.Abs(got-want) > tol {
			t.Fatalf("detLog(%g) = %.17g, math.Log = %.17g", x, got, want)
		}
	}
	for _, x := range []float64{1, 2, 0.5, math.E, 10, 1e-300, 1e300, math.MaxFloat64, math.Sqrt2 / 2, math.Sqrt2, 1 + 1e-15, 1 - 1e-15} {
		check(x)
	}
	// Subnormals (math.Log's amd64 assembly gets ln(2^-1074) wrong: −709.09).
	if got, want := detLog(math.SmallestNonzeroFloat64), -1074*math.Ln2; math.Abs(got-want) > 1e-12 {
		t.Errorf("detLog(2^-1074) = %.17g, want %.17g", got, want)
	}
	for range 200000 {
		check(math.Exp(r.Float64()*1400 - 700))
		check(1 + (r.Float64()-0.5)*1e-3)
	}
}
