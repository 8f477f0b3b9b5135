package runtime

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/runtime/ref"
)

// qdqGen is where testdata/qdq/make_fixtures.sh writes the QDQ fixtures
// (models, inputs, ONNX Runtime's outputs); the tests only read it, so
// they run the same under qemu.
var qdqGen = filepath.Join("..", "testdata", "qdq", "gen")

type qdqManifest struct {
	ORT    map[string]string `json:"ort"`
	Models []string          `json:"models"`
	Inputs []string          `json:"inputs"`
	Ops    []struct {
		Case string `json:"case"`
		Kind string `json:"kind"`
	} `json:"ops"`
}

// fixtures reads the manifest; missing fixtures fail the test (ONNX
// Runtime's outputs are the reference).
func fixtures(t testing.TB) *qdqManifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(qdqGen, "manifest.json"))
	if err != nil {
		t.Fatalf("QDQ fixtures missing (%v): run testdata/qdq/make_fixtures.sh", err)
	}
	var m qdqManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v: rerun testdata/qdq/make_fixtures.sh", filepath.Join(qdqGen, "manifest.json"), err)
	}
	return &m
}

func readTensor(t testing.TB, path string) *onnx.Tensor {
	t.Helper()
	x, err := onnx.ReadTensorFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func readModel(t testing.TB, path string) *onnx.Model {
	t.Helper()
	m, err := onnx.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func refCompile(m *onnx.Model) (interface {
	Run(map[string]*onnx.Tensor) (map[string]*onnx.Tensor, error)
}, error) {
	return ref.Compile(m)
}
