package convert

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/runtime/ref"
)

func runRef(t testing.TB, m *onnx.Model, x *onnx.Tensor) []float32 {
	t.Helper()
	p, err := ref.Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Run(map[string]*onnx.Tensor{p.InputNames()[0]: x})
	if err != nil {
		t.Fatal(err)
	}
	return out[p.OutputNames()[0]].F32
}

func opCounts(m *onnx.Model) map[string]int {
	c := map[string]int{}
	for _, n := range m.Graph.Nodes {
		c[n.OpType]++
	}
	return c
}

// TestPreparePreservesFunction: the simplified graph computes what torch
// computed for the original (BatchNorm folding only changes rounding:
// within 1e-4 of the largest logit, the bound runtime/ref meets against
// torch), and holds only the operators the quantizer handles.
func TestPreparePreservesFunction(t *testing.T) {
	tv := filepath.Join("..", "testdata", "torchvision", "gen", "models")
	cases := []struct {
		name, model, in, out string
		removed              []string
	}{
		{"tiny_fastai", fixture(t, "tiny_fastai.onnx"), fixture(t, "tiny_fastai.in.f32"), fixture(t, "tiny_fastai.out.f32"),
			[]string{"BatchNormalization", "Shape", "Gather", "Unsqueeze", "Reshape", "MatMul", "Pad", "Constant"}},
		{"tiny_plain", fixture(t, "tiny_plain.onnx"), fixture(t, "tiny_plain.in.f32"), fixture(t, "tiny_plain.out.f32"),
			[]string{"BatchNormalization"}},
		{"torchvision resnet18_bn", otherFixture(t, filepath.Join(tv, "resnet18_bn", "model.onnx"), "testdata/torchvision/make_fixtures.sh"),
			filepath.Join(tv, "resnet18_bn", "97x131", "input_0.pb"), filepath.Join(tv, "resnet18_bn", "97x131", "output_0.pb"),
			[]string{"BatchNormalization"}},
		{"torchvision resnet18_view", otherFixture(t, filepath.Join(tv, "resnet18_view", "model.onnx"), "testdata/torchvision/make_fixtures.sh"),
			filepath.Join(tv, "resnet18_view", "97x131", "input_0.pb"), filepath.Join(tv, "resnet18_view", "97x131", "output_0.pb"),
			[]string{"Shape", "Gather", "Reshape"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := readModel(t, c.model)
			var x *onnx.Tensor
			var want []float32
			if strings.HasSuffix(c.in, ".pb") {
				var err error
				if x, err = onnx.ReadTensorFile(c.in); err != nil {
					t.Fatal(err)
				}
				y, err := onnx.ReadTensorFile(c.out)
				if err != nil {
					t.Fatal(err)
				}
				want = y.F32
			} else {
				x = onnx.NewFloat("input", []int64{4, 3, 40, 48}, readF32(t, c.in))
				want = readF32(t, c.out)
			}
			before := opCounts(m)
			p, notes, err := Prepare(m)
			if err != nil {
				t.Fatal(err)
			}
			after := opCounts(p)
			for _, op := range c.removed {
				if before[op] == 0 {
					t.Errorf("the fixture has no %s: the case tests nothing", op)
				}
				if after[op] != 0 {
					t.Errorf("%d %s left after Prepare", after[op], op)
				}
			}
			for op := range after {
				if !isSupported(op) {
					t.Errorf("Prepare left %s", op)
				}
			}
			if len(notes) == 0 {
				t.Error("no notes")
			}
			got := runRef(t, p, x)
			if len(got) != len(want) {
				t.Fatalf("%d logits, torch %d", len(got), len(want))
			}
			worst := 0.0
			for i := range got {
				worst = max(worst, math.Abs(float64(got[i]-want[i])))
			}
			if r := worst / maxAbs(want); r > 1e-4 {
				t.Errorf("max|diff| / max|logit| = %.2e against torch, want <= 1e-4", r)
			}
			// The input model is not modified.
			if !equalCounts(opCounts(m), before) {
				t.Error("Prepare modified its input")
			}
		})
	}
}

