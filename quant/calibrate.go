package quant

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrEmptyHistogram is returned when a range is asked of a histogram that
// has collected no finite value.
var ErrEmptyHistogram = errors.New("quant: histogram has no values")

type methodKind uint8

const (
	minMaxKind methodKind = iota + 1
	percentileKind
	entropyKind
	mseKind
)

// Method is a rule that turns a calibration Histogram into the real range
// [lo, hi] to quantize a tensor to (then ChooseAsymmetric). Every method
// returns a range that contains 0, and lo = 0 for a tensor that never went
// negative (post-ReLU), hi = 0 for one that never went positive. Results are
// float32 (the precision of the ONNX scales they become) and identical on
// every architecture.
type Method struct {
	kind methodKind
	p    float64
}

var (
	// MinMax is the observed range: [min(min, 0), max(max, 0)].
	MinMax = Method{kind: minMaxKind}

	// Entropy is TensorRT's KL-divergence calibration (Migacz, "8-bit
	// Inference with TensorRT", GTC 2017), on the histogram of |x|
	// (exact zeros left out):
	//
	//   - for each candidate clip i from L bins up to all M bins, the
	//     reference P is bins 0…i−1 with every count beyond the clip added to
	//     bin i−1; the candidate Q merges bins 0…i−1 into L levels (level g
	//     takes bins ⌊g·i/L⌋ … ⌊(g+1)·i/L⌋−1), then spreads each level's
	//     count evenly over its bins that are non-zero in P (zero bins stay
	//     zero); both are normalized and KL(P‖Q) = Σ p ln(p/q) is computed,
	//     +∞ when some p > 0 has q = 0;
	//   - the clip with the smallest divergence wins (the largest one on a
	//     tie), and the threshold is its bin edge t = i·w.
	//
	// TensorRT's slide states the threshold as (i + 0.5)·w, half a bin
	// higher; ONNX Runtime and NVIDIA's pytorch-quantization use the edge,
	// as here (the difference is below 1/4096 of the largest magnitude).
	// TensorRT merges bins into levels of i/128 with the remainder in the
	// last level; the even split here avoids one oversized level.
	//
	// L, the number of quantization levels the KL models, is what the tensor
	// gets: 128 per sign for a tensor with both signs (symmetric int8, or an
	// asymmetric 8-bit range of 256 levels around 0), 256 for a one-signed
	// tensor (post-ReLU on uint8 [0, 255], or int8 with zero point −128), as
	// pytorch-quantization does for unsigned tensors. ONNX Runtime's
	// calibrate.py instead histograms x over [−T, T] and merges the whole
	// window into 128 levels, so for a post-ReLU tensor its KL sees 64
	// positive levels where uint8 provides 256: its clip is tuned for a
	// quantizer four times coarser than the one used.
	//
	// Exact zeros are left out because 0 is exactly representable (the zero
	// point): they carry no quantization error, but their spike in bin 0
	// (half of a post-ReLU tensor) would dominate the divergence;
	// pytorch-quantization hides it by copying bin 1 into bin 0.
	//
	// The range is [max(min, −t), min(max, t)].
	Entropy = Method{kind: entropyKind}

	// MSE picks the clip that minimizes the expected squared error of
	// actually quantizing the tensor, clipping error included. Each
	// histogram bin is taken as uniform (the outermost bins end at the
	// observed min and max) and the error integral of the real 8-bit
	// quantizer (ChooseAsymmetric's scale and zero point, rounding to
	// nearest, saturation) is computed in closed form over it. The
	// candidates are the bin edges t = k·w up to the largest magnitude: a
	// one-signed tensor is clipped to [0, t] (or [−t, 0]), a tensor with both
	// signs to [min, max] scaled by t/max(|min|, |max|), which keeps its
	// asymmetry. Zeros are exact and add nothing.
	MSE = Method{kind: mseKind}
)

