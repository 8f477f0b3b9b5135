package quant

import (
	"errors"
	"math"
	"math/big"
	"testing"
)

// refSRDHM is floor(2ab/2^32 + 1/2) computed exactly, saturated to int32.
func refSRDHM(a, b int32) int32 {
	r := new(big.Rat).Mul(ratInt(2*int64(a)), ratInt(int64(b)))
	r.Mul(r, ratPow2(-32))
	v := roundHalfUp(r)
	if v.Cmp(big.NewInt(math.MaxInt32)) > 0 {
		return math.MaxInt32
	}
	return int32(v.Int64())
}

// refRDBPOT is x / 2^e rounded half away from zero, computed exactly.
func refRDBPOT(x int32, e int) int32 {
	r := new(big.Rat).Mul(ratInt(int64(x)), ratPow2(-e))
	return int32(roundHalfAway(r).Int64())
}

func TestSaturatingRoundingDoublingHighMulEdges(t *testing.T) {
	vals := interesting32()
	for _, a := range vals {
		for _, b := range vals {
			if got, want := SaturatingRoundingDoublingHighMul(a, b), refSRDHM(a, b); got != want {
				t.Fatalf("SRDHM(%d, %d) = %d, exact reference %d", a, b, got, want)
			}
		}
	}
	// The one saturating input, and its neighbours which do not saturate.
	if got := SaturatingRoundingDoublingHighMul(math.MinInt32, math.MinInt32); got != math.MaxInt32 {
		t.Errorf("SRDHM(MinInt32, MinInt32) = %d, want MaxInt32", got)
	}
	if got := SaturatingRoundingDoublingHighMul(math.MinInt32, math.MinInt32+1); got != math.MaxInt32 {
		t.Errorf("SRDHM(MinInt32, MinInt32+1) = %d, want %d", got, math.MaxInt32)
	}
	// Ties round toward +∞ (SQRDMULH), not away from zero: 2·a·b/2^32 = ±1/2.
	if got := SaturatingRoundingDoublingHighMul(1<<15, 1<<15); got != 1 {
		t.Errorf("SRDHM(2^15, 2^15) (= +0.5) = %d, want 1", got)
	}
	if got := SaturatingRoundingDoublingHighMul(-(1 << 15), 1<<15); got != 0 {
		t.Errorf("SRDHM(-2^15, 2^15) (= -0.5) = %d, want 0", got)
	}
}

func TestSaturatingRoundingDoublingHighMulRandom(t *testing.T) {
	r := newRand(t)
	n := 200000
	if testing.Short() {
		n = 20000
	}
	for i := 0; i < n; i++ {
		a, b := int32(r.Uint32()), int32(r.Uint32())
		switch i % 4 { // also exercise small magnitudes, where ties are frequent
		case 1:
			b = int32(r.Uint32()) >> r.IntN(32)
		case 2:
			a, b = a>>r.IntN(32), b>>r.IntN(32)
		}
		if got, want := SaturatingRoundingDoublingHighMul(a, b), refSRDHM(a, b); got != want {
			t.Fatalf("SRDHM(%d, %d) = %d, exact reference %d", a, b, got, want)
		}
	}
}

func TestRoundingDivideByPOT(t *testing.T) {
	for _, x := range interesting32() {
		for e := 0; e <= 31; e++ {
			if got, want := RoundingDivideByPOT(x, e), refRDBPOT(x, e); got != want {
				t.Fatalf("RoundingDivideByPOT(%d, %d) = %d, exact reference %d", x, e, got, want)
			}
		}
	}
	r := newRand(t)
	for i := 0; i < 100000; i++ {
		x, e := int32(r.Uint32())>>r.IntN(32), r.IntN(32)
		if got, want := RoundingDivideByPOT(x, e), refRDBPOT(x, e); got != want {
			t.Fatalf("RoundingDivideByPOT(%d, %d) = %d, exact reference %d", x, e, got, want)
		}
	}
	// Exhaustive on a small range: every x in [-4096, 4096], every exponent.
	for x := int32(-4096); x <= 4096; x++ {
		for e := 0; e <= 14; e++ {
			if got, want := RoundingDivideByPOT(x, e), refRDBPOT(x, e); got != want {
				t.Fatalf("RoundingDivideByPOT(%d, %d) = %d, exact reference %d", x, e, got, want)
			}
		}
	}
	// Ties go away from zero.
	for _, c := range []struct {
		x    int32
		e    int
		want int32
	}{{5, 1, 3}, {-5, 1, -3}, {3, 1, 2}, {-3, 1, -2}, {1, 1, 1}, {-1, 1, -1}, {-1 << 31, 31, -1}, {1<<31 - 1, 31, 1}, {-(1 << 30), 31, -1}, {1 << 30, 31, 1}, {-(1 << 30) + 1, 31, 0}} {
		if got := RoundingDivideByPOT(c.x, c.e); got != c.want {
			t.Errorf("RoundingDivideByPOT(%d, %d) = %d, want %d", c.x, c.e, got, c.want)
		}
	}
}

