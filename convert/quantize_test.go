package convert

import (
	"bytes"
	"encoding/json"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/quant"
	"github.com/piresnet/piresnet/runtime"
)

var methods = []quant.Method{quant.MinMax, quant.Percentile(99.99), quant.Entropy, quant.MSE}

// quantized caches conversions shared by several tests.
type convKey struct {
	model  string
	method string
	act    quant.QType
}

var convCache = map[convKey]struct {
	m   *onnx.Model
	rep *Report
}{}

// convertFixture converts a fixture model with 48 calibration inputs
// (40x48) drawn like the fixture's own inputs, and 16 held back.
func convertFixture(t *testing.T, name string, method quant.Method, act quant.QType) (*onnx.Model, *Report) {
	t.Helper()
	k := convKey{name, method.String(), act}
	if c, ok := convCache[k]; ok {
		return c.m, c.rep
	}
	m := readModel(t, fixture(t, name+".onnx"))
	q, rep, err := Quantize(m, variedImages(64, 3, 40, 48, 1), Options{Method: method, Activations: act, Count: 48, Held: 16})
	if err != nil {
		t.Fatal(err)
	}
	convCache[k] = struct {
		m   *onnx.Model
		rep *Report
	}{q, rep}
	return q, rep
}

// pyCheck runs python3-onnx's full checker on the models.
func pyCheck(t *testing.T, models ...*onnx.Model) {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i, m := range models {
		p := filepath.Join(dir, "m"+string(rune('a'+i))+".onnx")
		if err := onnx.WriteFile(p, m); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	cmd := exec.Command(python, append([]string{filepath.Join("..", "internal", "onnx", "testdata", "pyonnx.py"), "check"}, paths...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("python3-onnx's checker (%s with python3-onnx) refuses the model: %v\n%s", python, err, out)
	}
}

// runInt8 runs a quantized model on the int8 engine.
func runInt8(t testing.TB, m *onnx.Model, x *onnx.Tensor) []float32 {
	t.Helper()
	rm, err := runtime.Compile(m, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := rm.NewSession()
	defer s.Close()
	out, err := s.Run(map[string]*onnx.Tensor{"input": x})
	if err != nil {
		t.Fatal(err)
	}
	return out[rm.OutputNames()[0]].F32
}

// TestQuantizeMethods converts the fastai-style fixture with each
// calibration method and checks the ranges against what the method
// promises, the model against python3-onnx's checker, and the int8
// engine's logits against the float model on the fixture's inputs.
func TestQuantizeMethods(t *testing.T) {
	var models []*onnx.Model
	reports := map[string]*Report{}
	for _, name := range []string{"tiny_plain", "tiny_fastai"} {
		x := onnx.NewFloat("input", []int64{4, 3, 40, 48}, readF32(t, fixture(t, name+".in.f32")))
		want := readF32(t, fixture(t, name+".out.f32"))
		for _, method := range methods {
			q, rep := convertFixture(t, name, method, quant.Uint8)
			models = append(models, q)
			got := runInt8(t, q, x)
			s := sqnrDB(want, got)
			t.Logf("%s %-16s logits SQNR %.1f dB against torch; report: %s dB on held-back inputs", name, method, s, rep.Tensors[len(rep.Tensors)-1].SQNR)
			if v, _ := q.Metadata(KeyQuantMethod); v != method.String() {
				t.Errorf("%s: metadata method %q", method, v)
			}
			if name == "tiny_fastai" {
				// Its head normalizes pooled features whose spread across
				// images is a few quantization steps (random weights), which
				// int8 cannot resolve: it is here for the ranges.
				reports[method.String()] = rep
				continue
			}
			// 30 dB: the logits' error is 3 % of their magnitude, what
			// per-channel int8 weights and 8-bit activations give a small
			// ResNet (about 6 dB per bit, minus the error accumulated over
			// 8 layers). Random weights leave near ties between classes,
			// so top-1 is compared on the trained model (accuracy_test.go).
			if s < 30 {
				t.Errorf("%s %s: int8 logits %.1f dB from torch's, want >= 30 dB", name, method, s)
			}
		}
	}
	pyCheck(t, models...)

	// The promises of each method, tensor by tensor.
	mm := reports["minmax"]
	for i, r := range mm.Tensors {
		if r.Lo != float32(math.Min(r.Min, 0)) || r.Hi != float32(math.Max(r.Max, 0)) {
			t.Errorf("minmax %s: range [%g, %g], observed [%g, %g]", r.Name, r.Lo, r.Hi, r.Min, r.Max)
		}
		for _, name := range []string{"percentile:99.99", "entropy", "mse"} {
			o := reports[name].Tensors[i]
			if o.Name != r.Name || o.Min != r.Min || o.Max != r.Max {
				t.Fatalf("%s: tensor %d is %s, minmax has %s", name, i, o.Name, r.Name)
			}
			if o.Lo < r.Lo || o.Hi > r.Hi {
				t.Errorf("%s %s: range [%g, %g] outside the observed [%g, %g]", name, r.Name, o.Lo, o.Hi, r.Lo, r.Hi)
			}
		}
	}
	for _, name := range []string{"percentile:99.99", "entropy", "mse"} {
		narrower := 0
		for i, r := range reports[name].Tensors {
			if r.Hi-r.Lo < mm.Tensors[i].Hi-mm.Tensors[i].Lo {
				narrower++
			}
		}
		if narrower == 0 {
			t.Errorf("%s clips no tensor: it chose the observed range everywhere", name)
		}
	}
}

// TestQDQForm checks the structure of the quantized graph: every compute
// node reads DequantizeLinear outputs (or constants for shapes and clip
// bounds) and writes into a QuantizeLinear (through an absorbed Relu or
// Clip at most); weights are int8 per output channel behind axis-0
// DequantizeLinear, biases int32 with scale input scale × weight scale;
// max pooling, flattening and the concatenation's inputs keep their
// parameters; the metadata of the float model is kept.
func TestQDQForm(t *testing.T) {
	float := readModel(t, fixture(t, "tiny_fastai.onnx"))
	float.SetMetadata("piresnet.labels", `["a"]`)
	q, _, err := Quantize(float, synthetic(20, 3, 40, 48, 2), Options{Count: 16, Held: -1})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := q.Metadata("piresnet.labels"); !ok || v != `["a"]` {
		t.Error("float metadata lost")
	}
	for _, k := range []string{KeyQuantMethod, KeyQuantActivations, KeyQuantWeights, KeyQuantCalibration} {
		if _, ok := q.Metadata(k); !ok {
			t.Errorf("metadata %s missing", k)
		}
	}
	g := q.Graph
	consts := map[string]*onnx.Tensor{}
	for _, c := range g.Initializers {
		consts[c.Name] = c
	}
	prod := map[string]*onnx.Node{}
	cons := map[string][]*onnx.Node{}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			prod[o] = n
		}
		for _, in := range n.Inputs {
			cons[in] = append(cons[in], n)
		}
	}
	params := func(qn *onnx.Node) (float32, int32) {
		return consts[qn.Inputs[1]].F32[0], int32(consts[qn.Inputs[2]].U8[0])
	}
	// qOf returns the QuantizeLinear a compute node's output goes into.
	qOf := func(n *onnx.Node) *onnx.Node {
		next := cons[n.Outputs[0]]
		if len(next) != 1 {
			t.Fatalf("%s: output read by %d nodes", n, len(next))
		}
		if next[0].OpType == "Relu" || next[0].OpType == "Clip" {
			next = cons[next[0].Outputs[0]]
		}
		if len(next) != 1 || next[0].OpType != "QuantizeLinear" {
			t.Fatalf("%s: output not quantized", n)
		}
		return next[0]
	}
	// dqIn returns the QuantizeLinear behind an activation input.
	dqIn := func(n *onnx.Node, name string) *onnx.Node {
		dq := prod[name]
		if dq == nil || dq.OpType != "DequantizeLinear" {
			t.Fatalf("%s: input %q not from DequantizeLinear", n, name)
		}
		qn := prod[dq.Inputs[0]]
		if qn == nil || qn.OpType != "QuantizeLinear" {
			t.Fatalf("%s: input %q: DequantizeLinear of a constant", n, name)
		}
		return qn
	}
	computed := 0
	for _, n := range g.Nodes {
		switch n.OpType {
		case "QuantizeLinear", "DequantizeLinear":
			continue
		case "Relu", "Clip":
			if prod[n.Inputs[0]].OpType == "DequantizeLinear" {
				t.Errorf("%s is not absorbed into its producer", n)
			}
			continue
		}
		computed++
		qo := qOf(n)
		switch n.OpType {
		case "Conv", "Gemm":
			qi := dqIn(n, n.Inputs[0])
			xs, _ := params(qi)
			wdq := prod[n.Inputs[1]]
			w := consts[wdq.Inputs[0]]
			ws := consts[wdq.Inputs[1]]
			if w.DataType != onnx.Int8 || wdq.AttrInt("axis", 1) != 0 || len(ws.F32) != int(w.Dims[0]) {
				t.Errorf("%s: weight %v dims %v axis %d with %d scales", n, w.DataType, w.Dims, wdq.AttrInt("axis", 1), len(ws.F32))
			}
			for _, v := range w.I8 {
				if v == -128 {
					t.Fatalf("%s: weight -128 outside [-127, 127]", n)
				}
			}
			if len(n.Inputs) > 2 {
				bdq := prod[n.Inputs[2]]
				b, bs := consts[bdq.Inputs[0]], consts[bdq.Inputs[1]]
				if b.DataType != onnx.Int32 {
					t.Errorf("%s: bias is %v", n, b.DataType)
				}
				for c := range bs.F32 {
					if bs.F32[c] != xs*ws.F32[c] {
						t.Fatalf("%s: bias scale %g, want %g·%g", n, bs.F32[c], xs, ws.F32[c])
					}
				}
			}
		case "MaxPool", "GlobalMaxPool", "Flatten":
			s1, z1 := params(dqIn(n, n.Inputs[0]))
			s2, z2 := params(qo)
			if s1 != s2 || z1 != z2 {
				t.Errorf("%s: input (%g, %d) and output (%g, %d) parameters differ", n, s1, z1, s2, z2)
			}
		case "Concat":
			so, zo := params(qo)
			for _, in := range n.Inputs {
				if s, z := params(dqIn(n, in)); s != so || z != zo {
					t.Errorf("%s: input %s (%g, %d) differs from the output (%g, %d)", n, in, s, z, so, zo)
				}
			}
		default:
			for _, in := range n.Inputs {
				dqIn(n, in)
			}
		}
	}
	if computed != 17 {
		t.Errorf("%d compute nodes, want 17 (7 Conv, 2 Gemm, 2 Add, 2 poolings by maximum, 2 by average, Concat, Flatten)", computed)
	}
	out := prod[g.Outputs[0].Name]
	if out.OpType != "DequantizeLinear" {
		t.Errorf("graph output from %s", out)
	}
	if in := cons[g.Inputs[0].Name]; len(in) != 1 || in[0].OpType != "QuantizeLinear" {
		t.Errorf("graph input read by %v", in)
	}
}

// TestQuantizeInt8Activations: --activations int8 gives int8 zero points
// (asymmetric, −128 for ReLU outputs) and the same accuracy as uint8.
func TestQuantizeInt8Activations(t *testing.T) {
	qs, rep := convertFixture(t, "tiny_fastai", quant.MSE, quant.Int8)
	_, repU := convertFixture(t, "tiny_fastai", quant.MSE, quant.Uint8)
	for i, r := range rep.Tensors {
		u := repU.Tensors[i]
		if r.Type != "int8" || r.Scale != u.Scale || r.ZeroPoint != u.ZeroPoint-128 {
			t.Errorf("%s: int8 (%g, %d), uint8 (%g, %d)", r.Name, r.Scale, r.ZeroPoint, u.Scale, u.ZeroPoint)
		}
		if r.SQNR < u.SQNR-1 {
			t.Errorf("%s: SQNR %s dB with int8, %s with uint8", r.Name, r.SQNR, u.SQNR)
		}
	}
	for _, c := range qs.Graph.Initializers {
		if strings.HasSuffix(c.Name, "_zero_point") && c.DataType == onnx.Uint8 {
			t.Fatalf("%s is uint8", c.Name)
		}
	}
	pyCheck(t, qs)
}

// TestReport: one row per quantized tensor, finite SQNR from the int8
// engine, JSON that reads back, a table on one line per tensor.
func TestReport(t *testing.T) {
	q, rep := convertFixture(t, "tiny_fastai", quant.Entropy, quant.Uint8)
	nq := 0
	for _, n := range q.Graph.Nodes {
		if n.OpType == "QuantizeLinear" {
			nq++
		}
	}
	if len(rep.Tensors) != nq || len(rep.Weights) != 9 {
		t.Errorf("%d tensor rows for %d QuantizeLinear, %d weight rows for 9 weights", len(rep.Tensors), nq, len(rep.Weights))
	}
	if rep.Engine != EngineRuntime || len(rep.Fallback) != 0 || rep.Calibration != 48 || rep.HeldBack != 16 {
		t.Errorf("engine %s, fallback %v, %d + %d samples", rep.Engine, rep.Fallback, rep.Calibration, rep.HeldBack)
	}
	for _, r := range rep.Tensors {
		if !(r.Scale > 0) || r.ZeroPoint < 0 || r.ZeroPoint > 255 || math.IsNaN(float64(r.SQNR)) || math.IsInf(float64(r.SQNR), 0) ||
			math.IsNaN(float64(r.LocalSQNR)) || !(r.Clipped >= 0 && r.Clipped <= 1) || r.Lo > 0 || r.Hi < 0 {
			t.Errorf("row %+v", r)
		}
		if strings.HasSuffix(r.Op, "Relu") && r.ZeroPoint != 0 {
			t.Errorf("%s: ReLU output with zero point %d", r.Name, r.ZeroPoint)
		}
	}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Tensors) != len(rep.Tensors) || back.Tensors[3].Scale != rep.Tensors[3].Scale ||
		math.Abs(float64(back.Tensors[3].SQNR-rep.Tensors[3].SQNR)) > 0.01 {
		t.Errorf("JSON round trip: %+v", back.Tensors[3])
	}
	buf.Reset()
	rep.WriteTable(&buf)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2+len(rep.Tensors)+1 || !strings.Contains(lines[0], "entropy, uint8 activations, 48 samples") {
		t.Errorf("table:\n%s", buf.String())
	}
	// The reference engine gives the same report within rounding.
	m := readModel(t, fixture(t, "tiny_fastai.onnx"))
	_, rr, err := Quantize(m, variedImages(64, 3, 40, 48, 1), Options{Method: quant.Entropy, Count: 48, Held: 16, Engine: EngineRef})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rr.Tensors {
		if r.Scale != rep.Tensors[i].Scale || math.Abs(float64(r.SQNR-rep.Tensors[i].SQNR)) > 1 {
			t.Errorf("%s: ref engine %s dB, int8 engine %s dB", r.Name, r.SQNR, rep.Tensors[i].SQNR)
		}
	}
	if rr.Engine != EngineRef {
		t.Errorf("engine %s", rr.Engine)
	}
}

