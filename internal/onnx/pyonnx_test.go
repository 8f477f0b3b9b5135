package onnx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The tests in this file compare the codec with python3-onnx (Debian's
// onnx 1.12, the reference implementation of the format): files written by
// onnx are read here, files written here are checked and read back by onnx.

const python = "/usr/bin/python3"

func pyonnx(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("%s is missing: install Debian's python3-onnx (the README test command does)", python)
	}
	cmd := exec.Command(python, append([]string{"testdata/pyonnx.py"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pyonnx.py %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// modelJSON mirrors model_json in testdata/pyonnx.py.
func modelJSON(m *Model) map[string]any {
	var ops, meta []any
	for _, o := range m.OpsetImports {
		ops = append(ops, map[string]any{"domain": o.Domain, "version": o.Version})
	}
	for _, p := range m.MetadataProps {
		meta = append(meta, map[string]any{"key": p.Key, "value": p.Value})
	}
	return map[string]any{
		"ir_version": m.IRVersion, "producer_name": m.ProducerName,
		"producer_version": m.ProducerVersion, "domain": m.Domain,
		"model_version": m.ModelVersion, "doc": m.DocString,
		"opsets": nonNil(ops), "metadata": nonNil(meta), "graph": graphJSON(m.Graph),
	}
}

func nonNil(a []any) []any {
	if a == nil {
		return []any{}
	}
	return a
}

func graphJSON(g *Graph) map[string]any {
	var nodes, inits []any
	for _, n := range g.Nodes {
		var attrs []any
		for _, a := range n.Attrs {
			attrs = append(attrs, map[string]any{"name": a.Name, "type": int(a.Type), "value": attrJSON(a)})
		}
		nodes = append(nodes, map[string]any{
			"name": n.Name, "op": n.OpType, "domain": n.Domain,
			"inputs": strs(n.Inputs), "outputs": strs(n.Outputs), "attrs": nonNil(attrs),
		})
	}
	for _, t := range g.Initializers {
		inits = append(inits, tensorJSON(t))
	}
	return map[string]any{
		"name": g.Name, "doc": g.DocString, "nodes": nonNil(nodes), "initializers": nonNil(inits),
		"inputs": visJSON(g.Inputs), "outputs": visJSON(g.Outputs), "value_info": visJSON(g.ValueInfo),
	}
}

func strs(s []string) []any {
	out := []any{}
	for _, v := range s {
		out = append(out, v)
	}
	return out
}

func visJSON(vs []*ValueInfo) []any {
	out := []any{}
	for _, v := range vs {
		dims := []any{}
		elem := 0
		if v.Type != nil {
			elem = int(v.Type.Elem)
			for _, d := range v.Type.Shape {
				switch {
				case d.HasValue:
					dims = append(dims, d.Value)
				case d.Param != "":
					dims = append(dims, d.Param)
				default:
					dims = append(dims, nil)
				}
			}
		}
		out = append(out, map[string]any{"name": v.Name, "elem": elem, "dims": dims})
	}
	return out
}

func attrJSON(a *Attribute) any {
	switch a.Type {
	case AttrFloat:
		return float64(a.F)
	case AttrInt:
		return a.I
	case AttrString:
		return string(a.S)
	case AttrTensor:
		return tensorJSON(a.T)
	case AttrGraph:
		return graphJSON(a.G)
	case AttrFloats:
		out := []any{}
		for _, f := range a.Floats {
			out = append(out, float64(f))
		}
		return out
	case AttrInts:
		out := []any{}
		for _, v := range a.Ints {
			out = append(out, v)
		}
		return out
	case AttrStrings:
		out := []any{}
		for _, s := range a.Strings {
			out = append(out, string(s))
		}
		return out
	case AttrTensors:
		out := []any{}
		for _, t := range a.Tensors {
			out = append(out, tensorJSON(t))
		}
		return out
	case AttrGraphs:
		out := []any{}
		for _, g := range a.Graphs {
			out = append(out, graphJSON(g))
		}
		return out
	}
	return nil
}

func tensorJSON(t *Tensor) map[string]any {
	vals := []any{}
	switch t.DataType {
	case Int64, Int32, Int16, Uint16, Int8, Uint8, Bool, Uint32, Uint64:
		if t.DataType == Uint64 || t.DataType == Uint32 {
			for _, v := range t.U64 {
				vals = append(vals, v)
			}
			break
		}
		iv, _ := t.Int64s()
		for _, v := range iv {
			vals = append(vals, v)
		}
	case Double:
		for _, v := range t.F64 {
			vals = append(vals, v)
		}
	case String:
		for _, s := range t.Strs {
			vals = append(vals, string(s))
		}
	default:
		fv, err := t.Float32s()
		if err != nil {
			panic(err)
		}
		for _, v := range fv {
			vals = append(vals, float64(v))
		}
	}
	dims := []any{}
	for _, d := range t.Dims {
		dims = append(dims, d)
	}
	return map[string]any{"name": t.Name, "type": int(t.DataType), "dims": dims, "values": vals}
}

// canonical round-trips v through JSON with json.Number so that both sides
// compare as the same generic tree.
func canonical(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// sameJSON compares generic JSON trees; numbers compare by value (Python and
// Go print the same float64 with different exponent rules).
func sameJSON(path string, a, b any) error {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return fmt.Errorf("%s: %v vs %v", path, keys(x), b)
		}
		for k := range x {
			if err := sameJSON(path+"."+k, x[k], y[k]); err != nil {
				return err
			}
		}
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return fmt.Errorf("%s: length %d vs %v", path, len(x), b)
		}
		for i := range x {
			if err := sameJSON(fmt.Sprintf("%s[%d]", path, i), x[i], y[i]); err != nil {
				return err
			}
		}
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return fmt.Errorf("%s: %v vs %v", path, a, b)
		}
		if bx, okx := new(big.Int).SetString(string(x), 10); okx {
			if by, oky := new(big.Int).SetString(string(y), 10); oky {
				if bx.Cmp(by) != 0 {
					return fmt.Errorf("%s: %v vs %v", path, x, y)
				}
				return nil
			}
		}
		fx, err1 := x.Float64()
		fy, err2 := y.Float64()
		if err1 != nil || err2 != nil || (fx != fy && !(math.IsNaN(fx) && math.IsNaN(fy))) {
			return fmt.Errorf("%s: %v vs %v", path, x, y)
		}
	default:
		if a != b {
			return fmt.Errorf("%s: %#v vs %#v", path, a, b)
		}
	}
	return nil
}

func keys(m map[string]any) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	return k
}

