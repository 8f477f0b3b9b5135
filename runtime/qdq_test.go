package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/quant"
	"github.com/piresnet/piresnet/runtime/ref"
)

// Test models: small float graphs built here, then quantized the way ONNX
// Runtime's quantize_static writes QDQ models (uint8 or int8 asymmetric
// activations calibrated with min/max, int8 symmetric per-channel weights
// behind per-axis DequantizeLinear, int32 biases with scale x·w, ReLU
// removed into the QuantizeLinear of the node before it, MaxPool, Flatten
// and Reshape sharing their input's parameters).

type floatBuilder struct {
	r     *rand.Rand
	g     *onnx.Graph
	n     int
	chans map[string]int
}

func newFloatBuilder(r *rand.Rand, c int) *floatBuilder {
	b := &floatBuilder{r: r, g: &onnx.Graph{Name: "test"}, chans: map[string]int{}}
	b.g.Inputs = []*onnx.ValueInfo{onnx.TensorInfo("input", onnx.Float, "N", c, "H", "W")}
	b.chans["input"] = c
	return b
}

func (b *floatBuilder) name(p string) string {
	b.n++
	return fmt.Sprintf("%s_%d", p, b.n)
}

func (b *floatBuilder) node(op string, in []string, attrs ...*onnx.Attribute) string {
	out := b.name(op)
	b.g.Nodes = append(b.g.Nodes, &onnx.Node{Name: out, OpType: op, Inputs: in, Outputs: []string{out}, Attrs: attrs})
	return out
}

func (b *floatBuilder) init(name string, dims []int64, v []float32) string {
	b.g.Initializers = append(b.g.Initializers, onnx.NewFloat(name, dims, v))
	return name
}

func (b *floatBuilder) randn(n int, std float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(b.r.NormFloat64() * std)
	}
	return v
}

// conv adds Conv (He-initialized weights, random bias) and optionally Relu.
func (b *floatBuilder) conv(x string, cout, k, stride, pad, dil, group int, relu bool) string {
	cin := b.chans[x]
	w := b.init(b.name("w"), []int64{int64(cout), int64(cin / group), int64(k), int64(k)},
		b.randn(cout*cin/group*k*k, math.Sqrt(2/float64(cin/group*k*k))))
	bias := b.init(b.name("b"), []int64{int64(cout)}, b.randn(cout, 0.2))
	y := b.node("Conv", []string{x, w, bias}, onnx.AttrIs("kernel_shape", int64(k), int64(k)),
		onnx.AttrIs("strides", int64(stride), int64(stride)), onnx.AttrIs("pads", int64(pad), int64(pad), int64(pad), int64(pad)),
		onnx.AttrIs("dilations", int64(dil), int64(dil)), onnx.AttrI("group", int64(group)))
	b.chans[y] = cout
	if relu {
		y2 := b.node("Relu", []string{y})
		b.chans[y2] = cout
		return y2
	}
	return y
}

func (b *floatBuilder) same(op, x string, attrs ...*onnx.Attribute) string {
	y := b.node(op, []string{x}, attrs...)
	b.chans[y] = b.chans[x]
	return y
}

func (b *floatBuilder) add(x, y string, relu bool) string {
	z := b.node("Add", []string{x, y})
	b.chans[z] = b.chans[x]
	if relu {
		return b.same("Relu", z)
	}
	return z
}

func (b *floatBuilder) gemm(x string, k, out int, transB bool) string {
	var w string
	if transB {
		w = b.init(b.name("fcw"), []int64{int64(out), int64(k)}, b.randn(out*k, math.Sqrt(1/float64(k))))
	} else {
		w = b.init(b.name("fcw"), []int64{int64(k), int64(out)}, b.randn(out*k, math.Sqrt(1/float64(k))))
	}
	bias := b.init(b.name("fcb"), []int64{int64(out)}, b.randn(out, 0.1))
	tb := int64(0)
	if transB {
		tb = 1
	}
	y := b.node("Gemm", []string{x, w, bias}, onnx.AttrI("transB", tb))
	b.chans[y] = out
	return y
}

