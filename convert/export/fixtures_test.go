package export_test

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
)

// The fixtures come from testdata/families/make_fixtures.py (Debian's torch);
// the tests run its wrapper, which returns at once when they are up to date.

type fixtureTest struct {
	Input  string `json:"input"`
	Output string `json:"output"`
	Shape  []int  `json:"shape"`
}

type fixture struct {
	Name           string        `json:"name"`
	File           string        `json:"file"`
	Family         string        `json:"family"`
	Arch           string        `json:"arch"`
	ReaderFormat   string        `json:"reader_format"`
	Container      string        `json:"container"`
	StrippedPrefix string        `json:"stripped_prefix"`
	DType          string        `json:"dtype"`
	InChannels     int           `json:"in_channels"`
	Classes        int           `json:"classes"`
	Params         int64         `json:"params"`
	MACs224        int64         `json:"macs224"`
	Labels         []string      `json:"labels"`
	Tests          []fixtureTest `json:"tests"`
	// TorchF32VsF64 is how far torch's float32 logits are from its float64
	// logits on the first input (the fixture's conditioning).
	TorchF32VsF64 float64 `json:"torch_f32_vs_f64"`
}

type badFixture struct {
	File string `json:"file"`
	Why  string `json:"why"`
	Exit int    `json:"exit"`
}

type manifest struct {
	Torch    string       `json:"torch"`
	Fixtures []fixture    `json:"fixtures"`
	Bad      []badFixture `json:"bad"`
}

var (
	fixturesOnce sync.Once
	fixturesMan  *manifest
	fixturesErr  error
)

// genDir is testdata/families/gen from this package.
func genDir() string {
	return filepath.Join(repoRoot(), "testdata", "families", "gen")
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// loadFixtures makes the fixtures (if needed) and reads the manifest.
func loadFixtures(t testing.TB) *manifest {
	t.Helper()
	fixturesOnce.Do(func() {
		script := filepath.Join(repoRoot(), "testdata", "families", "make_fixtures.sh")
		cmd := exec.Command(script)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fixturesErr = err
			return
		}
		b, err := os.ReadFile(filepath.Join(genDir(), "manifest.json"))
		if err != nil {
			fixturesErr = err
			return
		}
		var m manifest
		fixturesErr = json.Unmarshal(b, &m)
		fixturesMan = &m
	})
	if fixturesErr != nil {
		t.Fatalf("fixtures (testdata/families/make_fixtures.sh): %v", fixturesErr)
	}
	return fixturesMan
}

func readTensor(t testing.TB, name string) *onnx.Tensor {
	t.Helper()
	x, err := onnx.ReadTensorFile(filepath.Join(genDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// diffRatio returns max |got - want| / max |want|.
func diffRatio(t testing.TB, got, want *onnx.Tensor) float64 {
	t.Helper()
	if len(got.Dims) != len(want.Dims) {
		t.Fatalf("output dims %v, torch %v", got.Dims, want.Dims)
	}
	for i := range got.Dims {
		if got.Dims[i] != want.Dims[i] {
			t.Fatalf("output dims %v, torch %v", got.Dims, want.Dims)
		}
	}
	g, err := got.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	w := want.F32
	var maxDiff, maxAbs float64
	for i := range w {
		d := math.Abs(float64(g[i]) - float64(w[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		maxDiff = max(maxDiff, d)
		maxAbs = max(maxAbs, math.Abs(float64(w[i])))
	}
	if maxAbs == 0 {
		t.Fatalf("torch's logits are all zero: the fixture cannot test anything")
	}
	return maxDiff / maxAbs
}
