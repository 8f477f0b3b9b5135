package runtime

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/quant"
	"github.com/piresnet/piresnet/runtime/ref"
)

// ONNX Runtime fused the fixtures into its quantized kernels, so the
// comparisons below are against QLinearConv, QLinearAdd,
// QLinearGlobalAveragePool, QGemm and QLinearMatMul (the optimized graphs
// ORT saved when it ran them).
func TestORTFusedFixtures(t *testing.T) {
	man := fixtures(t)
	count := func(path string) map[string]int {
		m := readModel(t, path)
		c := map[string]int{}
		for _, n := range m.Graph.Nodes {
			c[n.OpType]++
		}
		return c
	}
	for _, op := range man.Ops {
		c := count(filepath.Join(qdqGen, "ops", op.Case, "ort_optimized.onnx"))
		if c[op.Kind] != 1 || c["DequantizeLinear"] != 0 {
			t.Errorf("%s: ONNX Runtime ran %v, want one %s and no DequantizeLinear", op.Case, c, op.Kind)
		}
	}
	for _, name := range []string{"resnet18_u8", "resnet50_u8"} {
		c := count(filepath.Join(qdqGen, "ort_optimized", name+".onnx"))
		t.Logf("%s in ONNX Runtime: %v", name, c)
		if c["QLinearConv"] == 0 || c["QLinearAdd"] == 0 || c["QLinearGlobalAveragePool"] != 1 || c["QGemm"] != 1 || c["Conv"] != 0 {
			t.Errorf("%s: ONNX Runtime did not fuse the QDQ graph: %v", name, c)
		}
	}
}

// u8Agreement compares two 8-bit outputs element by element.
func u8Agreement(a *agreement, got, want *onnx.Tensor) error {
	g, w := int8Values(got), int8Values(want)
	if !slices.Equal(got.Dims, want.Dims) || len(g) != len(w) {
		return fmt.Errorf("dims %v vs %v", got.Dims, want.Dims)
	}
	for i := range g {
		d := g[i] - w[i]
		if d < 0 {
			d = -d
		}
		a.total++
		if d == 0 {
			a.same++
		}
		a.maxSteps = max(a.maxSteps, d)
	}
	return nil
}

func int8Values(t *onnx.Tensor) []int {
	var v []int
	switch t.DataType {
	case onnx.Uint8:
		for _, x := range t.U8 {
			v = append(v, int(x))
		}
	case onnx.Int8:
		for _, x := range t.I8 {
			v = append(v, int(x))
		}
	}
	return v
}