// Percentile clips the tails of the distribution: a one-signed tensor to the
// p-th percentile of its values (p = 99.99 keeps all but one in 10^4), a
// tensor with both signs to the (100−p)/2 and (100+p)/2 percentiles (as ONNX
// Runtime's asymmetric percentile calibration). Percentiles are read from
// the histogram, interpolating linearly inside a bin, so they are exact to
// within one bin width. p must be in (0, 100].
func Percentile(p float64) Method { return Method{kind: percentileKind, p: p} }

// String returns the method's name as ParseMethod accepts it.
func (m Method) String() string {
	switch m.kind {
	case minMaxKind:
		return "minmax"
	case percentileKind:
		return "percentile:" + strconv.FormatFloat(m.p, 'g', -1, 64)
	case entropyKind:
		return "entropy"
	case mseKind:
		return "mse"
	}
	return "invalid"
}

// ParseMethod parses "minmax", "entropy", "mse" or "percentile:P" (for
// example "percentile:99.99"; plain "percentile" means 99.99).
func ParseMethod(s string) (Method, error) {
	switch s {
	case "minmax":
		return MinMax, nil
	case "entropy":
		return Entropy, nil
	case "mse":
		return MSE, nil
	case "percentile":
		return Percentile(99.99), nil
	}
	if rest, ok := strings.CutPrefix(s, "percentile:"); ok {
		p, err := strconv.ParseFloat(rest, 64)
		if err == nil && p > 0 && p <= 100 {
			return Percentile(p), nil
		}
	}
	return Method{}, fmt.Errorf("quant: calibration method %q: want minmax, entropy, mse or percentile:P with 0 < P <= 100", s)
}

// Range returns the real range [lo, hi] the method chooses for the values
// collected in h.
func (m Method) Range(h *Histogram) (lo, hi float32, err error) {
	if h.count == 0 {
		return 0, 0, ErrEmptyHistogram
	}
	var l, u float64
	switch m.kind {
	case minMaxKind:
		l, u = h.min, h.max
	case percentileKind:
		if !(m.p > 0 && m.p <= 100) {
			return 0, 0, fmt.Errorf("quant: percentile %g: must be in (0, 100]", m.p)
		}
		l, u = h.percentileRange(m.p)
	case entropyKind:
		l, u = h.entropyRange()
	case mseKind:
		l, u = h.mseRange()
	default:
		return 0, 0, errors.New("quant: invalid calibration Method")
	}
	return float32(math.Min(l, 0)), float32(math.Max(u, 0)), nil
}

// oneSigned reports whether every collected value has the same sign (or is 0).
func (h *Histogram) oneSigned() bool { return h.min >= 0 || h.max <= 0 }

// quantile returns the value below which a fraction q of the collected
// values lie, interpolating linearly inside the bin that holds it; exact
// zeros are a point mass at 0. Clamped to [min, max].
func (h *Histogram) quantile(q float64) float64 {
	target := float64(q * float64(h.count))
	var c float64
	w := h.width
	for k := len(h.neg) - 1; k >= 0; k-- {
		n := float64(h.neg[k])
		if n > 0 && c+n >= target {
			frac := (target - c) / n
			return clampTo(float64(-float64(k+1)*w)+float64(frac*w), h.min, h.max)
		}
		c += n
	}
	if z := float64(h.zeros); z > 0 && c+z >= target {
		return 0
	} else {
		c += z
	}
	for k, cnt := range h.pos {
		n := float64(cnt)
		if n > 0 && c+n >= target {
			frac := (target - c) / n
			return clampTo(float64(float64(k)*w)+float64(frac*w), h.min, h.max)
		}
		c += n
	}
	return h.max
}

func clampTo(v, lo, hi float64) float64 { return math.Min(math.Max(v, lo), hi) }