func isSupported(op string) bool {
	for _, s := range supportedOps {
		if s == op {
			return true
		}
	}
	return false
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// graph builds a one-input float model from nodes and initializers.
func graph(nodes []*onnx.Node, inits ...*onnx.Tensor) *onnx.Model {
	return &onnx.Model{IRVersion: 8, OpsetImports: []onnx.OpsetID{{Version: 13}},
		Graph: &onnx.Graph{Name: "g", Nodes: nodes, Initializers: inits,
			Inputs:  []*onnx.ValueInfo{onnx.TensorInfo("x", onnx.Float, "N", 2, "H", "W")},
			Outputs: []*onnx.ValueInfo{onnx.TensorInfo("y", onnx.Float, "N", nil)}}}
}

func TestPrepareErrors(t *testing.T) {
	w := onnx.NewFloat("w", []int64{2, 2, 1, 1}, []float32{1, 0, 0, 1})
	cases := map[string]struct {
		m    *onnx.Model
		want string
	}{
		"unsupported op": {graph([]*onnx.Node{{Name: "s", OpType: "Sigmoid", Inputs: []string{"x"}, Outputs: []string{"y"}}}),
			`node Sigmoid "s": operator Sigmoid cannot be quantized`},
		"constant add": {graph([]*onnx.Node{{Name: "a", OpType: "Add", Inputs: []string{"x", "w"}, Outputs: []string{"y"}}}, w),
			"input 1 is a constant"},
		"conv weight not constant": {graph([]*onnx.Node{{Name: "c", OpType: "Conv", Inputs: []string{"x", "x"}, Outputs: []string{"y"}}}),
			"constant float 4-D weight"},
		"real padding": {graph([]*onnx.Node{{Name: "p", OpType: "Pad", Inputs: []string{"x", "pads"}, Outputs: []string{"y"}}},
			onnx.NewInt64("pads", []int64{8}, []int64{0, 0, 1, 1, 0, 0, 1, 1})), "operator Pad cannot be quantized"},
		"domain": {graph([]*onnx.Node{{Name: "q", OpType: "QLinearAdd", Domain: "com.microsoft", Inputs: []string{"x"}, Outputs: []string{"y"}}}),
			"com.microsoft.QLinearAdd is not supported"},
	}
	for name, c := range cases {
		_, _, err := Prepare(c.m)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, c.want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "convert: ") {
			t.Errorf("%s: error without the package prefix: %v", name, err)
		}
	}
	two := graph([]*onnx.Node{{OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}}})
	two.Graph.Inputs = append(two.Graph.Inputs, onnx.TensorInfo("z", onnx.Float, 1))
	if _, _, err := Prepare(two); err == nil || !strings.Contains(err.Error(), "2 inputs") {
		t.Errorf("two inputs: %v", err)
	}
}

// TestPrepareBatchNormAlone: a BatchNormalization with no Conv or Gemm to
// fold into becomes a 1×1 depthwise Conv (4-D) with the same result.
func TestPrepareBatchNormAlone(t *testing.T) {
	m := graph([]*onnx.Node{
		{Name: "r", OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"r"}},
		{Name: "bn", OpType: "BatchNormalization", Inputs: []string{"r", "g", "b", "mu", "var"}, Outputs: []string{"y"}},
	}, onnx.NewFloat("g", []int64{2}, []float32{2, -1}), onnx.NewFloat("b", []int64{2}, []float32{0.5, 0}),
		onnx.NewFloat("mu", []int64{2}, []float32{1, 2}), onnx.NewFloat("var", []int64{2}, []float32{4, 0.25}))
	p, _, err := Prepare(m)
	if err != nil {
		t.Fatal(err)
	}
	if c := opCounts(p); c["Conv"] != 1 || c["BatchNormalization"] != 0 {
		t.Fatalf("ops %v", c)
	}
	x := onnx.NewFloat("x", []int64{1, 2, 1, 3}, []float32{-1, 0, 3, 1, 2, 5})
	got := runRef(t, p, x)
	want := runRef(t, m, x)
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5 {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

// TestPrepareIdentities: Identity and Dropout disappear, also in front of
// the graph output, which keeps its name.
func TestPrepareIdentities(t *testing.T) {
	m := graph([]*onnx.Node{
		{Name: "r", OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"r"}},
		{Name: "i", OpType: "Identity", Inputs: []string{"r"}, Outputs: []string{"i"}},
		{Name: "m", OpType: "MaxPool", Inputs: []string{"i"}, Outputs: []string{"m"}, Attrs: []*onnx.Attribute{onnx.AttrIs("kernel_shape", 1, 1)}},
		{Name: "d", OpType: "Dropout", Inputs: []string{"m"}, Outputs: []string{"y", ""}},
	})
	p, notes, err := Prepare(m)
	if err != nil {
		t.Fatal(err)
	}
	if c := opCounts(p); c["Identity"]+c["Dropout"] != 0 || len(p.Graph.Nodes) != 2 {
		t.Fatalf("ops %v", c)
	}
	if last := p.Graph.Nodes[1]; last.OpType != "MaxPool" || last.Outputs[0] != "y" || last.Inputs[0] != "r" {
		t.Errorf("MaxPool reads %v, writes %v", last.Inputs, last.Outputs)
	}
	if len(notes) != 2 {
		t.Errorf("notes %v", notes)
	}
	used := graph([]*onnx.Node{{Name: "d", OpType: "Dropout", Inputs: []string{"x"}, Outputs: []string{"y", "mask"}}})
	used.Graph.Outputs = append(used.Graph.Outputs, &onnx.ValueInfo{Name: "mask"})
	if _, _, err := Prepare(used); err == nil || !strings.Contains(err.Error(), "mask is used") {
		t.Errorf("used Dropout mask: %v", err)
	}
}