// Every quantized operator alone, on random 8-bit inputs with realistic
// scales: the engine (fixed-point) against ONNX Runtime (float
// requantization) and against the float reference (real arithmetic).
func TestOperatorsMatchORTAndRef(t *testing.T) {
	man := fixtures(t)
	byKind := map[string]*[2]agreement{}
	for _, op := range man.Ops {
		if strings.HasSuffix(op.Case, "_w8") {
			continue // ONNX Runtime saturates: TestORTSaturatesU8S8Pairs
		}
		dir := filepath.Join(qdqGen, "ops", op.Case)
		qm := readModel(t, filepath.Join(dir, "model.onnx"))
		feed := map[string]*onnx.Tensor{}
		for k, vi := range qm.Graph.Inputs {
			feed[vi.Name] = readTensor(t, filepath.Join(dir, fmt.Sprintf("input_%d.pb", k)))
		}
		ortOut := readTensor(t, filepath.Join(dir, "output_0.pb"))
		threadCounts := []int{1, 3}
		if testing.Short() {
			threadCounts = threadCounts[:1]
		}
		for _, threads := range threadCounts {
			m, err := Compile(qm, Options{Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			info, _ := m.Info(0, 0)
			if len(info.Fallback) != 0 {
				t.Fatalf("%s: not lowered: %v", op.Case, info.Fallback)
			}
			s := m.NewSession()
			got, err := s.Run(feed)
			s.Close()
			if err != nil {
				t.Fatalf("%s: %v", op.Case, err)
			}
			p, err := ref.Compile(qm)
			if err != nil {
				t.Fatal(err)
			}
			refOut, err := p.Run(feed)
			if err != nil {
				t.Fatal(err)
			}
			var vsORT, vsRef agreement
			if err := u8Agreement(&vsORT, got["y"], ortOut); err != nil {
				t.Fatalf("%s: %v", op.Case, err)
			}
			if err := u8Agreement(&vsRef, got["y"], refOut["y"]); err != nil {
				t.Fatalf("%s: %v", op.Case, err)
			}
			if threads == 1 {
				t.Logf("%-22s %-24s vs ORT %7d/%-7d identical (%.4f%%) max %d step | vs ref %.4f%% max %d", op.Case, op.Kind,
					vsORT.same, vsORT.total, 100*vsORT.share(), vsORT.maxSteps, 100*vsRef.share(), vsRef.maxSteps)
				k := byKind[op.Kind]
				if k == nil {
					k = &[2]agreement{}
					byKind[op.Kind] = k
				}
				for i, a := range []agreement{vsORT, vsRef} {
					k[i].same += a.same
					k[i].total += a.total
					k[i].maxSteps = max(k[i].maxSteps, a.maxSteps)
				}
			}
		}
	}
	var kinds []string
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		a := byKind[k]
		t.Logf("%-24s vs ONNX Runtime: %.4f%% identical, largest difference %d step; vs float reference: %.4f%%, %d step",
			k, 100*a[0].share(), a[0].maxSteps, 100*a[1].share(), a[1].maxSteps)
		if a[0].share() < 0.999 || a[0].maxSteps > 1 || a[1].share() < 0.999 || a[1].maxSteps > 1 {
			t.Errorf("%s: agreement below 99.9%% or beyond one step", k)
		}
	}
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// End to end on the QDQ ResNets: the engine against ONNX Runtime on the
// same file and the same inputs, and against the float reference.
func TestResNetsMatchORTAndRef(t *testing.T) {
	man := fixtures(t)
	models := man.Models
	inputsOf := func(name string) []string {
		switch {
		case testing.Short():
			return []string{"97x131_0"}
		case name == "resnet50_u8":
			return []string{"224x224_0", "240x320_0", "97x131_0"}
		}
		return []string{"224x224_0", "224x224_1", "224x224_2", "240x320_0", "97x131_0", "97x131_1"}
	}
	if testing.Short() {
		models = []string{"resnet18_u8", "resnet18_s8"}
	}
	for _, name := range models {
		inputs := inputsOf(name)
		path := filepath.Join(qdqGen, "models", name+".onnx")
		qm := readModel(t, path)
		m, err := Compile(qm, Options{})
		if err != nil {
			t.Fatal(err)
		}
		info, err := m.Info(224, 224)
		if err != nil {
			t.Fatal(err)
		}
		if len(info.Fallback) != 0 {
			t.Errorf("%s: nodes fell back: %v", name, info.Fallback)
		}
		p, err := ref.Compile(qm)
		if err != nil {
			t.Fatal(err)
		}
		s := m.NewSession()
		scale := outputScale(t, qm, qm.Graph.Outputs[0].Name)
		var vsORT, vsRef agreement
		top1ORT, top1Ref := 0, 0
		for _, in := range inputs {
			x := readTensor(t, filepath.Join(qdqGen, "inputs", in, "input_0.pb"))
			feed := map[string]*onnx.Tensor{qm.Graph.Inputs[0].Name: x}
			got, err := s.Run(feed)
			if err != nil {
				t.Fatal(err)
			}
			y := got[qm.Graph.Outputs[0].Name]
			ortY := readTensor(t, filepath.Join(qdqGen, "ort", name, in, "output_0.pb"))
			refY, err := p.Run(feed)
			if err != nil {
				t.Fatal(err)
			}
			ry := refY[qm.Graph.Outputs[0].Name]
			var a1, a2 agreement
			a1.add(t, y, ortY, scale)
			a2.add(t, y, ry, scale)
			for _, c := range []struct {
				a    agreement
				want []float32
				top  *int
				who  string
			}{{a1, ortY.F32, &top1ORT, "ONNX Runtime"}, {a2, ry.F32, &top1Ref, "the float reference"}} {
				e, w := argmax(y.F32), argmax(c.want)
				if e == w {
					*c.top++
				} else if float64(c.want[w]-c.want[e]) > float64(c.a.maxSteps)*float64(scale)*1.0001 {
					// A differing top-1 is only consistent with the
					// per-logit differences when the other's top two are
					// that close.
					t.Errorf("%s %s: top-1 %d, %s's %d, which is %.1f steps above; logits differ by at most %d steps",
						name, in, e, c.who, w, float64(c.want[w]-c.want[e])/float64(scale), c.a.maxSteps)
				}
			}
			for _, p := range []*[2]*agreement{{&vsORT, &a1}, {&vsRef, &a2}} {
				p[0].same += p[1].same
				p[0].total += p[1].total
				p[0].maxSteps = max(p[0].maxSteps, p[1].maxSteps)
			}
		}
		s.Close()
		t.Logf("%s: vs ONNX Runtime %d/%d logits identical (%.3f%%), largest difference %d steps, top-1 %d/%d; vs float reference %.3f%%, %d steps, top-1 %d/%d",
			name, vsORT.same, vsORT.total, 100*vsORT.share(), vsORT.maxSteps, top1ORT, len(inputs), 100*vsRef.share(), vsRef.maxSteps, top1Ref, len(inputs))
	}
}

// With 8-bit weights, ONNX Runtime 1.30's x86 u8×s8 convolution is not
// ONNX's arithmetic: it adds the products of adjacent input channels in
// pairs saturated to int16 (VPMADDUBSW) before accumulating in int32. This
// test shows that the whole difference between the engine and ONNX
// Runtime on such a file is that saturation: a model of it (pairs clamped
// to int16, then ONNX Runtime's float requantization) reproduces ONNX
// Runtime's output exactly, while the engine gives the exact convolution
// (the float reference's result).
func TestORTSaturatesU8S8Pairs(t *testing.T) {
	fixtures(t)
	dir := filepath.Join(qdqGen, "ops", "conv1x1s2_c128_c256_w8")
	qm := readModel(t, filepath.Join(dir, "model.onnx"))
	x := readTensor(t, filepath.Join(dir, "input_0.pb"))
	ortY := readTensor(t, filepath.Join(dir, "output_0.pb"))
	init := map[string]*onnx.Tensor{}
	for _, in := range qm.Graph.Initializers {
		init[in.Name] = in
	}
	w, ws, b := init["w"], init["w_scale"].F32, init["b"].I32
	xs, xz := init["x_scale"].F32[0], int32(init["x_zp"].U8[0])
	ys, yz := init["y_scale"].F32[0], int32(init["y_zp"].U8[0])
	oc, kc := int(w.Dims[0]), int(w.Dims[1])
	H, W := int(x.Dims[2]), int(x.Dims[3])
	OH, OW := (H+1)/2, (W+1)/2
	sat := func(v int32) int32 { return min(max(v, -32768), 32767) }
	model := make([]uint8, oc*OH*OW)
	saturated := 0
	for o := 0; o < oc; o++ {
		var wsum int32
		for k := 0; k < kc; k++ {
			wsum += int32(w.I8[o*kc+k])
		}
		scale := quant.RequantScale(xs, ws[o], ys)
		for oy := 0; oy < OH; oy++ {
			for ox := 0; ox < OW; ox++ {
				xv := func(k int) int32 { return int32(x.U8[(k*H+2*oy)*W+2*ox]) }
				acc := b[o] - xz*wsum
				for k := 0; k+1 < kc; k += 2 {
					pair := xv(k)*int32(w.I8[o*kc+k]) + xv(k+1)*int32(w.I8[o*kc+k+1])
					if pair != sat(pair) {
						saturated++
					}
					acc += sat(pair)
				}
				model[(o*OH+oy)*OW+ox] = uint8(quant.RequantizeReal(acc, scale, yz, 0, 255))
			}
		}
	}
	if !slices.Equal(model, ortY.U8) {
		t.Errorf("the saturating-pairs model does not reproduce ONNX Runtime's output")
	}
	m, err := Compile(qm, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := m.NewSession()
	defer s.Close()
	got, err := s.Run(map[string]*onnx.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := ref.Compile(qm)
	want, err := p.Run(map[string]*onnx.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	var vsRef, vsORT agreement
	u8Agreement(&vsRef, got["y"], want["y"])
	u8Agreement(&vsORT, got["y"], ortY)
	t.Logf("8-bit weights: %d of %d product pairs overflow int16; engine vs float reference %.4f%% identical (max %d step), vs ONNX Runtime %.4f%% (max %d steps); saturating model = ONNX Runtime: %v",
		saturated, oc*OH*OW*kc/2, 100*vsRef.share(), vsRef.maxSteps, 100*vsORT.share(), vsORT.maxSteps, slices.Equal(model, ortY.U8))
	if vsRef.share() < 0.999 || vsRef.maxSteps > 1 || saturated == 0 {
		t.Errorf("engine vs float reference: %.4f%%, max %d; %d saturated pairs", 100*vsRef.share(), vsRef.maxSteps, saturated)
	}
}
