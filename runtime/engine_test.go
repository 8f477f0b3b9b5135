package runtime

import (
	"flag"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/runtime/ref"
)

var seedFlag = flag.Uint64("seed", 0, "seed of the randomized tests (0: from the clock)")

func newRandSeed(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }

func newRand(t testing.TB) *rand.Rand {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -seed %d)", seed, seed)
	return rand.New(rand.NewPCG(seed, 7))
}

// outputScale returns the scale of the DequantizeLinear that produces a
// graph output (one output step).
func outputScale(t testing.TB, m *onnx.Model, name string) float32 {
	for _, n := range m.Graph.Nodes {
		if n.OpType == "DequantizeLinear" && n.Outputs[0] == name {
			for _, in := range m.Graph.Initializers {
				if in.Name == n.Inputs[1] {
					return in.F32[0]
				}
			}
		}
	}
	t.Fatalf("output %q has no DequantizeLinear", name)
	return 0
}

// agreement counts identical outputs and the largest difference in output
// steps between the engine and another result.
type agreement struct {
	same, total int
	maxSteps    int
}

func (a *agreement) add(t testing.TB, got, want *onnx.Tensor, scale float32) {
	if got == nil || want == nil || len(got.F32) != len(want.F32) {
		t.Fatalf("outputs differ in shape: %v vs %v", got, want)
	}
	for i := range got.F32 {
		d := int(math.Round(math.Abs(float64(got.F32[i]-want.F32[i])) / float64(scale)))
		a.total++
		if d == 0 {
			a.same++
		}
		a.maxSteps = max(a.maxSteps, d)
	}
}

func (a agreement) share() float64 { return float64(a.same) / float64(max(1, a.total)) }

// runBoth runs the QDQ model on the engine and on the float reference.
func runBoth(t testing.TB, qm *onnx.Model, opt Options, inputs []*onnx.Tensor, a *agreement) {
	t.Helper()
	m, err := Compile(qm, opt)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ref.Compile(qm)
	if err != nil {
		t.Fatal(err)
	}
	s := m.NewSession()
	defer s.Close()
	for _, in := range inputs {
		feed := map[string]*onnx.Tensor{"input": in}
		got, err := s.Run(feed)
		if err != nil {
			t.Fatal(err)
		}
		want, err := p.Run(feed)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range qm.Graph.Outputs {
			a.add(t, got[o.Name], want[o.Name], outputScale(t, qm, o.Name))
		}
	}
}

// smallResNet is a ResNet-shaped float model: stem conv + ReLU, max pool,
// a residual block, a strided block with a 1x1 projection, global average
// pooling, flatten and a classifier.
func smallResNet(r *rand.Rand, c, classes int) *onnx.Model {
	b := newFloatBuilder(r, c)
	x := b.conv("input", 16, 7, 2, 3, 1, 1, true)
	x = b.same("MaxPool", x, onnx.AttrIs("kernel_shape", 3, 3), onnx.AttrIs("strides", 2, 2), onnx.AttrIs("pads", 1, 1, 1, 1))
	y := b.conv(x, 16, 3, 1, 1, 1, 1, true)
	y = b.conv(y, 16, 3, 1, 1, 1, 1, false)
	x = b.add(x, y, true)
	y = b.conv(x, 32, 3, 2, 1, 1, 1, true)
	y = b.conv(y, 32, 3, 1, 1, 1, 1, false)
	sc := b.conv(x, 32, 1, 2, 0, 1, 1, false)
	x = b.add(sc, y, true)
	x = b.same("GlobalAveragePool", x)
	x = b.same("Flatten", x, onnx.AttrI("axis", 1))
	x = b.gemm(x, 32, classes, true)
	return b.model(x)
}

func quantizedModel(t testing.TB, r *rand.Rand, fm *onnx.Model, act onnx.DataType, c, h, w int) *onnx.Model {
	t.Helper()
	var calib []*onnx.Tensor
	for range 3 {
		calib = append(calib, randImage(r, 1, c, h, w))
	}
	ranges, err := calibrate(fm, calib)
	if err != nil {
		t.Fatal(err)
	}
	qm, err := quantizeQDQ(fm, ranges, act)
	if err != nil {
		t.Fatal(err)
	}
	return qm
}

