package ref

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
)

// FuzzCompileRun decodes random bytes as a model with internal/onnx,
// compiles it and runs it on inputs shaped as the graph declares: whatever
// the bytes, nothing may panic (a kernel panic would surface as an
// "internal error" error, which fails the test) and nothing may allocate
// beyond the element limit. The seeds are models built here and every ONNX
// conformance model of the node suite.
func FuzzCompileRun(f *testing.F) {
	for _, m := range []*onnx.Model{flattenChainModel(), quantSeedModel(), poolGemmSeedModel()} {
		b, err := onnx.Encode(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	paths, _ := filepath.Glob(filepath.Join(conformanceRoot, "node", "*", "model.onnx"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		defer func(old int64) { maxElements = old }(maxElements)
		maxElements = 1 << 16
		m, err := onnx.Decode(b)
		if err != nil {
			return
		}
		p, err := Compile(m)
		if err != nil {
			if strings.Contains(err.Error(), errInternal) {
				t.Fatalf("Compile: %v", err)
			}
			return
		}
		in := fuzzInputs(p)
		if in == nil {
			return
		}
		if _, err := p.Run(in); err != nil && strings.Contains(err.Error(), errInternal) {
			t.Fatalf("Run: %v", err)
		}
	})
}

// fuzzInputs makes one tensor per graph input with the declared type and
// shape (symbolic dims 2, undeclared inputs float32 [2]); nil when the
// declaration is too large to bother.
func fuzzInputs(p *Program) map[string]*onnx.Tensor {
	in := map[string]*onnx.Tensor{}
	for _, spec := range p.inputs {
		dt := spec.elem
		if dt == onnx.Undefined {
			dt = onnx.Float
		}
		dims := []int64{2}
		if spec.hasShape {
			dims = dims[:0]
			for _, d := range spec.dims {
				v := int64(2)
				if d.HasValue {
					v = d.Value
				}
				if v < 0 || v > 64 {
					return nil
				}
				dims = append(dims, v)
			}
		}
		if n, err := shapeSize(dims); err != nil || n > 1<<12 {
			return nil
		}
		t, err := newTensor(dt, dims)
		if err != nil {
			return nil
		}
		for i := range t.F32 {
			t.F32[i] = float32(i%7) - 3
		}
		for i := range t.I64 {
			t.I64[i] = int64(i % 3)
		}
		for i := range t.I32 {
			t.I32[i] = int32(i % 5)
		}
		for i := range t.U8 {
			t.U8[i] = uint8(i * 37)
		}
		for i := range t.I8 {
			t.I8[i] = int8(i * 37)
		}
		in[spec.name] = t
	}
	return in
}

// quantSeedModel quantizes, runs a QLinearConv with per-channel weights and
// dequantizes.
func quantSeedModel() *onnx.Model {
	return &onnx.Model{
		IRVersion:    8,
		OpsetImports: []onnx.OpsetID{{Version: 13}, {Domain: "com.microsoft", Version: 1}},
		Graph: &onnx.Graph{
			Initializers: []*onnx.Tensor{
				onnx.NewFloat("s", onnx.Scalar, []float32{0.1}), onnx.NewUint8("z", onnx.Scalar, []uint8{128}),
				onnx.NewInt8("w", []int64{2, 1, 3, 3}, []int8{1, -2, 3, 4, 5, 6, -7, 8, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1}),
				onnx.NewFloat("ws", []int64{2}, []float32{0.02, 0.03}), onnx.NewInt8("wz", []int64{2}, []int8{0, 0}),
				onnx.NewInt32("b", []int64{2}, []int32{100, -100}),
			},
			Inputs:  []*onnx.ValueInfo{onnx.TensorInfo("x", onnx.Float, "N", 1, "H", "W")},
			Outputs: []*onnx.ValueInfo{onnx.TensorInfo("y", onnx.Float, "N", 2, nil, nil)},
			Nodes: []*onnx.Node{
				{OpType: "QuantizeLinear", Inputs: []string{"x", "s", "z"}, Outputs: []string{"q"}},
				{OpType: "QLinearConv", Inputs: []string{"q", "s", "z", "w", "ws", "wz", "s", "z", "b"}, Outputs: []string{"c"},
					Attrs: []*onnx.Attribute{onnx.AttrIs("pads", 1, 1, 1, 1), onnx.AttrIs("strides", 2, 1)}},
				{Domain: "com.microsoft", OpType: "QLinearAdd", Inputs: []string{"c", "s", "z", "c", "s", "z", "s", "z"}, Outputs: []string{"a"}},
				{Domain: "com.microsoft", OpType: "QLinearGlobalAveragePool", Inputs: []string{"a", "s", "z", "s", "z"}, Outputs: []string{"g"}},
				{OpType: "DequantizeLinear", Inputs: []string{"g", "s", "z"}, Outputs: []string{"y"}},
			},
		},
	}
}

// poolGemmSeedModel is a small classifier head.
func poolGemmSeedModel() *onnx.Model {
	return &onnx.Model{
		IRVersion:    8,
		OpsetImports: []onnx.OpsetID{{Version: 13}},
		Graph: &onnx.Graph{
			Initializers: []*onnx.Tensor{
				onnx.NewFloat("fw", []int64{4, 3}, []float32{1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1}),
				onnx.NewFloat("fb", []int64{4}, []float32{0, 0.5, 1, -1}),
			},
			Inputs:  []*onnx.ValueInfo{onnx.TensorInfo("x", onnx.Float, "N", 3, "H", "W")},
			Outputs: []*onnx.ValueInfo{onnx.TensorInfo("y", onnx.Float, "N", 4)},
			Nodes: []*onnx.Node{
				{OpType: "MaxPool", Inputs: []string{"x"}, Outputs: []string{"m"},
					Attrs: []*onnx.Attribute{onnx.AttrIs("kernel_shape", 3, 3), onnx.AttrIs("strides", 2, 2), onnx.AttrIs("pads", 1, 1, 1, 1), onnx.AttrI("ceil_mode", 1)}},
				{OpType: "AveragePool", Inputs: []string{"m"}, Outputs: []string{"a"},
					Attrs: []*onnx.Attribute{onnx.AttrIs("kernel_shape", 2, 2), onnx.AttrI("ceil_mode", 1)}},
				{OpType: "GlobalMaxPool", Inputs: []string{"a"}, Outputs: []string{"g"}},
				{OpType: "Flatten", Inputs: []string{"g"}, Outputs: []string{"f"}},
				{OpType: "Gemm", Inputs: []string{"f", "fw", "fb"}, Outputs: []string{"l"}, Attrs: []*onnx.Attribute{onnx.AttrI("transB", 1)}},
				{OpType: "Softmax", Inputs: []string{"l"}, Outputs: []string{"y"}},
			},
		},
	}
}