func TestRoundingDivideByPOTPanicsOutsideRange(t *testing.T) {
	for _, e := range []int{-1, 32, 64} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RoundingDivideByPOT(1, %d) did not panic", e)
				}
			}()
			RoundingDivideByPOT(1, e)
		}()
	}
}

// exactProduct returns x · M · 2^(Shift−31) as a rational.
func exactProduct(x int32, m Multiplier) *big.Rat {
	r := new(big.Rat).Mul(ratInt(int64(x)), ratInt(int64(m.M)))
	return r.Mul(r, ratPow2(m.Shift-31))
}

// checkMBQM compares MultiplyByQuantizedMultiplier(x, m) with exact rational
// arithmetic: bit-exact against the two-stage rounding TFLite specifies, and
// within one step of the single correctly rounded product (exactly that
// product rounded half up when Shift ≥ 0). It returns whether the result
// equals the correctly rounded (half away from zero) product.
func checkMBQM(t *testing.T, x int32, m Multiplier) bool {
	t.Helper()
	got := MultiplyByQuantizedMultiplier(x, m)
	e := exactProduct(x, m)
	if m.Shift > 0 {
		shifted := int64(x) << uint(m.Shift)
		if shifted > math.MaxInt32 || shifted < math.MinInt32 {
			// Saturated left shift: sign kept, magnitude ≥ 2^30.
			if (x > 0 && got < 1<<30) || (x < 0 && got > -(1<<30)) {
				t.Fatalf("MBQM(%d, %v) = %d: saturated left shift must keep the sign with |result| ≥ 2^30", x, m, got)
			}
			return false
		}
		want := roundHalfUp(e)
		if want.Cmp(big.NewInt(math.MaxInt32)) > 0 { // only for x·2^s = M = ... = -2^31
			want = big.NewInt(math.MaxInt32)
		}
		if int64(got) != want.Int64() {
			t.Fatalf("MBQM(%d, %v) = %d, exact product %s rounded half up = %s", x, m, got, e.FloatString(6), want)
		}
	} else {
		// Two-stage rounding, each stage exact.
		hi := roundHalfUp(new(big.Rat).Mul(new(big.Rat).Mul(ratInt(int64(x)), ratInt(int64(m.M))), ratPow2(-31)))
		two := roundHalfAway(new(big.Rat).Mul(new(big.Rat).SetInt(hi), ratPow2(m.Shift)))
		if int64(got) != two.Int64() {
			t.Fatalf("MBQM(%d, %v) = %d, exact two-stage rounding %s", x, m, got, two)
		}
	}
	checkSingleRounding(t, x, m)
	one := roundHalfAway(e)
	d := new(big.Int).Sub(big.NewInt(int64(got)), one)
	if d.CmpAbs(big.NewInt(1)) > 0 {
		t.Fatalf("MBQM(%d, %v) = %d, more than one step from the exact product %s (rounded %s)", x, m, got, e.FloatString(6), one)
	}
	return d.Sign() == 0
}