func TestQuantizeOptionsErrors(t *testing.T) {
	m := readModel(t, fixture(t, "tiny_plain.onnx"))
	cal := synthetic(4, 3, 16, 16, 3)
	for name, o := range map[string]Options{
		"activations": {Activations: 7}, "count": {Count: -1}, "engine": {Engine: "gpu"},
		"percentile": {Method: quant.Percentile(120)},
	} {
		if _, _, err := Quantize(m, cal, o); err == nil || !strings.HasPrefix(err.Error(), "convert: ") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, _, err := Quantize(m, TensorCalibration{}, Options{}); err == nil {
		t.Error("no calibration samples accepted")
	}
	// A small source: the held-back share shrinks to a tenth.
	_, rep, err := Quantize(m, cal, Options{Count: 100})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Calibration != 4 || rep.HeldBack != 0 {
		t.Errorf("%d + %d samples of 4", rep.Calibration, rep.HeldBack)
	}
}

// TestMultiCalibration: calibrating with the same images at two sizes
// sees every value of both (min/max ranges contain each size's ranges).
func TestMultiCalibration(t *testing.T) {
	m := readModel(t, fixture(t, "tiny_plain.onnx"))
	small, large := variedImages(20, 3, 24, 32, 7), variedImages(20, 3, 48, 64, 7)
	opt := Options{Method: quant.MinMax, Count: 16, Held: 4}
	_, rs, err := Quantize(m, small, opt)
	if err != nil {
		t.Fatal(err)
	}
	_, rl, err := Quantize(m, large, opt)
	if err != nil {
		t.Fatal(err)
	}
	var last int
	opt.Progress = func(stage string, done, total int) {
		if stage == "calibrating" {
			if total != 32 {
				t.Errorf("progress total %d, want 2 sizes × 16", total)
			}
			last = done
		}
	}
	_, rm, err := Quantize(m, MultiCalibration{small, large}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if last != 32 || rm.Calibration != 16 {
		t.Errorf("progress ended at %d, %d calibration samples", last, rm.Calibration)
	}
	for i, r := range rm.Tensors {
		if r.Min != min(rs.Tensors[i].Min, rl.Tensors[i].Min) || r.Max != max(rs.Tensors[i].Max, rl.Tensors[i].Max) {
			t.Errorf("%s: observed [%g, %g], sizes alone [%g, %g] and [%g, %g]", r.Name, r.Min, r.Max,
				rs.Tensors[i].Min, rs.Tensors[i].Max, rl.Tensors[i].Min, rl.Tensors[i].Max)
		}
	}
	if _, _, err := Quantize(m, MultiCalibration{small, variedImages(3, 3, 8, 8, 1)}, opt); err == nil {
		t.Error("members of different lengths accepted")
	}
}
