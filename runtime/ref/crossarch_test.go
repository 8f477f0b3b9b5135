package ref

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
)

// crossArchDigest is the SHA-256 of the output bits of digestModel, computed
// on amd64.
//
// Regression test, not a correctness test: the interpreter must give
// bit-identical float results on amd64, arm64 and 32-bit arm (no fused
// multiply-adds, the same summation order everywhere), and scripts/
// test-cross.sh runs this test under qemu on those. Correctness is checked
// against torch, ONNX Runtime and ONNX's conformance data elsewhere.
// Changing any float kernel's order of operations changes this digest: check
// the other tests, then update it.
const crossArchDigest = "091b5b46929d831ee8dd4f7c09317319953c8dc766ba17e3f02926a305b0ec03"

// digestModel is a small seeded network using every float kernel family:
// strided, grouped and pointwise convolution, BatchNormalization, max and
// average pooling, Add, Gemm, MatMul and Softmax.
func digestModel() (*onnx.Model, *onnx.Tensor) {
	rng := rand.New(rand.NewSource(4242))
	rt := func(name string, dims ...int64) *onnx.Tensor {
		t := onnx.NewFloat(name, dims, make([]float32, prod(dims)))
		for i := range t.F32 {
			t.F32[i] = float32(rng.NormFloat64() * 0.5)
		}
		return t
	}
	pos := func(t *onnx.Tensor) *onnx.Tensor {
		for i := range t.F32 {
			t.F32[i] = float32(math.Abs(float64(t.F32[i]))) + 0.5
		}
		return t
	}
	inits := []*onnx.Tensor{
		rt("w1", 16, 3, 3, 3), rt("b1", 16),
		rt("s", 16), rt("bb", 16), rt("mu", 16), pos(rt("var", 16)),
		rt("w2", 16, 4, 3, 3),
		rt("w3", 16, 16, 1, 1), rt("b3", 16),
		rt("fw", 10, 16), rt("fb", 10), rt("mm", 10, 10),
	}
	at := onnx.AttrIs
	m := &onnx.Model{
		IRVersion:    8,
		OpsetImports: []onnx.OpsetID{{Version: 13}},
		Graph: &onnx.Graph{
			Initializers: inits,
			Inputs:       []*onnx.ValueInfo{onnx.TensorInfo("x", onnx.Float, "N", 3, "H", "W")},
			Outputs:      []*onnx.ValueInfo{onnx.TensorInfo("y", onnx.Float, "N", 10)},
			Nodes: []*onnx.Node{
				{OpType: "Conv", Inputs: []string{"x", "w1", "b1"}, Outputs: []string{"c1"}, Attrs: []*onnx.Attribute{at("strides", 2, 2), at("pads", 1, 1, 1, 1)}},
				{OpType: "BatchNormalization", Inputs: []string{"c1", "s", "bb", "mu", "var"}, Outputs: []string{"n1"}},
				{OpType: "Relu", Inputs: []string{"n1"}, Outputs: []string{"r1"}},
				{OpType: "MaxPool", Inputs: []string{"r1"}, Outputs: []string{"p1"}, Attrs: []*onnx.Attribute{at("kernel_shape", 3, 3), at("strides", 2, 2), at("pads", 1, 1, 1, 1)}},
				{OpType: "Conv", Inputs: []string{"p1", "w2"}, Outputs: []string{"c2"}, Attrs: []*onnx.Attribute{at("pads", 1, 1, 1, 1), onnx.AttrI("group", 4)}},
				{OpType: "Conv", Inputs: []string{"c2", "w3", "b3"}, Outputs: []string{"c3"}},
				{OpType: "Add", Inputs: []string{"c3", "p1"}, Outputs: []string{"a"}},
				{OpType: "AveragePool", Inputs: []string{"a"}, Outputs: []string{"ap"}, Attrs: []*onnx.Attribute{at("kernel_shape", 2, 2), at("strides", 2, 2), onnx.AttrI("ceil_mode", 1)}},
				{OpType: "GlobalAveragePool", Inputs: []string{"ap"}, Outputs: []string{"g"}},
				{OpType: "Flatten", Inputs: []string{"g"}, Outputs: []string{"f"}},
				{OpType: "Gemm", Inputs: []string{"f", "fw", "fb"}, Outputs: []string{"l"}, Attrs: []*onnx.Attribute{onnx.AttrI("transB", 1), onnx.AttrF("alpha", 0.05)}},
				{OpType: "MatMul", Inputs: []string{"l", "mm"}, Outputs: []string{"l2"}},
				{OpType: "Softmax", Inputs: []string{"l2"}, Outputs: []string{"y"}},
			},
		},
	}
	return m, rt("x", 2, 3, 37, 45)
}

func TestCrossArchDigest(t *testing.T) {
	m, x := digestModel()
	p, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Run(map[string]*onnx.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	for _, v := range out["y"].F32 {
		binary.Write(h, binary.LittleEndian, math.Float32bits(v))
	}
	got := fmt.Sprintf("%x", h.Sum(nil))
	if got != crossArchDigest {
		t.Errorf("output digest %s, want %s (amd64); first outputs %v", got, crossArchDigest, out["y"].F32[:4])
	}
}
