package quant

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// distribution is a synthetic activation tensor for the calibration tests.
type distribution struct {
	name string
	gen  func(r *rand.Rand) float64
}

func distributions() []distribution {
	return []distribution{
		{"gaussian", func(r *rand.Rand) float64 { return r.NormFloat64() }},
		{"laplace", func(r *rand.Rand) float64 {
			if r.IntN(2) == 0 {
				return -r.ExpFloat64()
			}
			return r.ExpFloat64()
		}},
		{"uniform", func(r *rand.Rand) float64 { return 2*r.Float64() - 1 }},
		{"relu-gaussian", func(r *rand.Rand) float64 { return math.Max(0, r.NormFloat64()) }},
		{"gaussian-outliers", func(r *rand.Rand) float64 {
			if r.IntN(10000) == 0 {
				return 60 * (r.Float64() - 0.5) * 2
			}
			return r.NormFloat64()
		}},
		{"relu-laplace-outliers", func(r *rand.Rand) float64 {
			if r.IntN(20000) == 0 {
				return 80 * r.Float64()
			}
			return math.Max(0, r.NormFloat64()+0.3) * r.ExpFloat64()
		}},
		{"skewed", func(r *rand.Rand) float64 { return r.ExpFloat64() - 0.7 }}, // both signs, asymmetric
	}
}

// sample draws n float32 values and collects them in batches.
func sample(t *testing.T, d distribution, n int) ([]float32, *Histogram) {
	t.Helper()
	r := newRand(t)
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(d.gen(r))
	}
	h, err := NewHistogram(DefaultBins)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 4096 {
		h.Add(xs[i:min(i+4096, n)])
	}
	return xs, h
}

func sampleSize() int {
	if testing.Short() {
		return 200000
	}
	return 1000000
}

func mustRange(t *testing.T, m Method, h *Histogram) (float32, float32) {
	t.Helper()
	lo, hi, err := m.Range(h)
	if err != nil {
		t.Fatalf("%v: %v", m, err)
	}
	if lo > 0 || hi < 0 {
		t.Fatalf("%v: range [%g, %g] does not contain 0", m, lo, hi)
	}
	if h.Min() >= 0 && lo != 0 {
		t.Fatalf("%v: non-negative tensor got lo = %g", m, lo)
	}
	return lo, hi
}

func TestMinMax(t *testing.T) {
	for _, d := range distributions() {
		xs, h := sample(t, d, sampleSize())
		lo, hi := mustRange(t, MinMax, h)
		if wantLo, wantHi := min(slices.Min(xs), 0), max(slices.Max(xs), 0); lo != wantLo || hi != wantHi {
			t.Errorf("%s: MinMax = [%g, %g], extremes [%g, %g]", d.name, lo, hi, wantLo, wantHi)
		}
	}
}

// sortedQuantile is the sort-based percentile: the value of rank ⌈q·n⌉.
func sortedQuantile(sorted []float32, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return float64(sorted[min(max(i, 0), len(sorted)-1)])
}

func TestPercentile(t *testing.T) {
	for _, d := range distributions() {
		xs, h := sample(t, d, sampleSize())
		sorted := slices.Clone(xs)
		slices.Sort(sorted)
		w := h.BinWidth()
		for _, p := range []float64{99, 99.9, 99.99, 99.999, 100} {
			lo, hi := mustRange(t, Percentile(p), h)
			var wantLo, wantHi float64
			switch {
			case h.Min() >= 0:
				wantHi = sortedQuantile(sorted, p/100)
			case h.Max() <= 0:
				wantLo = sortedQuantile(sorted, 1-p/100)
			default:
				tail := (1 - p/100) / 2
				wantLo, wantHi = math.Min(sortedQuantile(sorted, tail), 0), math.Max(sortedQuantile(sorted, 1-tail), 0)
			}
			// Within one bin width, plus the float32 rounding of the
			// result (one ulp at its magnitude: the bin edge is computed
			// in float64 and returned as float32).
			tol := func(v float32) float64 {
				return w + float64(math.Nextafter32(float32(math.Abs(float64(v))), float32(math.Inf(1)))-float32(math.Abs(float64(v))))
			}
			if math.Abs(float64(lo)-wantLo) > tol(lo) || math.Abs(float64(hi)-wantHi) > tol(hi) {
				t.Errorf("%s: Percentile(%g) = [%g, %g], sorted percentiles [%g, %g], bin width %g", d.name, p, lo, hi, wantLo, wantHi, w)
			}
		}
	}
	if _, _, err := Percentile(0).Range(&Histogram{count: 1}); err == nil {
		t.Error("Percentile(0) succeeded")
	}
	if _, _, err := Percentile(100.5).Range(&Histogram{count: 1}); err == nil {
		t.Error("Percentile(100.5) succeeded")
	}
}

