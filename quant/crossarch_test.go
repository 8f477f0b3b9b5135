package quant

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"testing"
)

// crossArchDigest is a regression snapshot of this package's own output, not
// a correctness reference: the FNV-64a hash of the bits of every calibration
// range, scale, zero point and multiplier computed by
// TestCalibrationSameBitsOnEveryArch. It was recorded on amd64 and checked
// on arm64 (qemu, cortex-a72) and on arm GOARM=6 (qemu); it guards the
// promise that a model converted on any workstation gets the same numbers.
// Change it only in a commit that explains why those numbers changed.
const crossArchDigest = 0xbfb6d69eb5745d11

// TestCalibrationSameBitsOnEveryArch runs the float side of the package
// (histograms, every Method, ChooseAsymmetric, multipliers, Add parameters)
// on data generated with integer and exactly rounded float operations only
// (no math.Exp/Log, which differ between architectures) and compares a hash
// of all results with crossArchDigest.
func TestCalibrationSameBitsOnEveryArch(t *testing.T) {
	r := rand.New(rand.NewPCG(2024, 6))
	uniform := func() float64 { return float64(r.Uint64()>>11) / (1 << 53) }
	gauss := func() float64 { // Irwin–Hall: sum of 12 uniforms − 6
		s := 0.0
		for range 12 {
			s += uniform()
		}
		return s - 6
	}
	gens := []func() float64{
		gauss,
		func() float64 { return math.Max(0, gauss()) },
		func() float64 { // Laplace via the portable logarithm
			u := uniform()
			if u == 0 {
				return 0
			}
			if r.IntN(2) == 0 {
				return detLog(u)
			}
			return -detLog(u)
		},
		func() float64 {
			if r.IntN(5000) == 0 {
				return 40 * uniform()
			}
			return math.Max(0, gauss()) * uniform()
		},
		func() float64 { return 3*uniform() - 0.5 },
	}
	hash := fnv.New64a()
	put := func(vs ...uint64) {
		var b [8]byte
		for _, v := range vs {
			binary.LittleEndian.PutUint64(b[:], v)
			hash.Write(b[:])
		}
	}
	f32 := func(f float32) uint64 { return uint64(math.Float32bits(f)) }
	for gi, gen := range gens {
		h, _ := NewHistogram(DefaultBins)
		xs := make([]float32, 1<<14)
		for range 8 {
			for i := range xs {
				xs[i] = float32(gen())
			}
			h.Add(xs)
		}
		for _, m := range []Method{MinMax, Percentile(99.99), Percentile(99.9), Entropy, MSE} {
			lo, hi, err := m.Range(h)
			if err != nil {
				t.Fatal(err)
			}
			s, zp, err := ChooseAsymmetric(lo, hi, Uint8)
			if err != nil {
				t.Fatal(err)
			}
			put(f32(lo), f32(hi), f32(s), uint64(zp))
			t.Logf("distribution %d, %v: [%g, %g] scale %g zp %d", gi, m, lo, hi, s, zp)
		}
		// Intermediate values too, so that a last-bit difference shows even
		// where it does not change a choice.
		for k := 1; k <= 32; k++ {
			l, u := h.mseCandidate(float64(k) / 32 * math.Max(-h.Min(), h.Max()))
			put(math.Float64bits(h.expectedMSE(l, u)), math.Float64bits(h.quantile(float64(k)/33)))
		}
		put(math.Float64bits(detLog(float64(h.Count()) * h.BinWidth())))
		w := make([]float32, 64*27)
		for i := range w {
			w[i] = float32(gauss() * 0.05)
		}
		scales, err := ChooseSymmetricPerChannel(w, 64)
		if err != nil {
			t.Fatal(err)
		}
		for c, ws := range scales {
			m, err := RequantMultiplier(0.0173, ws, 0.0411)
			if err != nil {
				t.Fatal(err)
			}
			put(f32(ws), uint64(m.M), uint64(m.Shift))
			if c < 4 {
				p, err := NewAddParams(0.0173, 3, ws, 131, 0.0411, 127, Uint8)
				if err != nil {
					t.Fatal(err)
				}
				put(uint64(p.AMul.M), uint64(p.AMul.Shift), uint64(p.BMul.M), uint64(p.BMul.Shift), uint64(p.OutMul.M), uint64(p.OutMul.Shift))
				pm, err := AveragePoolMultiplier(ws, 0.0411, 49+c)
				if err != nil {
					t.Fatal(err)
				}
				put(uint64(pm.M), uint64(pm.Shift))
			}
		}
	}
	if got := hash.Sum64(); got != crossArchDigest {
		t.Errorf("digest %#x, recorded %#x: the float side of quant no longer gives the recorded bits (or gives different bits on this architecture)", got, uint64(crossArchDigest))
	}
}
