package onnx

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

const conformanceDir = "/usr/share/libonnx-testdata/data"

func conformanceModels(t testing.TB) []string {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(conformanceDir, "*", "*", "model.onnx"))
	if len(paths) == 0 {
		t.Fatalf("no models under %s: install Debian's libonnx-testdata (the README test command does)", conformanceDir)
	}
	return paths
}

// TestRoundTripConformanceModels decodes every model of ONNX's conformance
// data, encodes it, decodes that again and checks that nothing changed.
func TestRoundTripConformanceModels(t *testing.T) {
	paths := conformanceModels(t)
	for _, p := range paths {
		m, err := ReadFile(p)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		b1, err := Encode(m)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		m2, err := Decode(b1)
		if err != nil {
			t.Errorf("%s: re-decode: %v", p, err)
			continue
		}
		b2, _ := Encode(m2)
		if !bytes.Equal(b1, b2) {
			t.Errorf("%s: encoding is not stable", p)
		}
		if len(m2.Graph.Nodes) != len(m.Graph.Nodes) || len(m2.Graph.Initializers) != len(m.Graph.Initializers) {
			t.Errorf("%s: graph changed", p)
		}
	}
	t.Logf("%d conformance models round-tripped", len(paths))
}

// TestConformanceTensors reads every TensorProto of the conformance data
// (sequence and optional values, which are other messages, excluded).
func TestConformanceTensors(t *testing.T) {
	pbs, _ := filepath.Glob(filepath.Join(conformanceDir, "*", "*", "test_data_set_*", "*.pb"))
	n := 0
	for _, p := range pbs {
		if isNonTensorCase(p) {
			continue
		}
		tt, err := ReadTensorFile(p)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		b, err := EncodeTensor(tt)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		back, err := DecodeTensor(b)
		if err != nil || back.Len() != tt.Len() || back.DataType != tt.DataType {
			t.Errorf("%s: tensor round trip failed: %v", p, err)
		}
		n++
	}
	if n < 2000 {
		t.Fatalf("only %d tensors read", n)
	}
	t.Logf("%d conformance tensors read and round-tripped", n)
}

// isNonTensorCase names the conformance cases whose .pb files hold
// SequenceProto or OptionalProto values rather than tensors.
func isNonTensorCase(p string) bool {
	c := filepath.Base(filepath.Dir(filepath.Dir(p)))
	for _, s := range []string{"sequence", "_seq", "optional", "_opt"} {
		if strings.Contains(c, s) {
			return true
		}
	}
	return false
}

func TestTruncatedModelsFailCleanly(t *testing.T) {
	b, err := Encode(tinyQDQModel())
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(b); n++ {
		m, err := Decode(b[:n])
		if err == nil {
			// A prefix can be a valid message only if it ends between
			// top-level fields; it must then be a whole model.
			if m.Graph == nil {
				t.Fatalf("prefix %d decoded without a graph", n)
			}
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("prefix %d: error spans lines: %q", n, err)
		}
	}
}

func TestReadFileErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	b, _ := Encode(tinyQDQModel())
	cases := map[string][]byte{
		"empty.onnx":     {},
		"truncated.onnx": b[:len(b)/2],
		"text.onnx":      []byte("this is not a model\n"),
		"jpeg.onnx":      {0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F'},
	}
	for name, data := range cases {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o644)
		_, err := ReadFile(p)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if !strings.Contains(err.Error(), p) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %q does not name the file on one line", name, err)
		}
	}
}

// tensorBytes hand-encodes a TensorProto with the given fields.
func tensorBytes(dims []int64, dt DataType, raw []byte, extra func([]byte) []byte) []byte {
	var b []byte
	for _, d := range dims {
		b = appendVarint(b, 1, uint64(d))
	}
	b = appendVarint(b, 2, uint64(dt))
	b = appendString(b, 8, "w")
	if raw != nil {
		b = protowire.AppendTag(b, 9, protowire.BytesType)
		b = protowire.AppendBytes(b, raw)
	}
	if extra != nil {
		b = extra(b)
	}
	return b
}

func TestBadTensors(t *testing.T) {
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"huge dims", tensorBytes([]int64{1000000, 1000000}, Float, nil, nil), "claim more than"},
		{"negative dim", tensorBytes([]int64{-1, 4}, Float, nil, nil), "negative dimension"},
		{"short raw", tensorBytes([]int64{3, 4}, Float, make([]byte, 12), nil), "raw_data has 12 bytes"},
		{"no data", tensorBytes([]int64{3, 4}, Float, nil, nil), "has no data"},
		{"external", tensorBytes([]int64{3}, Float, nil, func(b []byte) []byte { return appendVarint(b, 14, 1) }), "external"},
		{"too many dims", tensorBytes([]int64{1, 1, 1, 1, 1, 1, 1, 1, 1}, Float, make([]byte, 4), nil), "more than 8 dimensions"},
		{"bad type", tensorBytes([]int64{1}, DataType(99), make([]byte, 4), nil), "unsupported data type"},
	}
	for _, c := range cases {
		_, err := DecodeTensor(c.b)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
	_, err := DecodeTensor(tensorBytes([]int64{3}, Float, nil, func(b []byte) []byte { return appendVarint(b, 14, 1) }))
	if !errors.Is(err, ErrExternalData) {
		t.Errorf("external data error does not wrap ErrExternalData: %v", err)
	}
}