// checkSingleRounding checks MultiplyByQuantizedMultiplierSingleRounding(x,
// m) bit-exactly against the exact product rounded half up, saturated.
func checkSingleRounding(t *testing.T, x int32, m Multiplier) {
	t.Helper()
	got := MultiplyByQuantizedMultiplierSingleRounding(x, m)
	e := exactProduct(x, m)
	want := roundHalfUp(e)
	if want.Cmp(big.NewInt(math.MaxInt32)) > 0 {
		want = big.NewInt(math.MaxInt32)
	} else if want.Cmp(big.NewInt(math.MinInt32)) < 0 {
		want = big.NewInt(math.MinInt32)
	}
	if int64(got) != want.Int64() {
		t.Fatalf("MultiplyByQuantizedMultiplierSingleRounding(%d, %v) = %d, exact product %s rounded half up and saturated = %s", x, m, got, e.FloatString(6), want)
	}
}

func randomMultiplier(r interface {
	Uint32() uint32
	IntN(int) int
}) Multiplier {
	return Multiplier{M: int32(1<<30 | r.Uint32()>>2), Shift: MinShift + r.IntN(MaxShift-MinShift+1)}
}

func TestMultiplyByQuantizedMultiplierRandom(t *testing.T) {
	r := newRand(t)
	n := 60000
	if testing.Short() {
		n = 10000
	}
	same := 0
	for i := 0; i < n; i++ {
		m := randomMultiplier(r)
		if i%3 == 0 {
			m.Shift = -r.IntN(12) // the realistic range of convolution multipliers
		}
		x := int32(r.Uint32()) >> r.IntN(32)
		if checkMBQM(t, x, m) {
			same++
		}
	}
	for _, x := range interesting32() {
		for _, m := range []Multiplier{{1 << 30, 0}, {1<<31 - 1, 0}, {1 << 30, -31}, {1<<31 - 1, -31}, {1<<31 - 1, 30}, {1 << 30, 1}, {1<<30 + 12345, -7}, {}} {
			checkMBQM(t, x, m)
		}
	}
	t.Logf("over the whole multiplier domain (ties frequent at large shifts): %d of %d products equal the single correctly rounded (half away) product (%.4f %%); the rest are one step away", same, n, 100*float64(same)/float64(n))
}

// TestMultiplyByQuantizedMultiplierExhaustive covers every accumulator in
// [-2^12, 2^12] for a spread of multipliers, including the extreme shifts.
func TestMultiplyByQuantizedMultiplierExhaustive(t *testing.T) {
	r := newRand(t)
	mults := []Multiplier{{1 << 30, -31}, {1<<31 - 1, -31}, {1 << 30, MaxShift}, {1<<31 - 1, 17}, {1 << 30, 0}, {1<<31 - 1, 0}}
	for len(mults) < 20 {
		m := randomMultiplier(r)
		if len(mults) < 16 {
			m.Shift = -r.IntN(16)
		}
		mults = append(mults, m)
	}
	if testing.Short() {
		mults = mults[:8]
	}
	for _, m := range mults {
		for x := int32(-1 << 12); x <= 1<<12; x++ {
			checkMBQM(t, x, m)
		}
	}
}

func TestQuantizeMultiplier(t *testing.T) {
	cases := []struct {
		real float64
		want Multiplier
	}{
		{0, Multiplier{}},
		{0.5, Multiplier{1 << 30, 0}},
		{1, Multiplier{1 << 30, 1}},
		{0.75, Multiplier{3 << 29, 0}},
		{2, Multiplier{1 << 30, 2}},
		// Mantissa rounds up to 2^31: becomes 2^30 with the shift one higher.
		{1 - 0x1p-40, Multiplier{1 << 30, 1}},
		{0.5 * (1 - 0x1p-33), Multiplier{1 << 30, 0}},
		// Half a unit of the 31-bit mantissa rounds away from zero.
		{0.5 + 0x1p-32, Multiplier{1<<30 + 1, 0}},
		{0.5 + 0x1p-32 - 0x1p-50, Multiplier{1 << 30, 0}},
		// Smallest representable, and below it.
		{0x1p-32, Multiplier{1 << 30, -31}},
		{0x1p-32 * (1 - 0x1p-40), Multiplier{1 << 30, -31}}, // rounds up into range
		{0x1p-33, Multiplier{}},
		{0x1p-33 * 1.999, Multiplier{}},
		{math.SmallestNonzeroFloat64, Multiplier{}},
		// Largest representable.
		{0x1p30 * (1 - 0x1p-30), Multiplier{1<<31 - 2, 30}},
	}
	for _, c := range cases {
		got, err := QuantizeMultiplier(c.real)
		if err != nil || got != c.want {
			t.Errorf("QuantizeMultiplier(%g) = %v, %v; want %v", c.real, got, err, c.want)
		}
		if !got.Valid() {
			t.Errorf("QuantizeMultiplier(%g) = %v is not Valid", c.real, got)
		}
	}
	for _, bad := range []float64{0x1p30, 0x1p30 * (1 - 0x1p-40), 1e10, math.Inf(1)} {
		if _, err := QuantizeMultiplier(bad); bad != math.Inf(1) && !errors.Is(err, ErrMultiplierRange) {
			t.Errorf("QuantizeMultiplier(%g) error = %v, want ErrMultiplierRange", bad, err)
		} else if err == nil {
			t.Errorf("QuantizeMultiplier(%g) succeeded", bad)
		}
	}
	for _, bad := range []float64{-1, -0x1p-40, math.NaN(), math.Inf(-1)} {
		if _, err := QuantizeMultiplier(bad); err == nil {
			t.Errorf("QuantizeMultiplier(%g) succeeded", bad)
		}
	}
}

