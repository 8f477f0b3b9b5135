package ref

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
)

// Fixtures made by testdata/torchvision/make_fixtures.py with Debian's
// torch: torchvision ResNets exported by torch.onnx.export with torch's
// logits, and single-operator models with outputs computed by
// torch.nn.functional.
var torchGen = filepath.Join("..", "..", "testdata", "torchvision", "gen")

type torchManifest struct {
	Ops []struct {
		Case, Doc string
	}
	Models map[string]struct {
		Ops   []string
		Cases []struct {
			Case        string
			Shape       []int64
			MaxAbsLogit float64 `json:"max_abs_logit"`
		}
	}
}

func loadTorchManifest(t testing.TB) *torchManifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(torchGen, "manifest.json"))
	if err != nil {
		t.Fatalf("missing fixtures: run testdata/torchvision/make_fixtures.sh (%v)", err)
	}
	var m torchManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("testdata/torchvision/gen/manifest.json: %v", err)
	}
	if len(m.Ops) == 0 || len(m.Models) == 0 {
		t.Fatalf("testdata/torchvision/gen/manifest.json lists no fixtures: run testdata/torchvision/make_fixtures.sh")
	}
	return &m
}

// TestTorchOps checks operator edge cases that the ONNX conformance data
// does not cover (ceil_mode with pads, asymmetric pads with and without
// count_include_pad, grouped and dilated 1-D/2-D/3-D convolution, SAME
// padding with odd totals, ...) against torch.
func TestTorchOps(t *testing.T) {
	m := loadTorchManifest(t)
	for _, c := range m.Ops {
		err := runConformanceCase(confCase{name: "ops/" + c.Case, dir: filepath.Join(torchGen, "ops", c.Case)}, 1e-4, 1e-5)
		if err != nil {
			t.Errorf("%s (%s): %v", c.Case, c.Doc, err)
			continue
		}
		t.Logf("PASS %s: %s", c.Case, c.Doc)
	}
}

// TestTorchResNets runs torchvision ResNet-18 and ResNet-50 exported by
// torch.onnx.export (opset 13, dynamic N, H, W) at several sizes and
// compares the logits with torch's forward pass: the largest difference
// must be at most 1e-4 of the largest logit. -short runs the 97x131 and
// batch-2 cases only.
func TestTorchResNets(t *testing.T) {
	m := loadTorchManifest(t)
	for _, name := range []string{"resnet18", "resnet18_bn", "resnet18_view", "resnet50"} {
		mm, ok := m.Models[name]
		if !ok {
			t.Errorf("manifest has no model %s: rerun testdata/torchvision/make_fixtures.sh", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(torchGen, "models", name)
			model, err := onnx.ReadFile(filepath.Join(dir, "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			p, err := Compile(model)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range mm.Cases {
				// -short (the qemu runs of scripts/test-cross.sh) keeps
				// the two small sizes of every model.
				if testing.Short() && c.Case != "97x131" && c.Case != "b2_64x80" {
					continue
				}
				ratio, err := torchCase(p, filepath.Join(dir, c.Case))
				if err != nil {
					t.Errorf("%s: %v", c.Case, err)
					continue
				}
				t.Logf("%s %s %v: max|diff| / max|logit| = %.2e", name, c.Case, c.Shape, ratio)
				if ratio > 1e-4 {
					t.Errorf("%s %s: max|diff| / max|logit| = %.2e, want <= 1e-4", name, c.Case, ratio)
				}
			}
		})
	}
}

// torchCase runs one fixture and returns max|got - want| / max|want|.
func torchCase(p *Program, dir string) (float64, error) {
	x, err := onnx.ReadTensorFile(filepath.Join(dir, "input_0.pb"))
	if err != nil {
		return 0, err
	}
	want, err := onnx.ReadTensorFile(filepath.Join(dir, "output_0.pb"))
	if err != nil {
		return 0, err
	}
	out, err := p.Run(map[string]*onnx.Tensor{p.InputNames()[0]: x})
	if err != nil {
		return 0, err
	}
	got := out[p.OutputNames()[0]]
	if !equalDims(got.Dims, want.Dims) {
		return 0, fmt.Errorf("dims %v, want %v", got.Dims, want.Dims)
	}
	var diff, top float64
	for i, w := range want.F32 {
		d := math.Abs(float64(got.F32[i]) - float64(w))
		if math.IsNaN(d) {
			return 0, fmt.Errorf("logit %d is %v, torch has %v", i, got.F32[i], w)
		}
		diff = max(diff, d)
		top = max(top, math.Abs(float64(w)))
	}
	if top == 0 {
		return 0, fmt.Errorf("torch's logits are all zero: a useless fixture")
	}
	return diff / top, nil
}
