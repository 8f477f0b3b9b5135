package quant

import (
	"math"
	"testing"
)

func TestChooseAsymmetric(t *testing.T) {
	cases := []struct {
		min, max float32
		qt       QType
		scale    float32
		zp       int32
	}{
		{0, 0, Uint8, 1, 0}, {0, 0, Int8, 1, 0}, // degenerate: ORT's scale 1, zero point 0
		{0, 1e-40, Uint8, 1, 0}, // width below the smallest normal float32 / 255
		{0, 255, Uint8, 1, 0}, {0, 255, Int8, 1, -128},
		{-255, 0, Uint8, 1, 255}, {-255, 0, Int8, 1, 127},
		{2, 7, Uint8, float32(7.0 / 255), 0},    // widened to include 0
		{-7, -2, Int8, float32(7.0 / 255), 127}, // widened to include 0
		{-1, 1, Uint8, float32(2.0 / 255), 128}, // 127.5 rounds half to even
		{-1, 1, Int8, float32(2.0 / 255), 0},    // −0.5 rounds half to even
		{-3, 1, Uint8, float32(4.0 / 255), 191}, // 191.25
		{-1, 3, Uint8, float32(4.0 / 255), 64},  // 63.75
		{-1, 3, Int8, float32(4.0 / 255), -64},  // −64.25
	}
	for _, c := range cases {
		s, zp, err := ChooseAsymmetric(c.min, c.max, c.qt)
		if err != nil || s != c.scale || zp != c.zp {
			t.Errorf("ChooseAsymmetric(%g, %g, %v) = %g, %d, %v; want %g, %d", c.min, c.max, c.qt, s, zp, err, c.scale, c.zp)
		}
	}
	for _, bad := range [][2]float32{{1, 0}, {float32(math.NaN()), 1}, {0, float32(math.Inf(1))}, {-3e38, 3e38}} {
		if _, _, err := ChooseAsymmetric(bad[0], bad[1], Uint8); err == nil {
			t.Errorf("ChooseAsymmetric(%g, %g) succeeded", bad[0], bad[1])
		}
	}
	if _, _, err := ChooseAsymmetric(0, 1, 0); err == nil {
		t.Error("ChooseAsymmetric with the zero QType succeeded")
	}
}

// TestChooseAsymmetricProperties checks, on random ranges, what the choice
// must guarantee: zero is exact, the range ends map to the ends of the
// integer range (within the zero point's rounding), and uint8 and int8 use
// the same grid shifted by 128.
func TestChooseAsymmetricProperties(t *testing.T) {
	r := newRand(t)
	for i := 0; i < 100000; i++ {
		lo := -float32(math.Exp(r.Float64()*20 - 10))
		hi := float32(math.Exp(r.Float64()*20 - 10))
		switch i % 4 {
		case 1:
			lo = 0 // post-ReLU
		case 2:
			hi = 0
		}
		for _, qt := range []QType{Uint8, Int8} {
			s, zp, err := ChooseAsymmetric(lo, hi, qt)
			if err != nil {
				t.Fatal(err)
			}
			if zp < qt.Min() || zp > qt.Max() || !(s > 0) {
				t.Fatalf("ChooseAsymmetric(%g, %g, %v) = %g, %d", lo, hi, qt, s, zp)
			}
			if q := Quantize(0, s, zp, qt); q != zp || Dequantize(q, s, zp) != 0 {
				t.Fatalf("ChooseAsymmetric(%g, %g, %v): zero is not exact", lo, hi, qt)
			}
			if q := Quantize(lo, s, zp, qt); q > qt.Min()+1 {
				t.Fatalf("ChooseAsymmetric(%g, %g, %v) = %g, %d: min quantizes to %d", lo, hi, qt, s, zp, q)
			}
			if q := Quantize(hi, s, zp, qt); q < qt.Max()-1 {
				t.Fatalf("ChooseAsymmetric(%g, %g, %v) = %g, %d: max quantizes to %d", lo, hi, qt, s, zp, q)
			}
		}
		su, zu, _ := ChooseAsymmetric(lo, hi, Uint8)
		ss, zs, _ := ChooseAsymmetric(lo, hi, Int8)
		if su != ss || zu-128 != zs {
			t.Fatalf("ChooseAsymmetric(%g, %g): uint8 (%g, %d) and int8 (%g, %d) grids differ", lo, hi, su, zu, ss, zs)
		}
	}
}

