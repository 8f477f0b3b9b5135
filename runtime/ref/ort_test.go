package ref

import (
	"math"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/internal/ortrun"
)

// Cross-checks with ONNX Runtime 1.30 (internal/ortrun; scripts/install-ort.sh
// installs it). ORT is the reference of the com.microsoft operators.

func needORT(t *testing.T) {
	t.Helper()
	if _, err := ortrun.Find(); err != nil {
		t.Fatal(err)
	}
}

// ortCompare runs model m with the given inputs in ONNX Runtime (graph
// optimizations off, so each node runs its own kernel) and here, and
// returns the number of integer elements that differ and the largest
// difference.
func ortCompare(t *testing.T, m *onnx.Model, inputs []*onnx.Tensor) (n, differ int, worst int64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := onnx.WriteFile(path, m); err != nil {
		t.Fatal(err)
	}
	want, err := ortrun.Run(path, inputs, ortrun.Options{OptLevel: "disabled"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	feed := map[string]*onnx.Tensor{}
	for _, x := range inputs {
		feed[x.Name] = x
	}
	out, err := p.Run(feed)
	if err != nil {
		t.Fatal(err)
	}
	got := out[p.OutputNames()[0]]
	if !equalDims(got.Dims, want[0].Dims) || got.DataType != want[0].DataType {
		t.Fatalf("got %v %v, ONNX Runtime %v %v", got.DataType, got.Dims, want[0].DataType, want[0].Dims)
	}
	g, _ := got.Int64s()
	w, _ := want[0].Int64s()
	for i := range g {
		if d := g[i] - w[i]; d != 0 {
			differ++
			worst = max(worst, d, -d)
		}
	}
	return len(g), differ, worst
}

func randQuant(rng *rand.Rand, dt onnx.DataType, name string, dims ...int64) *onnx.Tensor {
	t, _ := newTensor(dt, dims)
	t.Name = name
	for i := range t.U8 {
		t.U8[i] = uint8(rng.Intn(256))
	}
	for i := range t.I8 {
		t.I8[i] = int8(rng.Intn(256) - 128)
	}
	return t
}

func zeroPoint(rng *rand.Rand, dt onnx.DataType, name string) *onnx.Tensor {
	return randQuant(rng, dt, name)
}

func scale(rng *rand.Rand, name string) *onnx.Tensor {
	return onnx.NewFloat(name, onnx.Scalar, []float32{float32(math.Exp(rng.Float64()*4 - 5))})
}

func contribModel(node *onnx.Node, inits []*onnx.Tensor, inputs []*onnx.Tensor) *onnx.Model {
	g := &onnx.Graph{Name: "contrib", Nodes: []*onnx.Node{node}, Initializers: inits}
	for _, x := range inputs {
		g.Inputs = append(g.Inputs, onnx.TensorInfo(x.Name, x.DataType, dimsAny(x.Dims)...))
	}
	g.Outputs = []*onnx.ValueInfo{{Name: node.Outputs[0]}}
	return &onnx.Model{IRVersion: 8, OpsetImports: []onnx.OpsetID{{Version: 13}, {Domain: "com.microsoft", Version: 1}}, Graph: g}
}

func dimsAny(d []int64) []any {
	out := make([]any, len(d))
	for i, v := range d {
		out[i] = v
	}
	return out
}

// TestORTContribOps compares QLinearAdd, QLinearGlobalAveragePool and
// QLinearConcat with ONNX Runtime on random data, scales and zero points.
func TestORTContribOps(t *testing.T) {
	needORT(t)
	seed := int64(31)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	var stats = map[string][3]int64{}
	add := func(op string, n, d int, w int64) {
		s := stats[op]
		stats[op] = [3]int64{s[0] + int64(n), s[1] + int64(d), max(s[2], w)}
	}
	for it := 0; it < 12; it++ {
		dt := []onnx.DataType{onnx.Uint8, onnx.Int8}[it%2]
		// QLinearAdd, B broadcast along rows, or a scalar.
		bdims := [][]int64{{2, 16, 15, 17}, {16, 1, 1}, {1}}[it%3]
		a := randQuant(rng, dt, "a", 2, 16, 15, 17)
		b := randQuant(rng, dt, "b", bdims...)
		inits := []*onnx.Tensor{scale(rng, "as"), zeroPoint(rng, dt, "az"), scale(rng, "bs"), zeroPoint(rng, dt, "bz"), scale(rng, "cs"), zeroPoint(rng, dt, "cz")}
		n, d, w := ortCompare(t, contribModel(&onnx.Node{Domain: "com.microsoft", OpType: "QLinearAdd",
			Inputs: []string{"a", "as", "az", "b", "bs", "bz", "cs", "cz"}, Outputs: []string{"c"}}, inits, []*onnx.Tensor{a, b}), []*onnx.Tensor{a, b})
		add("QLinearAdd", n, d, w)

		// QLinearGlobalAveragePool, NCHW and NHWC.
		x := randQuant(rng, dt, "x", 2, 64, 6, 7)
		inits = []*onnx.Tensor{scale(rng, "xs"), zeroPoint(rng, dt, "xz"), scale(rng, "ys"), zeroPoint(rng, dt, "yz")}
		inits[2].F32[0] = inits[0].F32[0] * float32(0.2+rng.Float64()) // a sane output range
		n, d, w = ortCompare(t, contribModel(&onnx.Node{Domain: "com.microsoft", OpType: "QLinearGlobalAveragePool",
			Inputs: []string{"x", "xs", "xz", "ys", "yz"}, Outputs: []string{"y"},
			Attrs: []*onnx.Attribute{onnx.AttrI("channels_last", int64(it/2%2))}}, inits, []*onnx.Tensor{x}), []*onnx.Tensor{x})
		add("QLinearGlobalAveragePool", n, d, w)

		// QLinearConcat of three inputs, one with Y's parameters.
		ys, yz := scale(rng, "ys"), zeroPoint(rng, dt, "yz")
		x0, x1, x2 := randQuant(rng, dt, "x0", 1, 2, 256), randQuant(rng, dt, "x1", 1, 3, 256), randQuant(rng, dt, "x2", 1, 1, 256)
		inits = []*onnx.Tensor{ys, yz, scale(rng, "s0"), zeroPoint(rng, dt, "z0"), onnx.NewFloat("s1", onnx.Scalar, ys.F32), cloneNamed(yz, "z1"), scale(rng, "s2"), zeroPoint(rng, dt, "z2")}
		n, d, w = ortCompare(t, contribModel(&onnx.Node{Domain: "com.microsoft", OpType: "QLinearConcat",
			Inputs: []string{"ys", "yz", "x0", "s0", "z0", "x1", "s1", "z1", "x2", "s2", "z2"}, Outputs: []string{"y"},
			Attrs: []*onnx.Attribute{onnx.AttrI("axis", 1)}}, inits, []*onnx.Tensor{x0, x1, x2}), []*onnx.Tensor{x0, x1, x2})
		add("QLinearConcat", n, d, w)
	}
	for _, op := range []string{"QLinearAdd", "QLinearGlobalAveragePool", "QLinearConcat"} {
		s := stats[op]
		t.Logf("%s: %d elements, %d differ from ONNX Runtime, largest difference %d", op, s[0], s[1], s[2])
		if s[1] != 0 {
			t.Errorf("%s: %d of %d elements differ from ONNX Runtime (largest %d)", op, s[1], s[0], s[2])
		}
	}
}

func cloneNamed(t *onnx.Tensor, name string) *onnx.Tensor {
	c := cloneTensor(t)
	c.Name = name
	return c
}

// TestORTResNets compares the float ResNets with ONNX Runtime (all graph
// optimizations) at 224x224 (-short: ResNet-18 at 97x131).
func TestORTResNets(t *testing.T) {
	needORT(t)
	loadTorchManifest(t)
	names, size := []string{"resnet18", "resnet50"}, "224x224"
	if testing.Short() {
		names, size = names[:1], "97x131"
	}
	for _, name := range names {
		dir := filepath.Join(torchGen, "models", name)
		m, err := onnx.ReadFile(filepath.Join(dir, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		p, err := Compile(m)
		if err != nil {
			t.Fatal(err)
		}
		x, err := onnx.ReadTensorFile(filepath.Join(dir, size, "input_0.pb"))
		if err != nil {
			t.Fatal(err)
		}
		x.Name = "input"
		want, err := ortrun.Run(filepath.Join(dir, "model.onnx"), []*onnx.Tensor{x}, ortrun.Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		out, err := p.Run(map[string]*onnx.Tensor{"input": x})
		if err != nil {
			t.Fatal(err)
		}
		var diff, top float64
		for i, w := range want[0].F32 {
			diff = max(diff, math.Abs(float64(out["logits"].F32[i]-w)))
			top = max(top, math.Abs(float64(w)))
		}
		t.Logf("%s %s: max|ref - ORT| / max|logit| = %.2e", name, size, diff/top)
		if diff/top > 1e-4 {
			t.Errorf("%s: max|ref - ORT| / max|logit| = %.2e, want <= 1e-4", name, diff/top)
		}
	}
}

// TestORTQuantizedOps compares QuantizeLinear, DequantizeLinear,
// QLinearConv (per-channel weights) and QLinearMatMul with ONNX Runtime.
// ONNX Runtime multiplies the int32 accumulator by the float32 multiplier
// in float32 where the ONNX reference (and this package) multiplies in
// float64, so the two may differ by one step where the product lies within
// float32 rounding of a half; the test reports how often and requires at
// most one step on at most 0.1% of the elements.
func TestORTQuantizedOps(t *testing.T) {
	needORT(t)
	seed := int64(57)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	type stat struct {
		n, d int
		w    int64
	}
	stats := map[string]*stat{}
	add := func(op string, n, d int, w int64) {
		s := stats[op]
		if s == nil {
			s = &stat{}
			stats[op] = s
		}
		s.n, s.d, s.w = s.n+n, s.d+d, max(s.w, w)
	}
	for it := 0; it < 8; it++ {
		dt := []onnx.DataType{onnx.Uint8, onnx.Int8}[it%2]
		// QuantizeLinear per axis of float data.
		x := f32([]int64{2, 8, 5, 5}, make([]float32, 400)...)
		x.Name = "x"
		for i := range x.F32 {
			x.F32[i] = float32(rng.NormFloat64() * 3)
		}
		sc := onnx.NewFloat("s", []int64{8}, make([]float32, 8))
		zp := randQuant(rng, dt, "z", 8)
		for i := range sc.F32 {
			sc.F32[i] = float32(math.Exp(rng.Float64()*3 - 4))
		}
		n, d, w := ortCompare(t, contribModel(&onnx.Node{OpType: "QuantizeLinear", Inputs: []string{"x", "s", "z"}, Outputs: []string{"y"}},
			[]*onnx.Tensor{sc, zp}, []*onnx.Tensor{x}), []*onnx.Tensor{x})
		add("QuantizeLinear", n, d, w)

		// QLinearConv, 3x3 stride 2 pad 1, per-channel int8 weights. With
		// uint8 activations the weights stay in [-64, 63]: ONNX Runtime's
		// x86 u8s8 kernels add pairs of products in int16 with saturation
		// (VPMADDUBSW), so with full-range weights they differ from the exact
		// result by up to 255 steps on ~10% of random outputs (measured
		// here; pairs of 255*64 cannot saturate).
		xq := randQuant(rng, dt, "x", 1, 6, 11, 9)
		wq := randQuant(rng, onnx.Int8, "w", 8, 6, 3, 3)
		if dt == onnx.Uint8 {
			for i := range wq.I8 {
				wq.I8[i] /= 2
			}
		}
		ws := onnx.NewFloat("ws", []int64{8}, make([]float32, 8))
		for i := range ws.F32 {
			ws.F32[i] = float32(math.Exp(rng.Float64()*2 - 6))
		}
		bias := onnx.NewInt32("b", []int64{8}, make([]int32, 8))
		for i := range bias.I32 {
			bias.I32[i] = int32(rng.Intn(20001) - 10000)
		}
		xs, ys := scale(rng, "xs"), scale(rng, "ys")
		ys.F32[0] = xs.F32[0] * ws.F32[0] * float32(20+rng.Intn(200)) // outputs span the range
		inits := []*onnx.Tensor{xs, zeroPoint(rng, dt, "xz"), wq, ws, onnx.NewInt8("wz", []int64{8}, make([]int8, 8)), ys, zeroPoint(rng, dt, "yz"), bias}
		n, d, w = ortCompare(t, contribModel(&onnx.Node{OpType: "QLinearConv", Inputs: []string{"x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"}, Outputs: []string{"y"},
			Attrs: []*onnx.Attribute{onnx.AttrIs("pads", 1, 1, 1, 1), onnx.AttrIs("strides", 2, 2)}}, inits, []*onnx.Tensor{xq}), []*onnx.Tensor{xq})
		add("QLinearConv", n, d, w)

		// QLinearMatMul [3 17 40] x [40 23].
		a := randQuant(rng, dt, "a", 3, 17, 40)
		bq := randQuant(rng, dt, "b", 40, 23)
		as, bs, yms := scale(rng, "as"), scale(rng, "bs"), scale(rng, "ys")
		yms.F32[0] = as.F32[0] * bs.F32[0] * float32(100+rng.Intn(500))
		inits = []*onnx.Tensor{as, zeroPoint(rng, dt, "az"), bq, bs, zeroPoint(rng, dt, "bz"), yms, zeroPoint(rng, dt, "yz")}
		n, d, w = ortCompare(t, contribModel(&onnx.Node{OpType: "QLinearMatMul", Inputs: []string{"a", "as", "az", "b", "bs", "bz", "ys", "yz"}, Outputs: []string{"y"}},
			inits, []*onnx.Tensor{a}), []*onnx.Tensor{a})
		add("QLinearMatMul", n, d, w)
	}
	for _, op := range []string{"QuantizeLinear", "QLinearConv", "QLinearMatMul"} {
		s := stats[op]
		t.Logf("%s: %d elements, %d differ from ONNX Runtime (%.3f%%), largest difference %d", op, s.n, s.d, 100*float64(s.d)/float64(s.n), s.w)
		if s.w > 1 || s.d*1000 > s.n {
			t.Errorf("%s: %d of %d elements differ from ONNX Runtime, by up to %d steps (want at most 0.1%% by one step)", op, s.d, s.n, s.w)
		}
	}
}