func compareWithPython(t *testing.T, m *Model, onnxPath string) {
	t.Helper()
	dump := filepath.Join(t.TempDir(), "dump.json")
	pyonnx(t, "dump", onnxPath, dump)
	pyb, err := os.ReadFile(dump)
	if err != nil {
		t.Fatal(err)
	}
	gob, err := json.Marshal(modelJSON(m))
	if err != nil {
		t.Fatal(err)
	}
	if err := sameJSON("model", canonical(t, pyb), canonical(t, gob)); err != nil {
		t.Fatalf("python3-onnx and the Go codec disagree: %v", err)
	}
}

// TestReadsPythonWrittenModel reads a model written by python3-onnx that holds
// every numeric tensor type in typed fields and raw_data, every attribute
// kind, a com.microsoft opset import, metadata and symbolic dims.
func TestReadsPythonWrittenModel(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "ks.onnx")
	pyonnx(t, "write", p)
	m, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	compareWithPython(t, m, p)
	if v := m.OpsetVersion("com.microsoft"); v != 1 {
		t.Errorf("com.microsoft opset = %d, want 1", v)
	}
	if v, _ := m.Metadata("unicode"); v != "Grüße ✓" {
		t.Errorf("metadata unicode = %q", v)
	}
}

// TestWrittenModelPassesChecker writes the model back and has python3-onnx
// check it (full check, with shape inference) and read the same content.
func TestWrittenModelPassesChecker(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "ks.onnx")
	pyonnx(t, "write", src)
	m, err := ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "ks_go.onnx")
	if err := WriteFile(out, m); err != nil {
		t.Fatal(err)
	}
	pyonnx(t, "check", out)
	compareWithPython(t, m, out)
}

// TestBuiltModelPassesChecker builds a QDQ model from scratch with the
// builder helpers and checks it with python3-onnx.
func TestBuiltModelPassesChecker(t *testing.T) {
	m := tinyQDQModel()
	p := filepath.Join(t.TempDir(), "built.onnx")
	if err := WriteFile(p, m); err != nil {
		t.Fatal(err)
	}
	pyonnx(t, "check", p)
	compareWithPython(t, m, p)
}

// tinyQDQModel is x → QuantizeLinear(u8) → DequantizeLinear → Conv (weights
// int8 per-axis DequantizeLinear) → Relu → GlobalAveragePool → Flatten.
func tinyQDQModel() *Model {
	w := make([]int8, 4*2*3*3)
	for i := range w {
		w[i] = int8(i%19 - 9)
	}
	g := &Graph{
		Name: "tiny_qdq",
		Inputs: []*ValueInfo{
			TensorInfo("x", Float, "N", 2, "H", "W"),
		},
		Outputs: []*ValueInfo{TensorInfo("y", Float, "N", 4)},
		Initializers: []*Tensor{
			NewFloat("x_scale", Scalar, []float32{0.02}),
			NewUint8("x_zp", Scalar, []uint8{128}),
			NewInt8("w_q", []int64{4, 2, 3, 3}, w),
			NewFloat("w_scale", []int64{4}, []float32{0.01, 0.02, 0.03, 0.04}),
			NewInt8("w_zp", []int64{4}, []int8{0, 0, 0, 0}),
			NewFloat("b", []int64{4}, []float32{0.1, -0.1, 0.2, 0}),
		},
		Nodes: []*Node{
			{Name: "q", OpType: "QuantizeLinear", Inputs: []string{"x", "x_scale", "x_zp"}, Outputs: []string{"xq"}},
			{Name: "dq", OpType: "DequantizeLinear", Inputs: []string{"xq", "x_scale", "x_zp"}, Outputs: []string{"xd"}},
			{Name: "dqw", OpType: "DequantizeLinear", Inputs: []string{"w_q", "w_scale", "w_zp"}, Outputs: []string{"wd"}, Attrs: []*Attribute{AttrI("axis", 0)}},
			{Name: "conv", OpType: "Conv", Inputs: []string{"xd", "wd", "b"}, Outputs: []string{"c"},
				Attrs: []*Attribute{AttrIs("kernel_shape", 3, 3), AttrIs("pads", 1, 1, 1, 1)}},
			{Name: "relu", OpType: "Relu", Inputs: []string{"c"}, Outputs: []string{"r"}},
			{Name: "gap", OpType: "GlobalAveragePool", Inputs: []string{"r"}, Outputs: []string{"p"}},
			{Name: "flat", OpType: "Flatten", Inputs: []string{"p"}, Outputs: []string{"y"}, Attrs: []*Attribute{AttrI("axis", 1)}},
		},
	}
	return &Model{
		IRVersion:     8,
		OpsetImports:  []OpsetID{{Domain: "", Version: 13}},
		ProducerName:  "piresnet-test",
		Graph:         g,
		MetadataProps: []StringPair{{"labels", "a\nb\nc\nd"}},
	}
}
