package quant

import (
	"math"
	"math/big"
	"testing"
)

func ratFloat32(f float32) *big.Rat { return new(big.Rat).SetFloat64(float64(f)) }

// roundingOutcome classifies got against the exact value e (in output steps,
// before adding zp and clamping to [lo, hi]) given the error bound delta of
// the computation: when e is farther than delta from a half-integer, got must
// be e rounded to nearest; otherwise either neighbour is acceptable. It
// returns "exact" or "near" (a near-tie, including exact ties), or "" for a
// violation.
func roundingOutcome(got int64, e *big.Rat, delta float64, zp, lo, hi int64) string {
	f := ratFloor(e)
	frac, _ := new(big.Rat).Sub(e, new(big.Rat).SetInt(f)).Float64()
	clamp := func(v int64) int64 { return min(max(v, lo), hi) }
	if math.Abs(frac-0.5) <= delta {
		if got == clamp(f.Int64()+zp) || got == clamp(f.Int64()+1+zp) {
			return "near"
		}
		return ""
	}
	want := f.Int64() + zp
	if frac > 0.5 {
		want++
	}
	if got == clamp(want) {
		return "exact"
	}
	return ""
}

// exactAdd is ((a−za)·sa + (b−zb)·sb) / so in exact rational arithmetic.
func exactAdd(a, za int32, sa float32, b, zb int32, sb float32, so float32) *big.Rat {
	x := new(big.Rat).Mul(ratInt(int64(a-za)), ratFloat32(sa))
	y := new(big.Rat).Mul(ratInt(int64(b-zb)), ratFloat32(sb))
	x.Add(x, y)
	return x.Quo(x, ratFloat32(so))
}

// TestAddExhaustive checks AddParams.Add on every pair of 8-bit inputs for a
// set of scale combinations against exact rational arithmetic: never more than
// one step from the exactly rounded sum, and equal to it nearly always.
func TestAddExhaustive(t *testing.T) {
	r := newRand(t)
	type combo struct {
		sa, sb, so float32
		za, zb, zo int32
		qt         QType
	}
	combos := []combo{
		{0.05, 0.05, 0.1, 0, 0, 0, Uint8},       // equal input scales
		{0.02, 0.07, 0.08, 128, 3, 17, Uint8},   // typical residual
		{0.1, 0.001, 0.1, 10, 200, 0, Uint8},    // very different inputs
		{0.03, 0.04, 0.01, -5, 100, -128, Int8}, // output finer than inputs
		{0.0123, 0.0456, 0.0789, -128, 0, 127, Int8},
	}
	for len(combos) < 12 {
		lu := func() float32 { return float32(math.Exp(math.Log(1e-3) + r.Float64()*math.Log(1e2))) }
		qt := Uint8
		if len(combos)%2 == 1 {
			qt = Int8
		}
		combos = append(combos, combo{lu(), lu(), lu(), qt.Min() + int32(r.IntN(256)), qt.Min() + int32(r.IntN(256)), qt.Min() + int32(r.IntN(256)), qt})
	}
	if testing.Short() {
		combos = combos[:4]
	}
	var n, near int
	for _, c := range combos {
		p, err := NewAddParams(c.sa, c.za, c.sb, c.zb, c.so, c.zo, c.qt)
		if err != nil {
			t.Fatalf("NewAddParams(%+v): %v", c, err)
		}
		// Error bound in output steps: the two input rescalings round once
		// each (≤ 1/2 unit of the 2^20-scaled sum each) and carry the 2^-31
		// relative error of their multipliers on terms below 2^27 (≤ 1/16
		// unit each); the output multiplier turns a unit into OutMul steps
		// and adds its own relative error on an output below 2^9.
		delta := 1.125*p.OutMul.Float64() + 0x1p-20
		lo, hi := c.qt.Min(), c.qt.Max()
		for a := lo; a <= hi; a++ {
			for b := lo; b <= hi; b++ {
				got := p.Add(a, b)
				e := exactAdd(a, c.za, c.sa, b, c.zb, c.sb, c.so)
				n++
				switch roundingOutcome(int64(got), e, delta, int64(c.zo), int64(lo), int64(hi)) {
				case "near":
					near++
				case "":
					t.Fatalf("%+v: Add(%d, %d) = %d, exact %s + %d (error bound %g steps)", c, a, b, got, e.FloatString(9), c.zo, delta)
				}
			}
		}
	}
	t.Logf("integer Add vs exact rational arithmetic: all %d sums correctly rounded except %d within the error bound of a tie, exact ties included (%.4f %%), which got a neighbour", n, near, 100*float64(near)/float64(n))
}

