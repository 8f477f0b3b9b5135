package runtime

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/runtime/internal/qkernel"
)

// Cross-architecture golden tests: the same model and input must give
// byte-identical outputs on amd64, arm64 and arm (GOARM=6 and 7), whatever
// kernel runs. The expected hashes are regression values produced by the
// amd64 run, not correctness references (correctness is the float
// reference and ONNX Runtime, elsewhere): their point is that another
// architecture reproduces them bit for bit.
var (
	goldenRecord = flag.Bool("golden.record", false, "record the fixture models' output hashes in testdata/qdq/gen/golden.json (make_fixtures.sh, on amd64)")
	goldenUpdate = flag.Bool("golden.update", false, "rewrite testdata/golden.txt (the committed hashes of the Go-built model)")
)

// goldenModel is a small QDQ network built from integers and decimal
// constants only (no float computation that another architecture could
// round differently): conv+ReLU, max pool, conv, residual add+ReLU,
// global average pool, flatten, fully connected.
func goldenModel(act onnx.DataType) *onnx.Model {
	r := rand.New(rand.NewPCG(2024, 11))
	g := &onnx.Graph{Name: "golden"}
	g.Inputs = []*onnx.ValueInfo{onnx.TensorInfo("input", onnx.Float, 1, 3, "H", "W")}
	g.Outputs = []*onnx.ValueInfo{onnx.TensorInfo("logits", onnx.Float, 1, 10)}
	n := 0
	name := func(p string) string { n++; return fmt.Sprintf("%s%d", p, n) }
	zp := func(v int32) *onnx.Tensor {
		if act == onnx.Int8 {
			return onnx.NewInt8(name("zp"), onnx.Scalar, []int8{int8(v - 128)})
		}
		return onnx.NewUint8(name("zp"), onnx.Scalar, []uint8{uint8(v)})
	}
	qdq := func(x string, scale float32, z int32, out string) string {
		s := onnx.NewFloat(name("s"), onnx.Scalar, []float32{scale})
		zt := zp(z)
		g.Initializers = append(g.Initializers, s, zt)
		q := name("q")
		if out == "" {
			out = name("dq")
		}
		g.Nodes = append(g.Nodes,
			&onnx.Node{OpType: "QuantizeLinear", Inputs: []string{x, s.Name, zt.Name}, Outputs: []string{q}},
			&onnx.Node{OpType: "DequantizeLinear", Inputs: []string{q, s.Name, zt.Name}, Outputs: []string{out}})
		return out
	}
	weights := func(dims []int64, axis int, xs float32, withBias bool) (string, string) {
		oc := int(dims[axis])
		cnt := 1
		for _, d := range dims {
			cnt *= int(d)
		}
		w := make([]int8, cnt)
		for i := range w {
			w[i] = int8(r.IntN(255) - 127)
		}
		ws := make([]float32, oc)
		bs := make([]float32, oc)
		b := make([]int32, oc)
		for c := range ws {
			ws[c] = []float32{0.004, 0.007, 0.0025}[c%3]
			bs[c] = xs * ws[c]
			b[c] = int32(r.IntN(2001) - 1000)
		}
		wt := onnx.NewInt8(name("w"), dims, w)
		st := onnx.NewFloat(name("ws"), []int64{int64(oc)}, ws)
		zt := onnx.NewInt8(name("wz"), []int64{int64(oc)}, make([]int8, oc))
		g.Initializers = append(g.Initializers, wt, st, zt)
		wdq := name("wdq")
		g.Nodes = append(g.Nodes, &onnx.Node{OpType: "DequantizeLinear", Inputs: []string{wt.Name, st.Name, zt.Name}, Outputs: []string{wdq}, Attrs: []*onnx.Attribute{onnx.AttrI("axis", int64(axis))}})
		if !withBias {
			return wdq, ""
		}
		bt := onnx.NewInt32(name("b"), []int64{int64(oc)}, b)
		bst := onnx.NewFloat(name("bs"), []int64{int64(oc)}, bs)
		bzt := onnx.NewInt32(name("bz"), []int64{int64(oc)}, make([]int32, oc))
		g.Initializers = append(g.Initializers, bt, bst, bzt)
		bdq := name("bdq")
		g.Nodes = append(g.Nodes, &onnx.Node{OpType: "DequantizeLinear", Inputs: []string{bt.Name, bst.Name, bzt.Name}, Outputs: []string{bdq}, Attrs: []*onnx.Attribute{onnx.AttrI("axis", 0)}})
		return wdq, bdq
	}
	conv := func(x string, xs float32, cin, cout, k, stride int) string {
		w, b := weights([]int64{int64(cout), int64(cin), int64(k), int64(k)}, 0, xs, true)
		y := name("conv")
		p := int64(k / 2)
		g.Nodes = append(g.Nodes, &onnx.Node{OpType: "Conv", Inputs: []string{x, w, b}, Outputs: []string{y},
			Attrs: []*onnx.Attribute{onnx.AttrIs("kernel_shape", int64(k), int64(k)), onnx.AttrIs("strides", int64(stride), int64(stride)), onnx.AttrIs("pads", p, p, p, p)}})
		return y
	}
	x := qdq("input", 0.03125, 128, "")
	y := conv(x, 0.03125, 3, 8, 3, 2)
	r1 := name("relu")
	g.Nodes = append(g.Nodes, &onnx.Node{OpType: "Relu", Inputs: []string{y}, Outputs: []string{r1}})
	x1 := qdq(r1, 0.05, 0, "")
	mp := name("mp")
	g.Nodes = append(g.Nodes, &onnx.Node{OpType: "MaxPool", Inputs: []string{x1}, Outputs: []string{mp},
		Attrs: []*onnx.Attribute{onnx.AttrIs("kernel_shape", 3, 3), onnx.AttrIs("strides", 2, 2), onnx.AttrIs("pads", 1, 1, 1, 1)}})
	x2 := qdq(mp, 0.05, 0, "")
	y2 := qdq(conv(x2, 0.05, 8, 8, 3, 1), 0.05, 100, "")
	sum := name("add")
	g.Nodes = append(g.Nodes, &onnx.Node{OpType: "Add", Inputs: []string{y2, x2}, Outputs: []string{sum}})
	r2 := name("relu")
	g.Nodes = append(g.Nodes, &onnx.Node{OpType: "Relu", Inputs: []string{sum}, Outputs: []string{r2}})
	x3 := qdq(r2, 0.06, 0, "")
	gp := name("gap")
	g.Nodes = append(g.Nodes, &onnx.Node{OpType: "GlobalAveragePool", Inputs: []string{x3}, Outputs: []string{gp}})
	x4 := qdq(gp, 0.02, 0, "")
	fl := name("flat")
	g.Nodes = append(g.Nodes, &onnx.Node{OpType: "Flatten", Inputs: []string{x4}, Outputs: []string{fl}})
	x5 := qdq(fl, 0.02, 0, "")
	w, b := weights([]int64{10, 8}, 0, 0.02, true)
	fc := name("fc")
	g.Nodes = append(g.Nodes, &onnx.Node{OpType: "Gemm", Inputs: []string{x5, w, b}, Outputs: []string{fc}, Attrs: []*onnx.Attribute{onnx.AttrI("transB", 1)}})
	qdq(fc, 0.1, 128, "logits")
	return &onnx.Model{IRVersion: 8, OpsetImports: []onnx.OpsetID{{Version: 13}}, Graph: g}
}

