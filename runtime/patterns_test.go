package runtime

import (
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
)

// A fastai-style network: stem, average pooling with ceil_mode and
// count_include_pad, concatenation of branches with different scales,
// elementwise operators (Clip, a Relu that is not after a Conv) between
// DequantizeLinear and QuantizeLinear, and
// fastai's head (AdaptiveConcatPool2d = GlobalMaxPool ‖ GlobalAveragePool,
// Flatten, Linear without bias as MatMul, ReLU, Linear as Gemm with
// transB = 0). Every node is lowered and the engine agrees with the float
// reference.
func TestFastaiStyleModelMatchesRef(t *testing.T) {
	r := newRand(t)
	for _, act := range []onnx.DataType{onnx.Uint8, onnx.Int8} {
		b := newFloatBuilder(r, 3)
		x := b.conv("input", 16, 3, 2, 1, 1, 1, true)
		p1 := b.same("AveragePool", x, onnx.AttrIs("kernel_shape", 3, 3), onnx.AttrIs("strides", 2, 2),
			onnx.AttrIs("pads", 1, 1, 1, 1), onnx.AttrI("ceil_mode", 1), onnx.AttrI("count_include_pad", 1))
		p2 := b.same("AveragePool", x, onnx.AttrIs("kernel_shape", 3, 3), onnx.AttrIs("strides", 2, 2),
			onnx.AttrIs("pads", 1, 1, 1, 1), onnx.AttrI("ceil_mode", 1))
		p3 := b.same("MaxPool", x, onnx.AttrIs("kernel_shape", 3, 3), onnx.AttrIs("strides", 2, 2),
			onnx.AttrIs("pads", 1, 1, 1, 1), onnx.AttrI("ceil_mode", 1))
		y := b.concat(p1, p2, p3)
		lo := b.init(b.name("lo"), onnx.Scalar, []float32{-0.5})
		hi := b.init(b.name("hi"), onnx.Scalar, []float32{1.5})
		cl := b.node("Clip", []string{y, lo, hi})
		b.chans[cl] = b.chans[y]
		y = b.same("Relu", cl)
		y = b.conv(y, 24, 3, 1, 1, 1, 3, false)
		y = b.same("Clip", y)
		gm := b.same("GlobalMaxPool", y)
		ga := b.same("GlobalAveragePool", y)
		y = b.concat(gm, ga)
		y = b.same("Flatten", y, onnx.AttrI("axis", 1))
		y = b.matmul(y, 48, 32)
		y = b.same("Relu", y)
		y = b.gemm(y, 32, 7, false)
		qm := quantizedModel(t, r, b.model(y), act, 3, 37, 45)
		m, err := Compile(qm, Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		info, err := m.Info(37, 45)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, l := range info.Layers {
			kinds[l.Kind]++
		}
		t.Logf("%v: layers %v", act, kinds)
		if len(info.Fallback) != 0 {
			t.Errorf("%v: fell back: %v", act, info.Fallback)
		}
		for _, k := range []string{"avgpool", "maxpool", "concat", "lut", "globalmaxpool", "globalavgpool", "fc", "conv", "reshape"} {
			if kinds[k] == 0 {
				t.Errorf("%v: no %s layer", act, k)
			}
		}
		var feeds []map[string]*onnx.Tensor
		var ins []*onnx.Tensor
		for _, hw := range [][2]int{{37, 45}, {30, 31}, {64, 48}} {
			x := randImage(r, 2, 3, hw[0], hw[1])
			ins = append(ins, x)
			feeds = append(feeds, map[string]*onnx.Tensor{"input": x})
		}
		byOp, _, _ := layerAgreement(t, qm, feeds, false)
		checkLayers(t, act.String(), byOp)
		var a agreement
		runBoth(t, qm, Options{Threads: 2}, ins, &a)
		t.Logf("%v: end to end %d/%d outputs identical to the float reference, largest difference %d steps", act, a.same, a.total, a.maxSteps)
	}
}

// weightConv returns the weight DequantizeLinear's tensors of the first
// Conv of a QDQ model.
func firstConvWeights(t *testing.T, qm *onnx.Model) (w, zp *onnx.Tensor) {
	t.Helper()
	for _, n := range qm.Graph.Nodes {
		if n.OpType == "DequantizeLinear" && qm.Graph.Initializer(n.Inputs[0]) != nil && qm.Graph.Initializer(n.Inputs[0]).DataType == onnx.Int8 {
			return qm.Graph.Initializer(n.Inputs[0]), qm.Graph.Initializer(n.Inputs[2])
		}
	}
	t.Fatal("no int8 weight")
	return nil, nil
}

// Weights with a zero point: uint8 weights with zero point 128 (the same
// real weights) are shifted into int8 and lowered; int8 weights whose
// shifted values do not fit int8 fall back to the float reference. Both
// agree with the reference; a float bias is quantized at load.
func TestWeightZeroPointsAndFloatBias(t *testing.T) {
	r := newRand(t)
	b := newFloatBuilder(r, 3)
	y := b.conv("input", 8, 3, 1, 1, 1, 1, true)
	y = b.conv(y, 8, 3, 2, 1, 1, 1, false)
	fm := b.model(y)
	ins := []*onnx.Tensor{randImage(r, 1, 3, 20, 24)}

	// uint8 weights, zero point 128.
	qm := quantizedModel(t, r, fm, onnx.Uint8, 3, 20, 24)
	w, zp := firstConvWeights(t, qm)
	w.DataType, zp.DataType = onnx.Uint8, onnx.Uint8
	for i, v := range w.I8 {
		w.U8 = append(w.U8, uint8(int(v)+128))
		_ = i
	}
	for range zp.I8 {
		zp.U8 = append(zp.U8, 128)
	}
	w.I8, zp.I8 = nil, nil
	m, err := Compile(qm, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := m.Info(20, 24); len(info.Fallback) != 0 {
		t.Errorf("uint8 weights with zero point 128 fell back: %v", info.Fallback)
	}
	feeds := []map[string]*onnx.Tensor{{"input": ins[0]}}
	byOp, _, _ := layerAgreement(t, qm, feeds, false)
	checkLayers(t, "uint8 weights", byOp)

	// int8 weights with a zero point that pushes them out of int8.
	qm = quantizedModel(t, r, fm, onnx.Uint8, 3, 20, 24)
	w, zp = firstConvWeights(t, qm)
	for i := range zp.I8 {
		zp.I8[i] = 100
	}
	w.I8[0] = -120 // -120 - 100 = -220
	m, err = Compile(qm, Options{})
	if err != nil {
		t.Fatal(err)
	}
	info, _ := m.Info(20, 24)
	if len(info.Fallback) != 1 {
		t.Errorf("unrepresentable weights: fallback %v, want the one Conv", info.Fallback)
	}
	byOp, _, _ = layerAgreement(t, qm, feeds, true)
	checkLayers(t, "fallback conv", byOp)

	// A float bias (not behind DequantizeLinear) is quantized at load.
	qm = quantizedModel(t, r, fm, onnx.Uint8, 3, 20, 24)
	for _, n := range qm.Graph.Nodes {
		if n.OpType == "Conv" && len(n.Inputs) > 2 {
			dq := n.Inputs[2]
			for _, d := range qm.Graph.Nodes {
				if d.Outputs[0] == dq {
					q := qm.Graph.Initializer(d.Inputs[0])
					s := qm.Graph.Initializer(d.Inputs[1])
					f := make([]float32, len(q.I32))
					for i, v := range q.I32 {
						f[i] = float32(v) * s.F32[i]
					}
					qm.Graph.Initializers = append(qm.Graph.Initializers, onnx.NewFloat(dq+"_float", q.Dims, f))
					n.Inputs[2] = dq + "_float"
				}
			}
		}
	}
	m, err = Compile(qm, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := m.Info(20, 24); len(info.Fallback) != 0 {
		t.Errorf("float bias fell back: %v", info.Fallback)
	}
	byOp, _, _ = layerAgreement(t, qm, feeds, false)
	checkLayers(t, "float bias", byOp)
}

// Operator-form models (QLinearConv, QLinearMatMul, com.microsoft
// QLinearAdd, QLinearGlobalAveragePool, QLinearConcat), uint8 and int8:
// lowered, and equal to the float reference's implementation of those
// operators within one step.
func TestOperatorFormMatchesRef(t *testing.T) {
	r := newRand(t)
	for _, act := range []onnx.DataType{onnx.Uint8, onnx.Int8} {
		g := &onnx.Graph{Name: "opform"}
		g.Inputs = []*onnx.ValueInfo{onnx.TensorInfo("x", act, 1, 8, "H", "W")}
		g.Outputs = []*onnx.ValueInfo{onnx.TensorInfo("y", act, 1, 5)}
		zp := func(name string, v int) *onnx.Tensor {
			if act == onnx.Int8 {
				return onnx.NewInt8(name, onnx.Scalar, []int8{int8(v - 128)})
			}
			return onnx.NewUint8(name, onnx.Scalar, []uint8{uint8(v)})
		}
		sc := func(name string, v float32) *onnx.Tensor { return onnx.NewFloat(name, onnx.Scalar, []float32{v}) }
		w := make([]int8, 16*8*9)
		for i := range w {
			w[i] = int8(r.IntN(255) - 127)
		}
		ws := make([]float32, 16)
		bias := make([]int32, 16)
		for i := range ws {
			ws[i] = 0.002 + 0.001*float32(i%5)
			bias[i] = int32(r.IntN(4001) - 2000)
		}
		mw := make([]int8, 48*5)
		for i := range mw {
			mw[i] = int8(r.IntN(255) - 127)
		}
		g.Initializers = append(g.Initializers, sc("xs", 0.05), zp("xz", 120), onnx.NewInt8("w", []int64{16, 8, 3, 3}, w),
			onnx.NewFloat("ws", []int64{16}, ws), onnx.NewInt8("wz", []int64{16}, make([]int8, 16)), sc("cs", 0.08), zp("cz", 110),
			onnx.NewInt32("b", []int64{16}, bias), sc("as", 0.1), zp("az", 100), sc("gs", 0.06), zp("gz", 90),
			sc("ks", 0.07), zp("kz", 95), onnx.NewInt8("mw", []int64{48, 5}, mw), sc("ms", 0.01), onnx.NewInt8("mz", onnx.Scalar, []int8{0}),
			sc("ys", 0.2), zp("yz", 128))
		g.Nodes = []*onnx.Node{
			{OpType: "QLinearConv", Inputs: []string{"x", "xs", "xz", "w", "ws", "wz", "cs", "cz", "b"}, Outputs: []string{"c"},
				Attrs: []*onnx.Attribute{onnx.AttrIs("kernel_shape", 3, 3), onnx.AttrIs("pads", 1, 1, 1, 1)}},
			{OpType: "QLinearAdd", Domain: "com.microsoft", Inputs: []string{"c", "cs", "cz", "c", "cs", "cz", "as", "az"}, Outputs: []string{"a"}},
			{OpType: "QLinearGlobalAveragePool", Domain: "com.microsoft", Inputs: []string{"a", "as", "az", "gs", "gz"}, Outputs: []string{"g"}},
			{OpType: "QLinearGlobalAveragePool", Domain: "com.microsoft", Inputs: []string{"c", "cs", "cz", "as", "az"}, Outputs: []string{"g2"}},
			{OpType: "QLinearConcat", Domain: "com.microsoft", Inputs: []string{"ks", "kz", "g", "gs", "gz", "g2", "as", "az", "g", "gs", "gz"}, Outputs: []string{"k"},
				Attrs: []*onnx.Attribute{onnx.AttrI("axis", 1)}},
			{OpType: "Flatten", Inputs: []string{"k"}, Outputs: []string{"f"}},
			{OpType: "QLinearMatMul", Inputs: []string{"f", "ks", "kz", "mw", "ms", "mz", "ys", "yz"}, Outputs: []string{"y"}},
		}
		qm := &onnx.Model{IRVersion: 8, OpsetImports: []onnx.OpsetID{{Version: 13}, {Domain: "com.microsoft", Version: 1}}, Graph: g}
		m, err := Compile(qm, Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		info, err := m.Info(0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(info.Fallback) != 0 {
			t.Errorf("%v: fell back: %v", act, info.Fallback)
		}
		p, err := refCompile(qm)
		if err != nil {
			t.Fatal(err)
		}
		s := m.NewSession()
		var a agreement
		for _, hw := range [][2]int{{9, 11}, {16, 16}} {
			n := 8 * hw[0] * hw[1]
			x := &onnx.Tensor{Name: "x", DataType: act, Dims: []int64{1, 8, int64(hw[0]), int64(hw[1])}}
			for range n {
				v := r.IntN(256)
				if act == onnx.Int8 {
					x.I8 = append(x.I8, int8(v-128))
				} else {
					x.U8 = append(x.U8, uint8(v))
				}
			}
			got, err := s.Run(map[string]*onnx.Tensor{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			want, err := p.Run(map[string]*onnx.Tensor{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			if err := u8Agreement(&a, got["y"], want["y"]); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		t.Logf("%v: %d/%d identical, max %d step; layers %d, fallback %v", act, a.same, a.total, a.maxSteps, len(info.Layers), info.Fallback)
		if a.maxSteps > 1 {
			t.Errorf("%v: differs by %d steps", act, a.maxSteps)
		}
	}
}