func (h *Histogram) percentileRange(p float64) (lo, hi float64) {
	switch {
	case h.min >= 0:
		return 0, h.quantile(p / 100)
	case h.max <= 0:
		return h.quantile(1 - p/100), 0
	}
	tail := (1 - p/100) / 2
	return h.quantile(tail), h.quantile(1 - tail)
}

// absHistogram returns the histogram of |x| (zeros excluded).
func (h *Histogram) absHistogram() []uint64 {
	a := make([]uint64, max(len(h.pos), len(h.neg)))
	for k, v := range h.pos {
		a[k] += v
	}
	for k, v := range h.neg {
		a[k] += v
	}
	return a
}

// entropyLevels returns the number of levels the KL divergence models.
func (h *Histogram) entropyLevels() int {
	if h.oneSigned() {
		return 256
	}
	return 128
}

func (h *Histogram) entropyRange() (lo, hi float64) {
	a := h.absHistogram()
	i := entropyClip(a, h.entropyLevels())
	t := float64(i) * h.width
	return math.Max(h.min, -t), math.Min(h.max, t)
}

// entropyClip returns the number of bins i (levels ≤ i ≤ len(a)) whose clip
// minimizes KL(P‖Q) as documented at Entropy; len(a) when there are no more
// bins than levels or no non-zero value.
//
// It evaluates each candidate in O(levels) from prefix sums: with S the
// total count, P the clipped reference and Q_g = sum_g/nz_g on the non-zero
// bins of level g,
//
//	KL = (1/S)·Σ_j P_j ln P_j − ln S − Σ_g (PS_g/S)·ln(sum_g/(nz_g·S_in))
//
// where PS_g is the part of P in level g and S_in = Σ_{j<i} a_j.
func entropyClip(a []uint64, levels int) int {
	m := len(a)
	if m <= levels {
		return m
	}
	prefix := make([]uint64, m+1) // Σ a[0:j]
	nonzero := make([]int, m+1)   // #{a[0:j] > 0}
	plnp := make([]float64, m+1)  // Σ a ln a over a[0:j]
	for j, v := range a {
		prefix[j+1] = prefix[j] + v
		nonzero[j+1] = nonzero[j]
		plnp[j+1] = plnp[j]
		if v > 0 {
			nonzero[j+1]++
			f := float64(v)
			plnp[j+1] = plnp[j] + float64(f*detLog(f))
		}
	}
	total := prefix[m]
	if total == 0 {
		return m
	}
	S := float64(total)
	lnS := detLog(S)
	best, bestKL := m, math.Inf(1)
	for i := levels; i <= m; i++ {
		outliers := total - prefix[i]
		last := a[i-1] + outliers // P[i-1]
		sIn := float64(prefix[i])
		if sIn == 0 {
			continue
		}
		// Σ P ln P: bins 0…i−2 as they are, bin i−1 with the outliers.
		sumPlnP := plnp[i-1]
		if last > 0 {
			f := float64(last)
			sumPlnP += float64(f * detLog(f))
		}
		kl := sumPlnP/S - lnS
		for g := range levels {
			start, end := g*i/levels, (g+1)*i/levels
			sum := float64(prefix[end] - prefix[start])
			nz := nonzero[end] - nonzero[start]
			ps := sum
			if end == i {
				ps += float64(outliers)
				if a[i-1] == 0 && outliers > 0 {
					nz++ // P[i−1] > 0 although a[i−1] = 0
				}
			}
			if ps == 0 {
				continue
			}
			if sum == 0 {
				kl = math.Inf(1)
				break
			}
			kl -= float64(float64(ps/S) * detLog(sum/(float64(nz)*sIn)))
		}
		if kl <= bestKL {
			best, bestKL = i, kl
		}
	}
	return best
}