func TestQuantizeMultiplierRoundTrip(t *testing.T) {
	r := newRand(t)
	for i := 0; i < 100000; i++ {
		// log-uniform over the whole supported range
		real := math.Ldexp(0.5+r.Float64()/2, MinShift+r.IntN(MaxShift-MinShift+1))
		m, err := QuantizeMultiplier(real)
		if err != nil {
			t.Fatalf("QuantizeMultiplier(%g): %v", real, err)
		}
		if !m.Valid() {
			t.Fatalf("QuantizeMultiplier(%g) = %v not Valid", real, m)
		}
		// Half a unit of a mantissa ≥ 2^30: relative error ≤ 2^-31.
		if rel := math.Abs(m.Float64()-real) / real; rel > 0x1p-31 {
			t.Fatalf("QuantizeMultiplier(%g) = %v, relative error %g > 2^-31", real, m, rel)
		}
		// float32 values (every scale in an ONNX file) are represented exactly.
		f := float32(real)
		m32, err := QuantizeMultiplier(float64(f))
		if err != nil || m32.Float64() != float64(f) {
			t.Fatalf("QuantizeMultiplier(float32 %g) = %v, %v: not exact", f, m32, err)
		}
	}
}

func TestRequantize(t *testing.T) {
	r := newRand(t)
	for i := 0; i < 100000; i++ {
		m := randomMultiplier(r)
		if i%2 == 0 {
			m.Shift = -r.IntN(14)
		}
		acc := int32(r.Uint32()) >> r.IntN(32)
		zp := int32(r.IntN(256))
		// Reference: the exact product rounded half up, plus zp, clamped.
		v := roundHalfUp(exactProduct(acc, m)).Int64()
		want := min(max(v+int64(zp), 0), 255)
		if got := Requantize(acc, m, zp, 0, 255); int64(got) != want {
			t.Fatalf("Requantize(%d, %v, %d, 0, 255) = %d, want %d", acc, m, zp, got, want)
		}
		// ReLU as a raised qmin; int8 range.
		zp8 := zp - 128
		want8 := min(max(v+int64(zp8), int64(zp8)), 127)
		if got := Requantize(acc, m, zp8, zp8, 127); int64(got) != want8 {
			t.Fatalf("Requantize(%d, %v, %d, %d, 127) = %d, want %d", acc, m, zp8, zp8, got, want8)
		}
	}
	// No overflow at the extremes: a huge positive product with a positive zero point.
	big := Multiplier{1<<31 - 1, MaxShift}
	if got := Requantize(math.MaxInt32, big, 255, 0, 255); got != 255 {
		t.Errorf("Requantize(MaxInt32, %v, 255, 0, 255) = %d, want 255", big, got)
	}
	if got := Requantize(math.MinInt32, big, -128, -128, 127); got != -128 {
		t.Errorf("Requantize(MinInt32, %v, -128, -128, 127) = %d, want -128", big, got)
	}
}
