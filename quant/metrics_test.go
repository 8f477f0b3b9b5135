package quant

import (
	"math"
	"testing"
)

func TestSQNR(t *testing.T) {
	if v, err := SQNR([]float32{1, 2, 3}, []float32{1, 2, 3}); err != nil || !math.IsInf(v, 1) {
		t.Errorf("SQNR of identical tensors = %g, %v; want +Inf", v, err)
	}
	// Signal 3² + 4² = 25, noise 1: 10·log10(25).
	if v, err := SQNR([]float32{3, 4}, []float32{3, 3}); err != nil || math.Abs(v-10*math.Log10(25)) > 1e-12 {
		t.Errorf("SQNR = %g, %v; want %g", v, err, 10*math.Log10(25))
	}
	if _, err := SQNR([]float32{1}, []float32{1, 2}); err == nil {
		t.Error("SQNR of different lengths succeeded")
	}
	if _, err := SQNR([]float32{0, 0}, []float32{1, 2}); err == nil {
		t.Error("SQNR of a zero reference succeeded")
	}
}

// TestSQNRUniformQuantization checks FakeQuantize and SQNR against the
// textbook value: a full-scale uniform signal quantized to 256 levels has
// noise Δ²/12 and SQNR = 20·log10(255) ≈ 48.13 dB.
func TestSQNRUniformQuantization(t *testing.T) {
	r := newRand(t)
	xs := make([]float32, 1000000)
	for i := range xs {
		xs[i] = float32(2*r.Float64() - 1)
	}
	scale, zp, err := ChooseAsymmetric(-1, 1, Uint8)
	if err != nil {
		t.Fatal(err)
	}
	fq := make([]float32, len(xs))
	FakeQuantize(fq, xs, scale, zp, Uint8)
	got, err := SQNR(xs, fq)
	if err != nil {
		t.Fatal(err)
	}
	want := 20 * math.Log10(255)
	t.Logf("uniform [-1, 1] on uint8: SQNR %.3f dB (theory %.3f dB)", got, want)
	if math.Abs(got-want) > 0.1 {
		t.Errorf("SQNR %.3f dB, theory %.3f dB", got, want)
	}
	// In place.
	FakeQuantize(xs, xs, scale, zp, Uint8)
	for i := range xs {
		if xs[i] != fq[i] {
			t.Fatalf("in-place FakeQuantize differs at %d", i)
		}
	}
}

func TestClippedFraction(t *testing.T) {
	xs := []float32{-2, -1, 0, 1, 2, float32(math.NaN()), 3, 0.5}
	if got := ClippedFraction(xs, -1, 1); got != 4.0/8 {
		t.Errorf("ClippedFraction = %g, want 0.5", got)
	}
	if got := ClippedFraction(nil, 0, 1); got != 0 {
		t.Errorf("ClippedFraction(nil) = %g", got)
	}
}