func TestSmallResNetMatchesRef(t *testing.T) {
	r := newRand(t)
	for _, act := range []onnx.DataType{onnx.Uint8, onnx.Int8} {
		fm := smallResNet(r, 3, 10)
		qm := quantizedModel(t, r, fm, act, 3, 40, 48)
		m, err := Compile(qm, Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		info, err := m.Info(40, 48)
		if err != nil {
			t.Fatal(err)
		}
		if len(info.Fallback) != 0 {
			t.Errorf("%v activations: nodes fell back: %v", act, info.Fallback)
		}
		// Layer by layer, each fed the reference's own inputs.
		var feeds []map[string]*onnx.Tensor
		for _, hw := range [][2]int{{40, 48}, {33, 57}, {64, 64}, {17, 23}} {
			feeds = append(feeds, map[string]*onnx.Tensor{"input": randImage(r, 1, 3, hw[0], hw[1])})
		}
		byOp, _, _ := layerAgreement(t, qm, feeds, false)
		checkLayers(t, act.String(), byOp)
		// End to end: the logits, reported; a differing top-1 only where
		// the reference's best two logits are within the largest
		// difference.
		var a agreement
		var ins []*onnx.Tensor
		for _, f := range feeds {
			ins = append(ins, f["input"])
		}
		runBoth(t, qm, Options{Threads: 2}, ins, &a)
		t.Logf("%v activations: end to end %d/%d logits identical to the float reference, largest difference %d steps", act, a.same, a.total, a.maxSteps)
	}
}

// Convolutions of every geometry the lowering handles (merged stem taps,
// strides that leave trailing rows unread, dilations, groups, asymmetric
// sizes), each alone between QuantizeLinear and DequantizeLinear, against
// the float reference.
func TestConvGeometriesMatchRef(t *testing.T) {
	r := newRand(t)
	var a agreement
	cases := 0
	for _, c := range []struct{ cin, cout, k, s, p, d, g int }{
		{3, 16, 7, 2, 3, 1, 1}, {3, 8, 3, 1, 1, 1, 1}, {1, 8, 5, 3, 0, 1, 1}, {4, 8, 3, 2, 0, 1, 1},
		{3, 8, 4, 3, 2, 1, 1}, {3, 8, 3, 1, 2, 2, 1}, {16, 16, 3, 1, 1, 1, 4}, {8, 12, 1, 2, 0, 1, 1},
		{12, 12, 3, 1, 1, 1, 12}, {5, 7, 2, 1, 1, 1, 1}, {3, 8, 3, 3, 1, 1, 1}, {2, 8, 5, 4, 1, 1, 1},
	} {
		for _, hw := range [][2]int{{17, 23}, {16, 16}, {9, 30}, {30, 31}} {
			b := newFloatBuilder(r, c.cin)
			y := b.conv("input", c.cout, c.k, c.s, c.p, c.d, c.g, r.IntN(2) == 0)
			fm := b.model(y)
			qm := quantizedModel(t, r, fm, onnx.Uint8, c.cin, hw[0], hw[1])
			var ins []*onnx.Tensor
			for _, sz := range [][2]int{hw, {hw[0] + 3, hw[1] + 1}} {
				ins = append(ins, randImage(r, 1+r.IntN(2), c.cin, sz[0], sz[1]))
			}
			var ca agreement
			runBoth(t, qm, Options{Threads: 1 + r.IntN(3)}, ins, &ca)
			if ca.maxSteps > 1 || ca.share() < 0.99 {
				t.Errorf("conv %+v at %v: %.3f%% identical, max %d steps", c, hw, 100*ca.share(), ca.maxSteps)
			}
			a.same, a.total, a.maxSteps = a.same+ca.same, a.total+ca.total, max(a.maxSteps, ca.maxSteps)
			cases++
		}
	}
	t.Logf("%d convolutions: %d/%d outputs identical to the float reference (%.4f%%), largest difference %d step", cases, a.same, a.total, 100*a.share(), a.maxSteps)
	if a.share() < 0.999 || a.maxSteps > 1 {
		t.Errorf("agreement too low")
	}
}
