package quant

import (
	"fmt"
	"math"
)

// DefaultBins is the histogram resolution TensorRT's entropy calibration
// uses: 2048 bins across the largest magnitude.
const DefaultBins = 2048

// Histogram collects the values of one activation tensor over a calibration
// set, streaming: exact minimum and maximum, a count of exact zeros, and a
// histogram of x on a grid anchored at 0 (bin k of the positive side holds
// values in [k·w, (k+1)·w), bin k of the negative side values whose
// magnitude is in that interval), so that the histogram of |x| is the sum of
// the two sides and zero is always a bin edge.
//
// The width w is chosen from the first batch with a non-zero value so that
// its largest magnitude falls at bin Bins; when a later value needs a bin at
// or beyond 2·Bins, w doubles and pairs of bins merge, an exact re-binning
// because the grid is anchored at 0 (the same growth TensorRT's and ONNX
// Runtime's HistogramCalibrater perform by appending bins, without their
// unbounded bin count). So the larger side always spans between Bins and
// 2·Bins bins. Results depend on the order of batches only through the
// starting width; the same batches in the same order give identical
// histograms on every architecture.
//
// NaN and ±Inf are not collected; NonFinite counts them.
type Histogram struct {
	bins      int
	width     float64
	pos, neg  []uint64
	zeros     uint64
	count     uint64
	nonFinite uint64
	min, max  float64
}

// NewHistogram returns an empty histogram of the given resolution, between
// 256 and 2^20 bins (DefaultBins is TensorRT's 2048).
func NewHistogram(bins int) (*Histogram, error) {
	if bins < 256 || bins > 1<<20 {
		return nil, fmt.Errorf("quant: histogram of %d bins: must be in [256, %d]", bins, 1<<20)
	}
	return &Histogram{bins: bins, min: math.Inf(1), max: math.Inf(-1)}, nil
}

// Add collects a batch of values.
func (h *Histogram) Add(xs []float32) {
	if h.width == 0 {
		var amax float64
		for _, x := range xs {
			if a := math.Abs(float64(x)); a > amax && !math.IsInf(a, 0) {
				amax = a
			}
		}
		if amax > 0 {
			h.width = amax / float64(h.bins)
		}
	}
	limit := float64(2 * h.bins)
	for _, x := range xs {
		v := float64(x)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			h.nonFinite++
			continue
		}
		h.count++
		h.min, h.max = math.Min(h.min, v), math.Max(h.max, v)
		if v == 0 {
			h.zeros++
			continue
		}
		a := math.Abs(v)
		q := a / h.width
		for q >= limit {
			h.grow()
			q = a / h.width
		}
		k := int(q)
		if v > 0 {
			h.pos = extend(h.pos, k)
			h.pos[k]++
		} else {
			h.neg = extend(h.neg, k)
			h.neg[k]++
		}
	}
}

// extend returns s grown to at least k+1 elements.
func extend(s []uint64, k int) []uint64 {
	if k < len(s) {
		return s
	}
	if k < cap(s) {
		return s[:k+1]
	}
	t := make([]uint64, k+1, max(2*cap(s), k+1))
	copy(t, s)
	return t
}

// grow doubles the bin width, merging bins 2k and 2k+1 into bin k.
func (h *Histogram) grow() {
	h.width *= 2
	for _, s := range []*[]uint64{&h.pos, &h.neg} {
		old := *s
		n := (len(old) + 1) / 2
		for k := range n {
			v := old[2*k]
			if 2*k+1 < len(old) {
				v += old[2*k+1]
			}
			old[k] = v
		}
		clear(old[n:])
		*s = old[:n]
	}
}

// Count returns the number of finite values collected, zeros included.
func (h *Histogram) Count() uint64 { return h.count }

// NonFinite returns the number of NaN and ±Inf values Add skipped.
func (h *Histogram) NonFinite() uint64 { return h.nonFinite }

// Zeros returns the number of exact zeros collected.
func (h *Histogram) Zeros() uint64 { return h.zeros }

// Min returns the smallest value collected (+Inf when empty).
func (h *Histogram) Min() float64 { return h.min }

// Max returns the largest value collected (−Inf when empty).
func (h *Histogram) Max() float64 { return h.max }

// BinWidth returns the current bin width w (0 until a non-zero value).
func (h *Histogram) BinWidth() float64 { return h.width }

// Bins returns the resolution the histogram was made with.
func (h *Histogram) Bins() int { return h.bins }

// Positive returns a copy of the positive side: element k counts the values
// in [k·w, (k+1)·w), zero excluded.
func (h *Histogram) Positive() []uint64 { return append([]uint64(nil), h.pos...) }

// Negative returns a copy of the negative side: element k counts the values
// in (−(k+1)·w, −k·w], zero excluded.
func (h *Histogram) Negative() []uint64 { return append([]uint64(nil), h.neg...) }