func TestExternalDataModelIsRefused(t *testing.T) {
	m := tinyQDQModel()
	b, _ := Encode(m)
	// Append an initializer that points at an external file.
	ext := tensorBytes([]int64{3}, Float, nil, func(b []byte) []byte {
		b = appendMessage(b, 13, func(b []byte) []byte {
			b = appendString(b, 1, "location")
			return appendString(b, 2, "weights.bin")
		})
		return appendVarint(b, 14, 1)
	})
	var g []byte
	g = appendMessage(g, 7, func(x []byte) []byte {
		x = protowire.AppendTag(x, 5, protowire.BytesType)
		return protowire.AppendBytes(x, ext)
	})
	_, err := Decode(append(b[:len(b):len(b)], g...))
	if err == nil || !errors.Is(err, ErrExternalData) {
		t.Fatalf("err = %v, want external data refusal", err)
	}
}

func TestHalfConversions(t *testing.T) {
	// Every half value converts to float32 and back to the same bits (NaN
	// payloads aside).
	for h := 0; h < 1<<16; h++ {
		f := HalfToFloat32(uint16(h))
		if f != f {
			continue
		}
		if back := Float32ToHalf(f); back != uint16(h) {
			t.Fatalf("half %#04x -> %v -> %#04x", h, f, back)
		}
	}
	// Ties round to even.
	if got := Float32ToHalf(1 + 1.0/2048); got != 0x3c00 {
		t.Errorf("1+2^-11 -> %#04x, want 0x3c00", got)
	}
	if got := Float32ToHalf(1 + 3.0/2048); got != 0x3c02 {
		t.Errorf("1+3*2^-11 -> %#04x, want 0x3c02", got)
	}
}

func TestSortNodes(t *testing.T) {
	m := tinyQDQModel()
	g := m.Graph
	// Reverse the node list: SortNodes must restore a valid order.
	for i, j := 0, len(g.Nodes)-1; i < j; i, j = i+1, j-1 {
		g.Nodes[i], g.Nodes[j] = g.Nodes[j], g.Nodes[i]
	}
	order, err := g.SortNodes()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{"x": true}
	for _, tt := range g.Initializers {
		seen[tt.Name] = true
	}
	for _, n := range order {
		for _, in := range n.Inputs {
			if !seen[in] {
				t.Fatalf("node %s runs before its input %q is produced", n, in)
			}
		}
		for _, o := range n.Outputs {
			seen[o] = true
		}
	}

	cyc := &Graph{Nodes: []*Node{
		{OpType: "Relu", Inputs: []string{"b"}, Outputs: []string{"a"}},
		{OpType: "Relu", Inputs: []string{"a"}, Outputs: []string{"b"}},
	}}
	if _, err := cyc.SortNodes(); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: err = %v", err)
	}
	dangling := &Graph{Nodes: []*Node{{OpType: "Relu", Inputs: []string{"nowhere"}, Outputs: []string{"a"}}}}
	if _, err := dangling.SortNodes(); err == nil || !strings.Contains(err.Error(), "nowhere") {
		t.Errorf("dangling: err = %v", err)
	}
	dup := &Graph{Inputs: []*ValueInfo{{Name: "x"}}, Nodes: []*Node{
		{OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"a"}},
		{OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"a"}},
	}}
	if _, err := dup.SortNodes(); err == nil || !strings.Contains(err.Error(), "two nodes") {
		t.Errorf("duplicate: err = %v", err)
	}
}

// FuzzDecode feeds arbitrary bytes to the decoder: it must never panic, and
// whatever it accepts must encode and decode again to the same bytes.
func FuzzDecode(f *testing.F) {
	b, _ := Encode(tinyQDQModel())
	f.Add(b)
	seeds, _ := filepath.Glob("testdata/fuzz/seed-*.onnx")
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		b1, err := Encode(m)
		if err != nil {
			return // e.g. an attribute whose declared type has no value
		}
		m2, err := Decode(b1)
		if err != nil {
			t.Fatalf("re-decode of an encoded model failed: %v", err)
		}
		b2, err := Encode(m2)
		if err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("encoding not stable: %v", err)
		}
	})
}

// FuzzDecodeTensor does the same for TensorProto files.
func FuzzDecodeTensor(f *testing.F) {
	f.Add(tensorBytes([]int64{2, 2}, Float, make([]byte, 16), nil))
	f.Add(tensorBytes([]int64{3}, Int8, []byte{1, 2, 3}, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		tt, err := DecodeTensor(data)
		if err != nil {
			return
		}
		if int64(tt.Len()) != tt.NumElements() {
			t.Fatalf("decoded tensor holds %d elements for dims %v", tt.Len(), tt.Dims)
		}
		if _, err := EncodeTensor(tt); err != nil {
			t.Fatalf("decoded tensor does not encode: %v", err)
		}
	})
}
