package quant

import "math"

// detLog returns the natural logarithm of x > 0 (finite), computed the same
// way on every architecture: math.Log is assembly on amd64 and Go elsewhere,
// where the compiler may fuse its polynomial into FMA instructions, so the
// two can differ in the last bit. Calibration compares divergences computed
// with it, and a model converted on an arm64 workstation must come out
// identical to one converted on amd64.
//
// Method: x = f · 2^e with f in [√½, √2), ln f = 2·atanh(s) with
// s = (f−1)/(f+1), |s| ≤ 0.1716, summed as s + s³/3 + s⁵/5 + … until the
// terms vanish (at most 22 terms); every product is rounded explicitly so
// that no fused multiply-add can form. Accurate to a few ulps.
func detLog(x float64) float64 {
	f, e := math.Frexp(x)
	if f < math.Sqrt2/2 {
		f *= 2
		e--
	}
	s := (f - 1) / (f + 1)
	s2 := float64(s * s)
	term, sum := s, 0.0
	for k := 1.0; k < 64; k += 2 {
		t := term / k
		if next := sum + t; next == sum {
			break
		} else {
			sum = next
		}
		term = float64(term * s2)
	}
	return float64(2*sum) + float64(float64(e)*math.Ln2)
}
