package ref

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
)

// The ONNX backend test data of ONNX 1.12 (Debian package libonnx-testdata):
// every case whose operators are all implemented here runs, and its outputs
// are compared with the stored ones.
const conformanceRoot = "/usr/share/libonnx-testdata/data"

var conformanceSuites = []string{"node", "pytorch-converted"}

// Tolerances: floats |got - want| <= atol + rtol*|want|; integers exact.
const (
	confRtol = 1e-3
	confAtol = 1e-5
)

// supersededOutputs lists stored outputs that ONNX itself has since
// corrected. ONNX 1.12 wrote the expected output of Cast float32 ->
// bfloat16 by truncating the float32 bits (onnx/backend/test/case/node/
// cast.py keeps the upper 16 bits), which the Cast specification does not
// say (onnx/onnx#3876); newer ONNX releases generate it by rounding to
// nearest even (ml_dtypes), as torch and ONNX Runtime convert. These cases
// still run: the test checks that the stored output is the truncation of the
// input, and compares the interpreter with round-to-nearest-even computed
// here independently (nearest of the two neighbouring bfloat16 values by
// float64 distance, ties to even).
var supersededOutputs = map[string]bool{
	"node/test_cast_FLOAT_to_BFLOAT16":              true,
	"node/test_castlike_FLOAT_to_BFLOAT16_expanded": true,
}

type confCase struct {
	name, dir string
	scope     string // "" when in scope, else the reason it is out
}

func TestConformance(t *testing.T) {
	if _, err := os.Stat(conformanceRoot); err != nil {
		t.Fatalf("ONNX conformance data missing at %s (%v): install the Debian package libonnx-testdata", conformanceRoot, err)
	}
	var cases []confCase
	for _, suite := range conformanceSuites {
		entries, err := os.ReadDir(filepath.Join(conformanceRoot, suite))
		if err != nil {
			t.Fatalf("conformance data: %v", err)
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			dir := filepath.Join(conformanceRoot, suite, e.Name())
			c := confCase{name: suite + "/" + e.Name(), dir: dir}
			c.scope = classify(t, dir)
			cases = append(cases, c)
		}
	}
	passed, inScope := 0, 0
	reasons := map[string][]string{}
	for _, c := range cases {
		if c.scope != "" {
			reasons[c.scope] = append(reasons[c.scope], c.name)
			continue
		}
		inScope++
		if err := runConformanceCase(c, confRtol, confAtol); err != nil {
			t.Errorf("FAIL %s: %v", c.name, err)
			continue
		}
		passed++
		t.Logf("PASS %s", c.name)
	}
	var keys []string
	for k := range reasons {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := 0
	for _, k := range keys {
		out += len(reasons[k])
		t.Logf("out of scope (%s): %d cases: %s", k, len(reasons[k]), strings.Join(reasons[k], " "))
	}
	t.Logf("conformance: %d cases, %d in scope, %d passed, %d out of scope", len(cases), inScope, passed, out)
	for _, k := range keys {
		t.Logf("  out of scope, %s: %d", k, len(reasons[k]))
	}
	if inScope == 0 {
		t.Fatal("no case in scope")
	}
}

// classify returns "" for a case in scope, or the rule that puts it out of
// scope. The rules look only at the model and its inputs, never at a run.
func classify(t *testing.T, dir string) string {
	m, err := onnx.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Errorf("%s: the codec cannot read the model: %v", dir, err)
		return "model unreadable by internal/onnx (reported as an error above)"
	}
	g := m.Graph
	var ops []string
	for _, n := range g.Nodes {
		if !Supported(n.Domain, n.OpType) {
			ops = append(ops, qualified(n.Domain, n.OpType))
		}
	}
	if len(ops) > 0 {
		return "op not in the set"
	}
	for _, vi := range append(append([]*onnx.ValueInfo{}, g.Inputs...), g.Outputs...) {
		if vi.Type != nil && !vi.Type.IsTensor {
			return "sequence or optional values (not tensors)"
		}
	}
	for _, n := range g.Nodes {
		switch n.OpType {
		case "Cast":
			if n.AttrInt("to", 0) == int64(onnx.String) {
				return "Cast to or from string (the set casts numeric types)"
			}
			for _, vi := range g.Inputs {
				if vi.Type != nil && vi.Type.Elem == onnx.String {
					return "Cast to or from string (the set casts numeric types)"
				}
			}
		case "Dropout":
			if dropoutTrains(t, dir, m, n) {
				return "training-mode Dropout with a non-zero ratio (random)"
			}
		}
	}
	return ""
}

