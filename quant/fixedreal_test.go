package quant

import (
	"math"
	"testing"
)

// TestFixedPointVsRealArithmetic compares the board's fixed-point
// requantization (Requantize with RequantMultiplier) with ONNX Runtime's
// real-arithmetic requantization (RequantizeReal with RequantScale) on
// realistic ResNet scales: per-tensor activation scales 0.005…0.05, per-channel
// weight scales 2e-4…2e-2, output scales 0.01…0.1 (so real multipliers of
// about 1e-5…0.1), and accumulators spreading the outputs over tens to
// hundreds of steps. The output range is left unclamped so that saturation
// cannot hide differences. At least 99.9 % must be identical and none more
// than one step apart. The double rounding of gemmlowp/TFLite
// (MultiplyByQuantizedMultiplier) is measured alongside, for the record.
func TestFixedPointVsRealArithmetic(t *testing.T) {
	r := newRand(t)
	logUniform := func(lo, hi float64) float32 {
		return float32(math.Exp(math.Log(lo) + r.Float64()*(math.Log(hi)-math.Log(lo))))
	}
	nScales, perScale := 4000, 500
	if testing.Short() {
		nScales = 1000
	}
	const wide = 1 << 24
	var n, same, doubleSame, doubleOff int
	for range nScales {
		xs, ws, ys := logUniform(0.005, 0.05), logUniform(2e-4, 2e-2), logUniform(0.01, 0.1)
		s := RequantScale(xs, ws, ys)
		m, err := RequantMultiplier(xs, ws, ys)
		if err != nil {
			t.Fatalf("RequantMultiplier(%g, %g, %g): %v", xs, ws, ys, err)
		}
		spread := 20 + 280*r.Float64()
		zp := int32(r.IntN(256))
		for range perScale {
			acc := int32(math.Max(math.Min(r.NormFloat64()*spread/float64(s), 1<<30), -1<<30))
			real := RequantizeReal(acc, s, zp, -wide, wide)
			fixed := Requantize(acc, m, zp, -wide, wide)
			n++
			switch d := fixed - real; {
			case d == 0:
				same++
			case d != 1 && d != -1:
				t.Fatalf("acc %d, scales x=%g w=%g y=%g (multiplier %v): fixed point %d, real arithmetic %d", acc, xs, ws, ys, m, fixed, real)
			}
			switch d := MultiplyByQuantizedMultiplier(acc, m) + zp - real; {
			case d == 0:
				doubleSame++
			case d == 1 || d == -1:
				doubleOff++
			default:
				t.Fatalf("acc %d, multiplier %v: TFLite double rounding %d steps from real arithmetic", acc, m, d)
			}
		}
	}
	share := float64(same) / float64(n)
	t.Logf("Requantize (single rounding) vs real arithmetic: %d of %d identical (%.4f %%), the rest one step apart", same, n, 100*share)
	t.Logf("for the record, TFLite double rounding vs real arithmetic: %.4f %% identical, %d one step apart",
		100*float64(doubleSame)/float64(n), doubleOff)
	if share < 0.999 {
		t.Errorf("only %.4f %% identical, want at least 99.9 %%", 100*share)
	}
}