func TestChooseSymmetricPerChannel(t *testing.T) {
	w := []float32{
		0.5, -1.27, 0.1, 0, // channel 0: absmax 1.27
		0, 0, 0, 0, // channel 1: all zero
		3e-3, 2e-3, -1e-3, 0, // channel 2
	}
	scales, err := ChooseSymmetricPerChannel(w, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{float32(float64(float32(1.27)) / 127), 1, float32(float64(float32(3e-3)) / 127)}
	for c := range want {
		if scales[c] != want[c] {
			t.Errorf("scale[%d] = %g, want %g", c, scales[c], want[c])
		}
	}
	q, err := QuantizeSymmetricPerChannel(w, scales)
	if err != nil {
		t.Fatal(err)
	}
	wantQ := []int8{50, -127, 10, 0, 0, 0, 0, 0, 127, 85, -42, 0}
	for i := range wantQ {
		if q[i] != wantQ[i] {
			t.Errorf("q[%d] = %d, want %d (weights %v, scales %v)", i, q[i], wantQ[i], w, scales)
		}
	}
	for _, bad := range []struct {
		w []float32
		c int
	}{{w, 5}, {w, 0}, {nil, 1}, {[]float32{1, float32(math.NaN())}, 1}, {[]float32{float32(math.Inf(-1))}, 1}} {
		if _, err := ChooseSymmetricPerChannel(bad.w, bad.c); err == nil {
			t.Errorf("ChooseSymmetricPerChannel(%v, %d) succeeded", bad.w, bad.c)
		}
	}
	if _, err := QuantizeSymmetricPerChannel(w, []float32{1, 0, 1}); err == nil {
		t.Error("QuantizeSymmetricPerChannel with a zero scale succeeded")
	}
}

// TestSymmetricWeightsRange checks on random weights that every channel uses
// [−127, 127], reaches ±127 at its largest weight and never produces −128.
func TestSymmetricWeightsRange(t *testing.T) {
	r := newRand(t)
	const channels, per = 64, 3 * 3 * 32
	w := make([]float32, channels*per)
	for i := range w {
		w[i] = float32(r.NormFloat64() * math.Exp(r.Float64()*8-6))
	}
	scales, err := ChooseSymmetricPerChannel(w, channels)
	if err != nil {
		t.Fatal(err)
	}
	q, err := QuantizeSymmetricPerChannel(w, scales)
	if err != nil {
		t.Fatal(err)
	}
	for c := range channels {
		peak := int8(0)
		for _, v := range q[c*per : (c+1)*per] {
			if v < WeightQmin {
				t.Fatalf("channel %d: %d below %d", c, v, WeightQmin)
			}
			peak = max(peak, v, -v)
		}
		if peak != 127 {
			t.Errorf("channel %d: largest |q| = %d, want 127", c, peak)
		}
	}
}

func TestQuantizeBias(t *testing.T) {
	// Scale 1 · 0.5 = 0.5: 1.25 → 2.5 → 2 (half to even), 1.75 → 3.5 → 4.
	q, sat, err := QuantizeBias([]float32{1.25, 1.75, -1.25, 0, 1e10, -1e10}, 1, []float32{0.5})
	if err != nil {
		t.Fatal(err)
	}
	want := []int32{2, 4, -2, 0, math.MaxInt32, math.MinInt32}
	for i := range want {
		if q[i] != want[i] {
			t.Errorf("q[%d] = %d, want %d", i, q[i], want[i])
		}
	}
	if sat != 2 {
		t.Errorf("saturated = %d, want 2", sat)
	}
	// Per-channel: the scale is the float32 product inScale · wScale[c].
	in, ws := float32(0.0123), []float32{0.004, 0.0007}
	q, sat, err = QuantizeBias([]float32{0.37, -0.21}, in, ws)
	if err != nil || sat != 0 {
		t.Fatal(err, sat)
	}
	for c, b := range []float32{0.37, -0.21} {
		s := in * ws[c]
		if want := int32(math.RoundToEven(float64(b / s))); q[c] != want {
			t.Errorf("bias %d: %d, want %d", c, q[c], want)
		}
		// Dequantized back, within half a step.
		if d := math.Abs(float64(Dequantize(q[c], s, 0)) - float64(b)); d > float64(s)/2*1.0001 {
			t.Errorf("bias %d: dequantized error %g > half a step %g", c, d, s/2)
		}
	}
	if _, _, err := QuantizeBias([]float32{1, 2}, 1, []float32{1, 2, 3}); err == nil {
		t.Error("QuantizeBias with 3 scales for 2 values succeeded")
	}
	if _, _, err := QuantizeBias([]float32{1}, 0, []float32{1}); err == nil {
		t.Error("QuantizeBias with a zero input scale succeeded")
	}
	if _, _, err := QuantizeBias([]float32{float32(math.NaN())}, 1, []float32{1}); err == nil {
		t.Error("QuantizeBias of NaN succeeded")
	}
}