// measuredMSE fake-quantizes xs to [lo, hi] (uint8, ChooseAsymmetric) and
// returns the mean squared error.
func measuredMSE(t *testing.T, xs []float32, lo, hi float32) float64 {
	scale, zp, err := ChooseAsymmetric(lo, hi, Uint8)
	if err != nil {
		t.Fatal(err)
	}
	var e float64
	for _, x := range xs {
		d := float64(x) - float64(Dequantize(Quantize(x, scale, zp, Uint8), scale, zp))
		e += d * d
	}
	return e / float64(len(xs))
}

// TestMSE checks that MSE's choice minimizes the measured error of actual
// fake quantization of the samples: the test searches the clips by brute
// force (every 16th bin edge, then every bin edge around the best) with the
// samples themselves, independently of the histogram's error model.
func TestMSE(t *testing.T) {
	for _, d := range distributions() {
		xs, h := sample(t, d, sampleSize()/4)
		lo, hi := mustRange(t, MSE, h)
		w := h.BinWidth()
		amax := math.Max(-h.Min(), h.Max())
		measure := func(k int) float64 {
			l, u := h.mseCandidate(float64(k) * w)
			return measuredMSE(t, xs, l, u)
		}
		n := int(math.Ceil(amax / w))
		bestK, best := n, math.Inf(1)
		for k := n; k >= 1; k -= 16 {
			if e := measure(k); e < best {
				bestK, best = k, e
			}
		}
		for k := min(bestK+16, n); k >= max(bestK-16, 1); k-- {
			if e := measure(k); e < best {
				bestK, best = k, e
			}
		}
		bfLo, bfHi := h.mseCandidate(float64(bestK) * w)
		got := measuredMSE(t, xs, lo, hi)
		// How well the histogram's error model (uniform within each bin)
		// predicts the measured error, at both clips.
		errGot := math.Abs(h.expectedMSE(lo, hi) - got)
		errBF := math.Abs(h.expectedMSE(bfLo, bfHi) - best)
		t.Logf("%s: MSE chose [%g, %g] (measured %.6g, model off by %.2g); brute force over the samples [%g, %g] (%.6g, model off by %.2g); MinMax measured %.6g; bin width %.3g",
			d.name, lo, hi, got, errGot, bfLo, bfHi, best, errBF,
			measuredMSE(t, xs, float32(math.Min(h.Min(), 0)), float32(math.Max(h.Max(), 0))), w)
		if errGot > 0.01*got {
			t.Errorf("%s: the histogram model's MSE is %.3g off the measured %.6g (> 1 %%)", d.name, errGot, got)
		}
		// MSE minimizes the model, so its measured error can exceed the
		// brute-force minimum only by the model's errors at the two clips;
		// and where the error curve is not flat, the clips are within a bin.
		tGot := math.Max(-float64(lo), float64(hi))
		tBF := math.Max(-float64(bfLo), float64(bfHi))
		if math.Abs(tGot-tBF) > w*(1+1e-6) && got-best > errGot+errBF {
			t.Errorf("%s: MSE clip t = %g (measured %.6g), brute-force clip t = %g (%.6g): %.1f bins apart and worse by more than the model error",
				d.name, tGot, got, tBF, best, math.Abs(tGot-tBF)/w)
		}
	}
}

