package quant

import (
	"math"
	"slices"
	"testing"
)

// TestHistogramRebinningIsExact feeds values whose range grows by orders of
// magnitude over many batches (forcing repeated re-binning) and checks the
// result against a histogram built directly, in the test, at the final bin
// width: merging pairs of bins on a grid anchored at 0 must lose nothing.
func TestHistogramRebinningIsExact(t *testing.T) {
	r := newRand(t)
	h, err := NewHistogram(256)
	if err != nil {
		t.Fatal(err)
	}
	var all []float32
	for b := range 40 {
		batch := make([]float32, 1000)
		spread := math.Pow(1.6, float64(b)) * 1e-3
		for i := range batch {
			switch {
			case i%97 == 0:
				batch[i] = 0
			case i%2 == 0:
				batch[i] = float32(r.NormFloat64() * spread)
			default:
				batch[i] = float32(r.ExpFloat64() * spread)
			}
		}
		h.Add(batch)
		all = append(all, batch...)
	}
	h.Add([]float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))})

	w := h.BinWidth()
	pos, neg := h.Positive(), h.Negative()
	wantPos, wantNeg := make([]uint64, len(pos)), make([]uint64, len(neg))
	var zeros uint64
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range all {
		v := float64(x)
		lo, hi = math.Min(lo, v), math.Max(hi, v)
		if v == 0 {
			zeros++
			continue
		}
		k := int(math.Floor(math.Abs(v) / w))
		if v > 0 {
			if k >= len(wantPos) {
				t.Fatalf("value %g needs positive bin %d, histogram has %d", v, k, len(pos))
			}
			wantPos[k]++
		} else {
			if k >= len(wantNeg) {
				t.Fatalf("value %g needs negative bin %d, histogram has %d", v, k, len(neg))
			}
			wantNeg[k]++
		}
	}
	if !slices.Equal(pos, wantPos) || !slices.Equal(neg, wantNeg) {
		t.Fatalf("re-binned histogram differs from a direct histogram at width %g", w)
	}
	if h.Count() != uint64(len(all)) || h.Zeros() != zeros || h.NonFinite() != 3 {
		t.Errorf("count %d zeros %d nonfinite %d; want %d %d 3", h.Count(), h.Zeros(), h.NonFinite(), len(all), zeros)
	}
	if h.Min() != lo || h.Max() != hi {
		t.Errorf("min/max %g %g, want %g %g", h.Min(), h.Max(), lo, hi)
	}
	// Resolution: the larger side spans between Bins and 2·Bins bins.
	if n := max(len(pos), len(neg)); n <= h.Bins() || n > 2*h.Bins() {
		t.Errorf("larger side has %d bins, want in (%d, %d]", n, h.Bins(), 2*h.Bins())
	}
}

func TestHistogramEdges(t *testing.T) {
	if _, err := NewHistogram(255); err == nil {
		t.Error("NewHistogram(255) succeeded")
	}
	h, _ := NewHistogram(DefaultBins)
	if _, _, err := MinMax.Range(h); err != ErrEmptyHistogram {
		t.Errorf("Range of an empty histogram: %v", err)
	}
	h.Add([]float32{0, 0, float32(math.NaN())})
	for _, m := range []Method{MinMax, Percentile(99.9), Entropy, MSE} {
		lo, hi, err := m.Range(h)
		if err != nil || lo != 0 || hi != 0 {
			t.Errorf("%v of an all-zero histogram: %g, %g, %v", m, lo, hi, err)
		}
	}
	// Order of batches: the same batch split differently gives the same
	// histogram once the first batch sets the same width.
	a, _ := NewHistogram(300)
	b, _ := NewHistogram(300)
	xs := []float32{5, -3, 0.25, 0, 1e-3, 4.99, -5}
	a.Add(xs)
	b.Add(xs[:3])
	b.Add(xs[3:])
	if a.BinWidth() != b.BinWidth() || !slices.Equal(a.Positive(), b.Positive()) || !slices.Equal(a.Negative(), b.Negative()) {
		t.Error("same values, same first batch extremes: histograms differ")
	}
}