func TestNewAddParamsErrors(t *testing.T) {
	for _, c := range []struct {
		sa, sb, so float32
		za, zb, zo int32
		qt         QType
	}{
		{0, 1, 1, 0, 0, 0, Uint8}, {1, float32(math.NaN()), 1, 0, 0, 0, Uint8}, {1, 1, float32(math.Inf(1)), 0, 0, 0, Uint8},
		{1, 1, 1, 256, 0, 0, Uint8}, {1, 1, 1, 0, -129, 0, Int8}, {1, 1, 1, 0, 0, 0, 0},
		{1, 1, 1e-30, 0, 0, 0, Uint8}, // output multiplier 2^-19/1e-30 ≥ 2^30
	} {
		if _, err := NewAddParams(c.sa, c.za, c.sb, c.zb, c.so, c.zo, c.qt); err == nil {
			t.Errorf("NewAddParams(%+v) succeeded", c)
		}
	}
}

func TestRoundingDivide(t *testing.T) {
	ref := func(x, n int32) int32 {
		return int32(roundHalfAway(big.NewRat(int64(x), int64(n))).Int64())
	}
	// TFLite's formula, in int64 so that it cannot overflow here.
	tflite := func(x, n int32) int32 {
		if x > 0 {
			return int32((int64(x) + int64(n)/2) / int64(n))
		}
		return int32((int64(x) - int64(n)/2) / int64(n))
	}
	for x := int32(-600); x <= 600; x++ {
		for n := int32(1); n <= 50; n++ {
			if got, want := RoundingDivide(x, n), ref(x, n); got != want || got != tflite(x, n) {
				t.Fatalf("RoundingDivide(%d, %d) = %d, exact %d, TFLite %d", x, n, got, want, tflite(x, n))
			}
		}
	}
	r := newRand(t)
	edges := []int32{math.MaxInt32, math.MinInt32, math.MaxInt32 - 1, math.MinInt32 + 1, 1 << 30, -(1 << 30)}
	for i := 0; i < 200000; i++ {
		x, n := int32(r.Uint32()), int32(r.Uint32()>>1)>>r.IntN(31)
		if i < len(edges)*len(edges) {
			x, n = edges[i/len(edges)], edges[i%len(edges)]
		}
		if n <= 0 {
			continue
		}
		if got, want := RoundingDivide(x, n), ref(x, n); got != want {
			t.Fatalf("RoundingDivide(%d, %d) = %d, exact %d", x, n, got, want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("RoundingDivide(1, 0) did not panic")
		}
	}()
	RoundingDivide(1, 0)
}

// TestAveragePoolMultiplier checks the global average pool path,
// Requantize(Σ(x − zp), AveragePoolMultiplier(...)), against the exact
// average in rational arithmetic, for counts from 1 to MaxPoolCount and
// worst-case sums.
func TestAveragePoolMultiplier(t *testing.T) {
	r := newRand(t)
	var n, near int
	counts := []int{1, 2, 3, 7, 49, 100, 225, 1 << 12, 99991, 1 << 20, MaxPoolCount - 1, MaxPoolCount}
	for _, count := range counts {
		for range 400 {
			inS, outS := float32(math.Exp(r.Float64()*4-6)), float32(math.Exp(r.Float64()*4-6))
			zpIn, zpOut := int32(r.IntN(256)), int32(r.IntN(256))
			m, err := AveragePoolMultiplier(inS, outS, count)
			if err != nil {
				t.Fatalf("AveragePoolMultiplier(%g, %g, %d): %v", inS, outS, count, err)
			}
			// A sum of count values x − zp with x in [0, 255]: random mean,
			// extremes included.
			var sum int64
			switch r.IntN(4) {
			case 0:
				sum = int64(count) * int64(255-zpIn)
			case 1:
				sum = int64(count) * int64(0-zpIn)
			default:
				sum = int64(r.IntN(255*count+1)) - int64(count)*int64(zpIn)
			}
			got := Requantize(int32(sum), m, zpOut, 0, 255)
			e := new(big.Rat).Mul(big.NewRat(sum, int64(count)), new(big.Rat).Quo(ratFloat32(inS), ratFloat32(outS)))
			// One rounding of a product whose multiplier carries a relative
			// error below 2^-31 + 2^-53, on outputs below 2^10 steps.
			n++
			switch roundingOutcome(int64(got), e, 0x1p-20, int64(zpOut), 0, 255) {
			case "near":
				near++
			case "":
				t.Fatalf("count %d, scales %g→%g, sum %d: %d, exact %s + %d", count, inS, outS, sum, got, e.FloatString(9), zpOut)
			}
		}
	}
	t.Logf("global average pool vs exact average: all %d correctly rounded except %d within 2^-20 of a tie", n, near)
	for _, bad := range []int{0, -1, MaxPoolCount + 1} {
		if _, err := AveragePoolMultiplier(1, 1, bad); err == nil {
			t.Errorf("AveragePoolMultiplier(1, 1, %d) succeeded", bad)
		}
	}
	if _, err := AveragePoolMultiplier(0, 1, 4); err == nil {
		t.Error("AveragePoolMultiplier with a zero scale succeeded")
	}
}
