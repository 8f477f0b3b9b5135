package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

// pairViolations counts neighbour pairs over PairSumLimit in the three
// orders LimitPairSums documents, computed independently: the weights of
// each channel rearranged tap-major, then adjacent even/odd positions;
// input channels 2i, 2i+1 of every tap; and adjacent even/odd positions of
// every kernel row of kw taps.
func pairViolations(q []int8, channels, c, taps, kw int) int {
	per := c * taps
	bad := 0
	for o := range channels {
		hwc := make([]int, per) // tap-major copy
		for ch := range c {
			for t := range taps {
				hwc[t*c+ch] = int(q[o*per+ch*taps+t])
			}
		}
		abs := func(v int) int { return max(v, -v) }
		for k := 0; k+1 < per; k += 2 {
			if abs(hwc[k])+abs(hwc[k+1]) > PairSumLimit {
				bad++
			}
		}
		for t := range taps {
			for ch := 0; ch+1 < c; ch += 2 {
				if abs(hwc[t*c+ch])+abs(hwc[t*c+ch+1]) > PairSumLimit {
					bad++
				}
			}
		}
		for r := 0; r < taps/kw; r++ {
			row := hwc[r*kw*c : (r+1)*kw*c]
			for j := 0; j+1 < len(row); j += 2 {
				if abs(row[j])+abs(row[j+1]) > PairSumLimit {
					bad++
				}
			}
		}
	}
	return bad
}

func sqErr(w []float32, q []int8, s float32) float64 {
	var e float64
	for i, v := range w {
		d := float64(v) - float64(q[i])*float64(s)
		e += d * d
	}
	return e
}

// Pair-safe weights: on random layers (input channels odd and even, 1×1
// and 3×3 taps, Gaussian and uniform weights, outliers), no neighbour pair
// exceeds the limit in either order; each channel's squared error is at
// most that of 7-bit weights (absmax/64, one of the candidates) and, when
// plain 8-bit weights already satisfy the limit, at most theirs (absmax/127
// is a candidate too; a coarser step can round a small channel better).
func TestQuantizePairSafe(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 1))
	for trial := range 300 {
		channels, c := 1+r.IntN(9), 1+r.IntN(11)
		shape := [][2]int{{1, 1}, {9, 3}, {4, 2}, {49, 7}, {7, 7}}[r.IntN(5)] // taps, kw
		taps, kw := shape[0], shape[1]
		per := c * taps
		w := make([]float32, channels*per)
		for i := range w {
			switch trial % 3 {
			case 0:
				w[i] = float32(r.NormFloat64())
			case 1:
				w[i] = float32(2*r.Float64() - 1)
			default:
				w[i] = float32(r.NormFloat64() * 0.1)
				if r.IntN(20) == 0 {
					w[i] *= 30
				}
			}
		}
		q, scales, _, err := QuantizePairSafe(w, channels, c, taps, kw)
		if err != nil {
			t.Fatal(err)
		}
		if n := pairViolations(q, channels, c, taps, kw); n != 0 {
			t.Fatalf("trial %d (%d×%d×%d, rows of %d taps): %d pairs over the limit", trial, channels, c, taps, kw, n)
		}
		plain, _ := ChooseSymmetricPerChannel(w, channels)
		plainQ, _ := QuantizeSymmetricPerChannel(w, plain)
		for o := range channels {
			wc, qc := w[o*per:(o+1)*per], q[o*per:(o+1)*per]
			got := sqErr(wc, qc, scales[o])
			var absmax float64
			for _, v := range wc {
				absmax = max(absmax, math.Abs(float64(v)))
			}
			s7 := float32(absmax / 64)
			q7, _ := QuantizeSymmetricPerChannel(wc, []float32{s7})
			if e7 := sqErr(wc, q7, s7); got > e7*(1+1e-9) {
				t.Fatalf("trial %d channel %d: error %g above 7-bit weights' %g", trial, o, got, e7)
			}
			if pairViolations(plainQ[o*per:(o+1)*per], 1, c, taps, kw) == 0 {
				if e8 := sqErr(wc, plainQ[o*per:(o+1)*per], plain[o]); got > e8 {
					t.Fatalf("trial %d channel %d: 8-bit weights fit the limit (error %g) but pair-safe ones have error %g", trial, o, e8, got)
				}
			}
		}
	}
}

// LimitPairSums moves only weights of violating pairs, each toward zero.
func TestLimitPairSumsMovesTowardZero(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for range 200 {
		c := 1 + r.IntN(8)
		shape := [][2]int{{1, 1}, {9, 3}, {49, 7}}[r.IntN(3)] // taps, kw
		taps, kw := shape[0], shape[1]
		per := c * taps
		w := make([]float32, 2*per)
		for i := range w {
			w[i] = float32(2*r.Float64() - 1)
		}
		scales, _ := ChooseSymmetricPerChannel(w, 2)
		q0, _ := QuantizeSymmetricPerChannel(w, scales)
		q := append([]int8(nil), q0...)
		moved := LimitPairSums(q, w, scales, c, taps, kw)
		steps := 0
		for i := range q {
			if abs8(q[i]) > abs8(q0[i]) || (q[i] != 0 && (q[i] > 0) != (q0[i] > 0)) {
				t.Fatalf("weight %d went from %d to %d: not toward zero", i, q0[i], q[i])
			}
			steps += abs8(q0[i]) - abs8(q[i])
		}
		if steps != moved {
			t.Fatalf("reported %d moves, counted %d steps", moved, steps)
		}
		if pairViolations(q, 2, c, taps, kw) != 0 {
			t.Fatal("pairs over the limit remain")
		}
		if pairViolations(q0, 2, c, taps, kw) == 0 && moved != 0 {
			t.Fatalf("%d weights moved in a layer that fit the limit", moved)
		}
	}
}