// dropoutTrains reports whether a Dropout node runs in training mode with a
// ratio other than 0 in any of the case's data sets.
func dropoutTrains(t *testing.T, dir string, m *onnx.Model, n *onnx.Node) bool {
	if len(n.Inputs) < 3 || n.Inputs[2] == "" {
		return false
	}
	sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	for _, set := range sets {
		vals := map[string]*onnx.Tensor{}
		for _, init := range m.Graph.Initializers {
			vals[init.Name] = init
		}
		for i, vi := range m.Graph.RealInputs() {
			if x, err := onnx.ReadTensorFile(filepath.Join(set, fmt.Sprintf("input_%d.pb", i))); err == nil {
				vals[vi.Name] = x
			}
		}
		tm := vals[n.Inputs[2]]
		ratio := float32(0.5)
		if len(n.Inputs) > 1 && n.Inputs[1] != "" {
			if r := vals[n.Inputs[1]]; r != nil {
				v, _ := r.Float32s()
				if len(v) == 1 {
					ratio = v[0]
				}
			}
		}
		if tm != nil && len(tm.U8) == 1 && tm.U8[0] != 0 && ratio != 0 {
			return true
		}
	}
	return false
}

func runConformanceCase(c confCase, rtol, atol float64) error {
	m, err := onnx.ReadFile(filepath.Join(c.dir, "model.onnx"))
	if err != nil {
		return err
	}
	sets, _ := filepath.Glob(filepath.Join(c.dir, "test_data_set_*"))
	if len(sets) == 0 {
		return fmt.Errorf("no test_data_set_* directory")
	}
	inputs := m.Graph.RealInputs()
	// Two ONNX 1.12 cases (test_castlike_*_BFLOAT16*_expanded) store the
	// unused input "like" with dims [1] against a declared [3 4]. Where a
	// stored input contradicts its declared shape, the declaration is
	// dropped so that the operator itself is tested (Run's shape check is
	// tested in program_test.go).
	for i, vi := range inputs {
		x, err := onnx.ReadTensorFile(filepath.Join(sets[0], fmt.Sprintf("input_%d.pb", i)))
		if err != nil {
			return err
		}
		if vi.Type != nil && vi.Type.HasShape && (&inputSpec{hasShape: true, dims: vi.Type.Shape}).check(x) != nil {
			vi.Type.HasShape = false
		}
	}
	p, err := Compile(m)
	if err != nil {
		return err
	}
	for _, set := range sets {
		feed := map[string]*onnx.Tensor{}
		for i, vi := range inputs {
			x, err := onnx.ReadTensorFile(filepath.Join(set, fmt.Sprintf("input_%d.pb", i)))
			if err != nil {
				return err
			}
			// ONNX 1.12 stored bfloat16 data as uint16 tensors.
			if vi.Type != nil && vi.Type.Elem == onnx.BFloat16 && x.DataType == onnx.Uint16 {
				x = bfloatFromUint16(x)
			}
			feed[vi.Name] = x
		}
		got, err := p.Run(feed)
		if err != nil {
			return fmt.Errorf("%s: %v", filepath.Base(set), err)
		}
		for i, vi := range m.Graph.Outputs {
			want, err := onnx.ReadTensorFile(filepath.Join(set, fmt.Sprintf("output_%d.pb", i)))
			if err != nil {
				return err
			}
			if want.DataType == onnx.Uint16 && got[vi.Name].DataType == onnx.BFloat16 {
				want = bfloatFromUint16(want)
			}
			if supersededOutputs[c.name] {
				if want, err = supersede(feed[inputs[0].Name], want); err != nil {
					return err
				}
			}
			if err := compareTensors(got[vi.Name], want, rtol, atol); err != nil {
				return fmt.Errorf("%s output %q: %v", filepath.Base(set), vi.Name, err)
			}
		}
	}
	return nil
}