func (b *floatBuilder) matmul(x string, k, out int) string {
	w := b.init(b.name("mmw"), []int64{int64(k), int64(out)}, b.randn(out*k, math.Sqrt(1/float64(k))))
	y := b.node("MatMul", []string{x, w})
	b.chans[y] = out
	return y
}

func (b *floatBuilder) concat(xs ...string) string {
	y := b.node("Concat", xs, onnx.AttrI("axis", 1))
	for _, x := range xs {
		b.chans[y] += b.chans[x]
	}
	return y
}

func (b *floatBuilder) model(outputs ...string) *onnx.Model {
	for _, o := range outputs {
		b.g.Outputs = append(b.g.Outputs, onnx.TensorInfo(o, onnx.Float))
	}
	return &onnx.Model{IRVersion: 8, OpsetImports: []onnx.OpsetID{{Domain: "", Version: 13}}, ProducerName: "piresnet-test", Graph: b.g}
}

// calibrate runs the float model on the inputs and returns min and max of
// every tensor (ONNX Runtime's MinMax calibration).
func calibrate(m *onnx.Model, inputs []*onnx.Tensor) (map[string][2]float32, error) {
	all := *m
	g := *m.Graph
	all.Graph = &g
	g.Outputs = nil
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			g.Outputs = append(g.Outputs, &onnx.ValueInfo{Name: o})
		}
	}
	p, err := ref.Compile(&all)
	if err != nil {
		return nil, err
	}
	r := map[string][2]float32{}
	upd := func(name string, v []float32) {
		lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
		if old, ok := r[name]; ok {
			lo, hi = old[0], old[1]
		}
		for _, x := range v {
			lo, hi = min(lo, x), max(hi, x)
		}
		r[name] = [2]float32{lo, hi}
	}
	for _, in := range inputs {
		out, err := p.Run(map[string]*onnx.Tensor{"input": in})
		if err != nil {
			return nil, err
		}
		upd("input", in.F32)
		for name, t := range out {
			if t.DataType == onnx.Float {
				upd(name, t.F32)
			}
		}
	}
	return r, nil
}