// bruteForceKL computes KL(P‖Q) for clipping the |x| histogram a at i bins
// with the given number of levels, directly from the definition (TensorRT's
// procedure as documented at Entropy), bin by bin, with math.Log.
func bruteForceKL(a []uint64, i, levels int) float64 {
	P := make([]float64, i)
	for j := range i {
		P[j] = float64(a[j])
	}
	for j := i; j < len(a); j++ {
		P[i-1] += float64(a[j])
	}
	Q := make([]float64, i)
	for g := range levels {
		start, end := g*i/levels, (g+1)*i/levels
		var sum float64
		nz := 0
		for j := start; j < end; j++ {
			sum += float64(a[j])
			if P[j] > 0 {
				nz++
			}
		}
		for j := start; j < end; j++ {
			if P[j] > 0 {
				Q[j] = sum / float64(nz)
			}
		}
	}
	var sp, sq float64
	for j := range i {
		sp += P[j]
		sq += Q[j]
	}
	var kl float64
	for j := range i {
		if P[j] == 0 {
			continue
		}
		if Q[j] == 0 {
			return math.Inf(1)
		}
		p, q := P[j]/sp, Q[j]/sq
		kl += p * math.Log(p/q)
	}
	return kl
}

// TestEntropy checks Entropy's threshold against a brute-force KL search
// written separately here over the same histogram, and its behaviour on
// distributions whose answer is known in kind.
func TestEntropy(t *testing.T) {
	for _, d := range distributions() {
		xs, h := sample(t, d, sampleSize())
		lo, hi := mustRange(t, Entropy, h)
		pos, neg := h.Positive(), h.Negative()
		a := make([]uint64, max(len(pos), len(neg)))
		for k := range a {
			if k < len(pos) {
				a[k] += pos[k]
			}
			if k < len(neg) {
				a[k] += neg[k]
			}
		}
		levels := 128
		if h.Min() >= 0 || h.Max() <= 0 {
			levels = 256
		}
		bestI, best := len(a), math.Inf(1)
		kls := make([]float64, len(a)+1)
		for i := levels; i <= len(a); i++ {
			kls[i] = bruteForceKL(a, i, levels)
			if kls[i] <= best {
				bestI, best = i, kls[i]
			}
		}
		w := h.BinWidth()
		tBF := float64(bestI) * w
		wantLo, wantHi := float32(math.Min(math.Max(h.Min(), -tBF), 0)), float32(math.Max(math.Min(h.Max(), tBF), 0))
		// The clip Entropy chose, as a bin count.
		tGot := math.Max(-float64(lo), float64(hi))
		iGot := int(math.Round(tGot / w))
		if lo != wantLo || hi != wantHi {
			// Accept only a numerical near-tie of the two divergences.
			if iGot < levels || iGot > len(a) || math.Abs(kls[iGot]-best) > 1e-9*math.Abs(best) {
				t.Errorf("%s: Entropy = [%g, %g] (bin %d), brute-force KL puts the clip at bin %d: [%g, %g]", d.name, lo, hi, iGot, bestI, wantLo, wantHi)
			}
		}
		t.Logf("%s: Entropy [%g, %g] clips %.4f %% (KL %.4g at bin %d of %d); MinMax [%g, %g]",
			d.name, lo, hi, 100*ClippedFraction(xs, lo, hi), best, bestI, len(a), h.Min(), h.Max())
		switch d.name {
		case "uniform":
			// Nothing to gain from clipping a uniform distribution.
			if hi < float32(0.98*h.Max()) || lo > float32(0.98*h.Min()) {
				t.Errorf("uniform: Entropy clipped to [%g, %g] of [%g, %g]", lo, hi, h.Min(), h.Max())
			}
		case "gaussian-outliers", "relu-laplace-outliers":
			// Rare far outliers must be clipped away.
			if float64(hi) > 0.5*h.Max() {
				t.Errorf("%s: Entropy kept the outliers: hi %g of max %g", d.name, hi, h.Max())
			}
		}
	}
}

func TestParseMethod(t *testing.T) {
	for s, want := range map[string]Method{"minmax": MinMax, "entropy": Entropy, "mse": MSE, "percentile": Percentile(99.99), "percentile:99.9": Percentile(99.9), "percentile:100": Percentile(100)} {
		m, err := ParseMethod(s)
		if err != nil || m != want {
			t.Errorf("ParseMethod(%q) = %v, %v; want %v", s, m, err, want)
		}
		if s != "percentile" {
			if back, err := ParseMethod(m.String()); err != nil || back != m {
				t.Errorf("ParseMethod(%q.String() = %q) = %v, %v", s, m.String(), back, err)
			}
		}
	}
	for _, s := range []string{"", "max", "percentile:0", "percentile:101", "percentile:x", "percentile:NaN"} {
		if _, err := ParseMethod(s); err == nil {
			t.Errorf("ParseMethod(%q) succeeded", s)
		}
	}
}
