package convert

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
)

// gen is where testdata/make_fixtures.sh writes the fixtures too big to
// commit (a torchvision ResNet-50 checkpoint); tiny holds the small ResNets
// exported by torch.onnx.export with torch's logits (make_fixtures.py
// --tiny), committed so that every machine tests the same bytes.
var (
	gen  = filepath.Join("testdata", "gen")
	tiny = filepath.Join("testdata", "tiny")
)

const python = "/usr/bin/python3"

// fixture returns the path of a fixture: a committed small model (tiny_*)
// or a generated one; a missing one fails the test with the script to run.
func fixture(t testing.TB, name string) string {
	t.Helper()
	if strings.HasPrefix(name, "tiny_") {
		return otherFixture(t, filepath.Join(tiny, name), "/usr/bin/python3 convert/testdata/make_fixtures.py --tiny convert/testdata/tiny")
	}
	if _, err := os.Stat(filepath.Join(gen, "manifest.json")); err != nil {
		t.Fatalf("convert fixtures missing: run convert/testdata/make_fixtures.sh (%v)", err)
	}
	p := filepath.Join(gen, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("fixture %s missing: rerun convert/testdata/make_fixtures.sh", p)
	}
	return p
}

// otherFixture returns a fixture written by another package's script.
func otherFixture(t testing.TB, path, script string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s missing: run %s", path, script)
	}
	return path
}

func readModel(t testing.TB, path string) *onnx.Model {
	t.Helper()
	m, err := onnx.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readF32(t testing.TB, path string) []float32 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(raw)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return v
}

// synthetic returns n images c×h×w of smooth random patterns plus noise,
// in the range of normalized inputs (about −2…2), reproducible from seed.
func synthetic(n, c, h, w int, seed uint64) TensorCalibration {
	r := rand.New(rand.NewPCG(seed, 3))
	var out TensorCalibration
	for range n {
		v := make([]float32, c*h*w)
		fx, fy, ph := 0.05+0.3*r.Float64(), 0.05+0.3*r.Float64(), 6*r.Float64()
		amp := 0.5 + r.Float64()
		for ch := range c {
			off := 0.5 * r.NormFloat64()
			for y := range h {
				for x := range w {
					v[(ch*h+y)*w+x] = float32(amp*math.Sin(fx*float64(x)+ph+float64(ch))*math.Cos(fy*float64(y)) + off + 0.3*r.NormFloat64())
				}
			}
		}
		out = append(out, onnx.NewFloat("input", []int64{1, int64(c), int64(h), int64(w)}, v))
	}
	return out
}

// variedImages returns n images c×h×w drawn like the fixtures' inputs
// (images() in make_fixtures.py): per image μ + σ·N(0, 1) with μ uniform
// in (−1, 1) and σ in (0.5, 1.5); reproducible from seed.
func variedImages(n, c, h, w int, seed uint64) TensorCalibration {
	r := rand.New(rand.NewPCG(seed, 4))
	var out TensorCalibration
	for range n {
		v := make([]float32, c*h*w)
		mu, sigma := 2*r.Float64()-1, 0.5+r.Float64()
		for i := range v {
			v[i] = float32(mu + sigma*r.NormFloat64())
		}
		out = append(out, onnx.NewFloat("input", []int64{1, int64(c), int64(h), int64(w)}, v))
	}
	return out
}

// maxAbs returns the largest |v|.
func maxAbs(v []float32) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(float64(x)))
	}
	return m
}

// sqnrDB is 10·log10(Σ ref² / Σ (ref − got)²).
func sqnrDB(ref, got []float32) float64 {
	var s, n float64
	for i, r := range ref {
		d := float64(r) - float64(got[i])
		s += float64(r) * float64(r)
		n += d * d
	}
	return 10 * math.Log10(s/n)
}

// argmaxRows returns the index of the largest value of each row of k.
func argmaxRows(v []float32, k int) []int {
	out := make([]int, len(v)/k)
	for i := range out {
		row := v[i*k : (i+1)*k]
		best := 0
		for j, x := range row {
			if x > row[best] {
				best = j
			}
		}
		out[i] = best
	}
	return out
}