// quantizeQDQ writes the QDQ model of m with activations of type act.
func quantizeQDQ(m *onnx.Model, ranges map[string][2]float32, act onnx.DataType) (*onnx.Model, error) {
	src := m.Graph
	g := &onnx.Graph{Name: src.Name, Inputs: src.Inputs, Outputs: src.Outputs}
	inits := map[string]*onnx.Tensor{}
	for _, t := range src.Initializers {
		inits[t.Name] = t
	}
	consumers := map[string][]*onnx.Node{}
	producer := map[string]*onnx.Node{}
	for _, n := range src.Nodes {
		for _, in := range n.Inputs {
			consumers[in] = append(consumers[in], n)
		}
		producer[n.Outputs[0]] = n
	}
	qt := quant.Uint8
	if act == onnx.Int8 {
		qt = quant.Int8
	}
	type qp struct {
		scale float32
		zp    int32
	}
	params := map[string]qp{}
	// alias maps a tensor to the tensor it shares parameters with.
	removed := map[*onnx.Node]bool{}
	// Relu after Conv/Gemm/Add with a single reader: removed, its output's
	// range used for the node's output.
	rename := map[string]string{}
	for _, n := range src.Nodes {
		if n.OpType != "Relu" {
			continue
		}
		p := producer[n.Inputs[0]]
		if p != nil && (p.OpType == "Conv" || p.OpType == "Gemm" || p.OpType == "Add") && len(consumers[n.Inputs[0]]) == 1 {
			removed[n] = true
			rename[n.Outputs[0]] = n.Inputs[0]
			ranges[n.Inputs[0]] = ranges[n.Outputs[0]]
		}
	}
	resolve := func(s string) string {
		if r, ok := rename[s]; ok {
			return r
		}
		return s
	}
	shared := map[string]bool{"MaxPool": true, "Flatten": true, "Reshape": true, "GlobalMaxPool": true}
	paramsOf := func(name string) (qp, error) {
		if p, ok := params[name]; ok {
			return p, nil
		}
		if pn := producer[name]; pn != nil && shared[pn.OpType] {
			p := params[resolve(pn.Inputs[0])]
			params[name] = p
			return p, nil
		}
		rg, ok := ranges[name]
		if !ok {
			return qp{}, fmt.Errorf("no range for %q", name)
		}
		s, zp, err := quant.ChooseAsymmetric(rg[0], rg[1], qt)
		if err != nil {
			return qp{}, err
		}
		params[name] = qp{s, zp}
		return qp{s, zp}, nil
	}
	zpTensor := func(name string, zp int32) *onnx.Tensor {
		if act == onnx.Int8 {
			return onnx.NewInt8(name, onnx.Scalar, []int8{int8(zp)})
		}
		return onnx.NewUint8(name, onnx.Scalar, []uint8{uint8(zp)})
	}
	dqOf := map[string]string{}
	// Graph outputs: the node writes name_pre, Q → DQ gives name (as ONNX
	// Runtime renames them).
	isOut := map[string]string{}
	for _, o := range src.Outputs {
		isOut[resolve(o.Name)] = o.Name
	}
	// qdq inserts Q → DQ after tensor name and returns the DQ output.
	qdq := func(name string) (string, error) {
		if d, ok := dqOf[name]; ok {
			return d, nil
		}
		p, err := paramsOf(name)
		if err != nil {
			return "", err
		}
		s := onnx.NewFloat(name+"_scale", onnx.Scalar, []float32{p.scale})
		z := zpTensor(name+"_zp", p.zp)
		g.Initializers = append(g.Initializers, s, z)
		qn, dn := name+"_QuantizeLinear", name+"_DequantizeLinear"
		src, dst := name, name+"_dq"
		if o, ok := isOut[name]; ok {
			src, dst = name+"_pre", o
		}
		g.Nodes = append(g.Nodes,
			&onnx.Node{Name: qn, OpType: "QuantizeLinear", Inputs: []string{src, s.Name, z.Name}, Outputs: []string{name + "_q"}},
			&onnx.Node{Name: dn, OpType: "DequantizeLinear", Inputs: []string{name + "_q", s.Name, z.Name}, Outputs: []string{dst}})
		dqOf[name] = dst
		return dst, nil
	}
	weight := func(name string, axis int) (string, []float32, error) {
		t := inits[name]
		oc := int(t.Dims[axis])
		// Channel-major copy for the scales.
		inner := 1
		for _, d := range t.Dims[axis+1:] {
			inner *= int(d)
		}
		cm := make([]float32, len(t.F32))
		per := len(t.F32) / oc
		pos := make([]int, oc)
		for i, v := range t.F32 {
			ch := (i / inner) % oc
			cm[ch*per+pos[ch]] = v
			pos[ch]++
		}
		scales, err := quant.ChooseSymmetricPerChannel(cm, oc)
		if err != nil {
			return "", nil, err
		}
		q := make([]int8, len(t.F32))
		for i, v := range t.F32 {
			q[i] = int8(quant.Quantize(v, scales[(i/inner)%oc], 0, quant.Int8))
			q[i] = max(q[i], quant.WeightQmin)
		}
		qw := onnx.NewInt8(name+"_quantized", t.Dims, q)
		st := onnx.NewFloat(name+"_scale", []int64{int64(oc)}, scales)
		zt := onnx.NewInt8(name+"_zp", []int64{int64(oc)}, make([]int8, oc))
		g.Initializers = append(g.Initializers, qw, st, zt)
		g.Nodes = append(g.Nodes, &onnx.Node{Name: name + "_DequantizeLinear", OpType: "DequantizeLinear",
			Inputs: []string{qw.Name, st.Name, zt.Name}, Outputs: []string{name + "_dq"}, Attrs: []*onnx.Attribute{onnx.AttrI("axis", int64(axis))}})
		return name + "_dq", scales, nil
	}
	bias := func(name string, xs float32, ws []float32) (string, error) {
		t := inits[name]
		q, _, err := quant.QuantizeBias(t.F32, xs, ws)
		if err != nil {
			return "", err
		}
		sc := make([]float32, len(ws))
		for i := range ws {
			sc[i] = xs * ws[i]
		}
		qb := onnx.NewInt32(name+"_quantized", t.Dims, q)
		st := onnx.NewFloat(name+"_scale", []int64{int64(len(ws))}, sc)
		zt := onnx.NewInt32(name+"_zp", []int64{int64(len(ws))}, make([]int32, len(ws)))
		g.Initializers = append(g.Initializers, qb, st, zt)
		g.Nodes = append(g.Nodes, &onnx.Node{Name: name + "_DequantizeLinear", OpType: "DequantizeLinear",
			Inputs: []string{qb.Name, st.Name, zt.Name}, Outputs: []string{name + "_dq"}, Attrs: []*onnx.Attribute{onnx.AttrI("axis", 0)}})
		return name + "_dq", nil
	}
	for _, n := range src.Nodes {
		if removed[n] {
			continue
		}
		nn := *n
		nn.Inputs = slices.Clone(n.Inputs)
		for i, in := range n.Inputs {
			in = resolve(in)
			if inits[in] != nil {
				continue
			}
			d, err := qdq(in)
			if err != nil {
				return nil, err
			}
			nn.Inputs[i] = d
		}
		switch n.OpType {
		case "Conv", "Gemm", "MatMul":
			axis := 0
			if n.OpType == "MatMul" || n.OpType == "Gemm" && n.AttrInt("transB", 0) == 0 {
				axis = 1
			}
			wq, ws, err := weight(n.Inputs[1], axis)
			if err != nil {
				return nil, err
			}
			nn.Inputs[1] = wq
			if len(n.Inputs) > 2 && n.Inputs[2] != "" {
				xp, _ := paramsOf(resolve(n.Inputs[0]))
				bq, err := bias(n.Inputs[2], xp.scale, ws)
				if err != nil {
					return nil, err
				}
				nn.Inputs[2] = bq
			}
		default:
			for i, in := range n.Inputs {
				if inits[in] != nil {
					g.Initializers = append(g.Initializers, inits[in])
					nn.Inputs[i] = in
				}
			}
		}
		if _, ok := isOut[nn.Outputs[0]]; ok {
			nn.Outputs = []string{nn.Outputs[0] + "_pre"}
		}
		g.Nodes = append(g.Nodes, &nn)
	}
	// Graph outputs: quantized too, DequantizeLinear gives the float.
	for _, o := range src.Outputs {
		if _, err := qdq(resolve(o.Name)); err != nil {
			return nil, err
		}
	}
	// Order the nodes: the graph was built producer-first except for Q/DQ
	// appended late; SortNodes fixes it.
	qm := &onnx.Model{IRVersion: m.IRVersion, OpsetImports: m.OpsetImports, ProducerName: "piresnet-test-qdq", Graph: g}
	order, err := g.SortNodes()
	if err != nil {
		return nil, err
	}
	g.Nodes = order
	return qm, nil
}

// randImage is a smooth-ish random image batch: low-frequency pattern plus
// noise, roughly unit variance (an ImageNet-normalized photo).
func randImage(r *rand.Rand, n, c, h, w int) *onnx.Tensor {
	v := make([]float32, n*c*h*w)
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			fx, fy, ph := r.Float64()*0.3, r.Float64()*0.3, r.Float64()*6
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					v[((b*c+ch)*h+y)*w+x] = float32(math.Sin(fx*float64(x)+fy*float64(y)+ph) + 0.5*r.NormFloat64())
				}
			}
		}
	}
	return onnx.NewFloat("input", []int64{int64(n), int64(c), int64(h), int64(w)}, v)
}