func bfloatFromUint16(x *onnx.Tensor) *onnx.Tensor {
	y := &onnx.Tensor{Name: x.Name, DataType: onnx.BFloat16, Dims: x.Dims, U16: make([]uint16, len(x.I32))}
	for i, v := range x.I32 {
		y.U16[i] = uint16(v)
	}
	return y
}

// supersede checks that the stored float32 -> bfloat16 output is the
// truncation of the input, and returns the round-to-nearest-even result.
func supersede(in, stored *onnx.Tensor) (*onnx.Tensor, error) {
	want := &onnx.Tensor{DataType: onnx.BFloat16, Dims: stored.Dims, U16: make([]uint16, len(in.F32))}
	for i, f := range in.F32 {
		bits := math.Float32bits(f)
		if stored.U16[i] != uint16(bits>>16) {
			return nil, fmt.Errorf("stored output %d is %#04x, not the truncation %#04x: the data changed, revisit supersededOutputs", i, stored.U16[i], bits>>16)
		}
		want.U16[i] = nearestBFloat16(f)
	}
	return want, nil
}

// nearestBFloat16 rounds to nearest, ties to even, by comparing the two
// neighbouring bfloat16 values in float64.
func nearestBFloat16(f float32) uint16 {
	if f != f {
		return 0x7fc0
	}
	lo := uint16(math.Float32bits(f) >> 16)
	hi := lo + 1
	if math.Float32bits(f)&0xffff == 0 {
		return lo
	}
	vl := float64(math.Float32frombits(uint32(lo) << 16))
	vh := float64(math.Float32frombits(uint32(hi) << 16))
	dl, dh := math.Abs(float64(f)-vl), math.Abs(vh-float64(f))
	if dl < dh || (dl == dh && lo%2 == 0) {
		return lo
	}
	return hi
}

// compareTensors checks type, shape and values.
func compareTensors(got, want *onnx.Tensor, rtol, atol float64) error {
	if got == nil {
		return fmt.Errorf("missing output")
	}
	if got.DataType != want.DataType {
		return fmt.Errorf("type %v, want %v", got.DataType, want.DataType)
	}
	if !equalDims(got.Dims, want.Dims) {
		return fmt.Errorf("dims %v, want %v", got.Dims, want.Dims)
	}
	if got.Len() != want.Len() {
		return fmt.Errorf("%d elements, want %d", got.Len(), want.Len())
	}
	if isFloat(got.DataType) {
		g, _ := got.Float32s()
		w, _ := want.Float32s()
		bad, worst, at := 0, 0.0, -1
		for i := range g {
			a, b := float64(g[i]), float64(w[i])
			if math.IsNaN(a) && math.IsNaN(b) || a == b {
				continue
			}
			d := math.Abs(a - b)
			if d > atol+rtol*math.Abs(b) || math.IsNaN(d) {
				bad++
				if d > worst || at < 0 {
					worst, at = d, i
				}
			}
		}
		if bad > 0 {
			return fmt.Errorf("%d of %d values differ; worst at %d: got %g, want %g", bad, len(g), at, g[at], w[at])
		}
		return nil
	}
	switch got.DataType {
	case onnx.String:
		for i := range got.Strs {
			if string(got.Strs[i]) != string(want.Strs[i]) {
				return fmt.Errorf("element %d: %q, want %q", i, got.Strs[i], want.Strs[i])
			}
		}
		return nil
	case onnx.Uint64, onnx.Uint32:
		for i := range got.U64 {
			if got.U64[i] != want.U64[i] {
				return fmt.Errorf("element %d: %d, want %d", i, got.U64[i], want.U64[i])
			}
		}
		return nil
	}
	g, err := got.Int64s()
	if err != nil {
		return err
	}
	w, _ := want.Int64s()
	for i := range g {
		if g[i] != w[i] {
			return fmt.Errorf("element %d: %d, want %d", i, g[i], w[i])
		}
	}
	return nil
}