// goldenInput is an image of exactly representable values.
func goldenInput(h, w int) *onnx.Tensor {
	v := make([]float32, 3*h*w)
	for i := range v {
		v[i] = float32(int32(i*7919%256)-128) / 32
	}
	return onnx.NewFloat("input", []int64{1, 3, int64(h), int64(w)}, v)
}

func hashOutputs(out map[string]*onnx.Tensor) string {
	var names []string
	for k := range out {
		names = append(names, k)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, k := range names {
		h.Write([]byte(k))
		for _, v := range out[k].F32 {
			binary.Write(h, binary.LittleEndian, math.Float32bits(v))
		}
		h.Write(out[k].U8)
		for _, v := range out[k].I8 {
			h.Write([]byte{byte(v)})
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// runHash runs a model with every kernel this CPU runs and thread counts
// 1 and 3 (-short: the default kernel), checks that they agree, and
// returns the hash.
func runHash(t *testing.T, qm *onnx.Model, feed map[string]*onnx.Tensor) string {
	t.Helper()
	hash := ""
	for _, k := range qkernel.ConvKernels {
		if !k.Available {
			continue
		}
		if def, _ := KernelsAvailable("auto"); testing.Short() && k.Name != def {
			continue
		}
		for _, threads := range []int{1, 3} {
			m, err := Compile(qm, Options{Threads: threads, Kernels: k.Name})
			if err != nil {
				t.Fatal(err)
			}
			s := m.NewSession()
			out, err := s.Run(feed)
			s.Close()
			if err != nil {
				t.Fatal(err)
			}
			h := hashOutputs(out)
			if hash != "" && h != hash {
				t.Fatalf("kernel %s, %d threads: hash %s, others gave %s", k.Name, threads, h, hash)
			}
			hash = h
		}
	}
	return hash
}

func TestGolden(t *testing.T) {
	t.Logf("GOARCH %s", goruntime.GOARCH)
	// The Go-built model: committed hashes.
	got := map[string]string{}
	for _, act := range []onnx.DataType{onnx.Uint8, onnx.Int8} {
		qm := goldenModel(act)
		for _, hw := range [][2]int{{32, 32}, {45, 61}} {
			key := fmt.Sprintf("golden_%v %dx%d", act, hw[0], hw[1])
			got[key] = runHash(t, qm, map[string]*onnx.Tensor{"input": goldenInput(hw[0], hw[1])})
		}
	}
	path := filepath.Join("testdata", "golden.txt")
	if *goldenUpdate {
		var b strings.Builder
		b.WriteString("# Cross-architecture regression values: SHA-256 (first 16 bytes) of the\n# outputs of goldenModel (golden_test.go) as the amd64 run computed them;\n# every architecture must reproduce them bit for bit. Not a correctness\n# reference. Regenerate with: go test ./runtime -run TestGolden -args -golden.update\n")
		var keys []string
		for k := range got {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s %s\n", k, got[k])
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		want[line[:i]] = line[i+1:]
	}
	for k, h := range got {
		if want[k] != h {
			t.Errorf("%s: hash %s, the amd64 run gave %s", k, h, want[k])
		}
	}
	// The QDQ ResNet fixtures: hashes recorded by make_fixtures.sh on amd64.
	man := fixtures(t)
	fixtureHashes := map[string]string{}
	for _, name := range man.Models {
		qm := readModel(t, filepath.Join(qdqGen, "models", name+".onnx"))
		x := readTensor(t, filepath.Join(qdqGen, "inputs", "97x131_0", "input_0.pb"))
		fixtureHashes[name+" 97x131_0"] = runHash(t, qm, map[string]*onnx.Tensor{qm.Graph.Inputs[0].Name: x})
	}
	gpath := filepath.Join(qdqGen, "golden.json")
	if *goldenRecord {
		if goruntime.GOARCH != "amd64" {
			t.Fatal("golden hashes are recorded on amd64")
		}
		b, _ := json.MarshalIndent(map[string]any{"goarch": goruntime.GOARCH, "hashes": fixtureHashes}, "", " ")
		if err := os.WriteFile(gpath, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(gpath)
	if err != nil {
		t.Fatalf("%v: run testdata/qdq/make_fixtures.sh on amd64", err)
	}
	var rec struct {
		Hashes map[string]string `json:"hashes"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	for k, h := range fixtureHashes {
		if rec.Hashes[k] != h {
			t.Errorf("%s: hash %s, the amd64 run gave %s", k, h, rec.Hashes[k])
		}
	}
}

// The example's embedded model is goldenModel's uint8 variant.
func TestExampleModelFile(t *testing.T) {
	b, err := onnx.Encode(goldenModel(onnx.Uint8))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "example_qdq.onnx")
	if *goldenUpdate {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(have) != string(b) {
		t.Errorf("%s is not goldenModel(uint8): rerun with -golden.update", path)
	}
}