// quantError returns ∫ (u − f(u))² du over [ua, ub] (ua ≤ ub), where f is
// the quantizer in units of its scale: round to nearest, saturated to the
// levels lo…hi (integers, lo < hi).
func quantError(ua, ub, lo, hi float64) float64 {
	var sum float64
	// Below lo + 1/2 everything maps to lo.
	if edge := lo + 0.5; ua < edge {
		x := math.Min(ub, edge)
		sum += cubeDiff(ua-lo, x-lo) / 3
		ua = x
	}
	// From hi − 1/2 everything maps to hi.
	if edge := hi - 0.5; ub > edge && ub > ua {
		x := math.Max(ua, edge)
		sum += cubeDiff(x-hi, ub-hi) / 3
		ub = x
	}
	if ub <= ua {
		return sum
	}
	ja, jb := math.Floor(ua+0.5), math.Floor(ub+0.5) // nearest levels
	if ja == jb {
		return sum + cubeDiff(ua-ja, ub-ja)/3
	}
	// Partial period above ua, whole periods (1/12 each), partial below ub.
	sum += cubeDiff(ua-ja, 0.5) / 3
	sum += float64((jb - ja - 1) / 12)
	sum += cubeDiff(-0.5, ub-jb) / 3
	return sum
}

// cubeDiff returns b³ − a³ as (b − a)(b² + ab + a²), without cancellation
// and with every product rounded (no fused multiply-add).
func cubeDiff(a, b float64) float64 {
	return float64((b - a) * (float64(b*b) + float64(a*b) + float64(a*a)))
}

// expectedMSE returns the expected squared quantization error (per value)
// of quantizing the histogram's values to the 8-bit range [lo, hi].
func (h *Histogram) expectedMSE(lo, hi float32) float64 {
	scale, zp, err := ChooseAsymmetric(lo, hi, Uint8)
	if err != nil {
		return math.Inf(1)
	}
	s := float64(scale)
	qlo, qhi := float64(-zp), float64(255-zp) // levels in units of scale
	w := h.width
	var e float64
	side := func(bins []uint64, sign float64) {
		for k, c := range bins {
			if c == 0 {
				continue
			}
			a, b := float64(k)*w, float64(k+1)*w
			if sign > 0 {
				b = math.Min(b, h.max)
			} else {
				b = math.Min(b, -h.min)
			}
			if b <= a { // a single value at the bin's lower edge
				a = b
			}
			ua, ub := sign*a/s, sign*b/s
			if ua > ub {
				ua, ub = ub, ua
			}
			var mean float64
			if ub-ua <= 0 {
				d := ua - math.Min(math.Max(math.Round(ua), qlo), qhi)
				mean = float64(d * d)
			} else {
				mean = quantError(ua, ub, qlo, qhi) / (ub - ua)
			}
			e += float64(float64(c) * mean)
		}
	}
	side(h.pos, 1)
	side(h.neg, -1)
	return float64(e*float64(s*s)) / float64(h.count)
}

// mseCandidate returns the range of MSE candidate t.
func (h *Histogram) mseCandidate(t float64) (lo, hi float32) {
	switch {
	case h.min >= 0:
		return 0, float32(math.Min(t, h.max))
	case h.max <= 0:
		return float32(math.Max(-t, h.min)), 0
	}
	amax := math.Max(-h.min, h.max)
	r := math.Min(t/amax, 1)
	return float32(float64(h.min * r)), float32(float64(h.max * r))
}

func (h *Histogram) mseRange() (lo, hi float64) {
	if h.width == 0 { // only zeros
		return 0, 0
	}
	amax := math.Max(-h.min, h.max)
	n := int(math.Ceil(amax / h.width))
	bestLo, bestHi := float32(h.min), float32(h.max)
	best := h.expectedMSE(h.mseCandidate(amax))
	for k := n; k >= 1; k-- {
		l, u := h.mseCandidate(float64(k) * h.width)
		if e := h.expectedMSE(l, u); e < best {
			best, bestLo, bestHi = e, l, u
		}
	}
	return float64(bestLo), float64(bestHi)
}
