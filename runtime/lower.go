package runtime

import (
	"fmt"
	"math"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/quant"
	"github.com/piresnet/piresnet/runtime/internal/qkernel"
	"github.com/piresnet/piresnet/runtime/ref"
)

// Lowering turns an ONNX graph into the program the engine runs. It
// recognizes the quantized patterns of ONNX Runtime's QDQ format,
//
//	DequantizeLinear → Conv|Gemm|MatMul|Add|MaxPool|AveragePool|
//	GlobalAveragePool|GlobalMaxPool|Concat|Flatten|Reshape|unary
//	[→ Relu|Clip] → QuantizeLinear
//
// (weights as int8 or uint8 constants behind a per-channel or per-tensor
// DequantizeLinear, biases as int32 constants behind DequantizeLinear or as
// float constants), and the operator forms QLinearConv, QLinearMatMul and
// com.microsoft's QLinearAdd, QLinearGlobalAveragePool and QLinearConcat,
// and makes each an integer op over arena tensors. QuantizeLinear and
// DequantizeLinear nodes left over become conversions between the arena and
// the float world; every other node runs on the float reference (runtime/ref)
// as a fallback, and Info lists it.

// pending is an op under construction: its inputs and outputs by name.
type pending struct {
	op      op
	inNames []string
	outName []string
	quantIn []bool // input i is read from the arena
}

type compiler struct {
	g     *graph
	kern  *qkernel.ConvKernel
	used  map[*onnx.Node]bool // absorbed into a lowered op
	quant map[string]bool     // names read or written in the arena
	elem  map[string]onnx.DataType
	at    map[*onnx.Node]*pending // op emitted at this node's position
	fold  map[*onnx.Node]bool
}

// matchOutput follows the float output of a node to the QuantizeLinear
// that quantizes it, through at most one Relu or Clip with constant
// bounds. It returns the nodes to absorb, the output tensor, its
// parameters and the clamp range in the uint8 domain.
func (c *compiler) matchOutput(name string) (nodes []*onnx.Node, out string, q qparams, qmin, qmax int32, ok bool) {
	next := c.g.soleConsumer(name)
	if next == nil || c.used[next] {
		return nil, "", q, 0, 0, false
	}
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	if isOp(next, "Relu") || isOp(next, "Clip") {
		if isOp(next, "Relu") {
			lo = 0
		} else {
			var okc bool
			lo, hi, okc = c.clipBounds(next)
			if !okc {
				return nil, "", q, 0, 0, false
			}
		}
		nodes = append(nodes, next)
		next = c.g.soleConsumer(next.Outputs[0])
		if next == nil || c.used[next] {
			return nil, "", q, 0, 0, false
		}
	}
	q, ok = c.g.qParams(next)
	if !ok || len(next.Outputs) != 1 {
		return nil, "", q, 0, 0, false
	}
	nodes = append(nodes, next)
	qmin, qmax = 0, 255
	zp := q.u8Zero()
	if !math.IsInf(float64(lo), 0) {
		qmin = max(qmin, quant.Quantize(lo, q.scale, zp, quant.Uint8))
	}
	if !math.IsInf(float64(hi), 0) {
		qmax = min(qmax, quant.Quantize(hi, q.scale, zp, quant.Uint8))
	}
	if qmin > qmax {
		return nil, "", q, 0, 0, false
	}
	return nodes, next.Outputs[0], q, qmin, qmax, true
}

// clipBounds reads Clip's bounds (attributes before opset 11, constant
// inputs from 11).
func (c *compiler) clipBounds(n *onnx.Node) (lo, hi float32, ok bool) {
	lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	if c.g.opset(n) < 11 {
		return n.AttrFloat("min", lo), n.AttrFloat("max", hi), true
	}
	for i, p := range []*float32{&lo, &hi} {
		name := input(n, i+1)
		if name == "" {
			continue
		}
		t := c.g.constOf(name)
		if t == nil || t.DataType != onnx.Float || len(t.F32) != 1 {
			return 0, 0, false
		}
		*p = t.F32[0]
	}
	return lo, hi, true
}

// actInput returns the 8-bit tensor behind a float input of n that a
// per-tensor DequantizeLinear makes.
func (c *compiler) actInput(name string) (x string, q qparams, ok bool) {
	x, q, _, ok = c.g.activationDQ(name)
	return x, q, ok
}

// weights reads a constant 8-bit tensor behind DequantizeLinear whose
// output channels lie along axis of dims (oc channels): the weights with
// their zero point removed (they must then fit int8) and one scale per
// channel.
func (c *compiler) weights(name string, axis int) (w []int8, dims []int64, scales []float32, ok bool) {
	dq := c.g.producer[name]
	if dq == nil || !isOp(dq, "DequantizeLinear") || dq.AttrInt("block_size", 0) != 0 {
		return nil, nil, nil, false
	}
	t := c.g.constOf(input(dq, 0))
	st := c.g.constOf(input(dq, 1))
	zt := c.g.constOf(input(dq, 2))
	if t == nil || st == nil || st.DataType != onnx.Float || (input(dq, 2) != "" && zt == nil) {
		return nil, nil, nil, false
	}
	if t.DataType != onnx.Int8 && t.DataType != onnx.Uint8 {
		return nil, nil, nil, false
	}
	dims = t.Dims
	if axis >= len(dims) {
		return nil, nil, nil, false
	}
	oc := int(dims[axis])
	dqAxis := int(dq.AttrInt("axis", 1))
	if dqAxis < 0 {
		dqAxis += len(dims)
	}
	perChannel := len(st.F32) != 1 || len(st.Dims) == 1 && st.Dims[0] != 1
	if perChannel && (dqAxis != axis || len(st.F32) != oc) {
		return nil, nil, nil, false
	}
	scales = make([]float32, oc)
	zeros := make([]int32, oc)
	for ch := range oc {
		scales[ch] = st.F32[0]
		if perChannel {
			scales[ch] = st.F32[ch]
		}
		if !(scales[ch] >= 0) || math.IsInf(float64(scales[ch]), 0) {
			return nil, nil, nil, false
		}
	}
	if zt != nil {
		if zt.DataType != t.DataType || (zt.Len() != 1 && zt.Len() != oc) {
			return nil, nil, nil, false
		}
		zv, _ := zt.Int64s()
		for ch := range oc {
			zeros[ch] = int32(zv[0])
			if len(zv) > 1 {
				zeros[ch] = int32(zv[ch])
			}
		}
	}
	raw, _ := t.Int64s()
	inner := 1
	for _, d := range dims[axis+1:] {
		inner *= int(d)
	}
	w = make([]int8, len(raw))
	for i, v := range raw {
		ch := (i / inner) % oc
		s := int32(v) - zeros[ch]
		if s < -128 || s > 127 {
			return nil, nil, nil, false // not representable: fall back
		}
		w[i] = int8(s)
	}
	return w, dims, scales, true
}

// bias returns the int32 bias for input scale xs and weight scales ws:
// an int32 constant behind DequantizeLinear with scale xs·ws[c] is used
// as is; any other (a float constant, or a differently scaled int32 one)
// is quantized with quant.QuantizeBias.
func (c *compiler) bias(name string, xs float32, ws []float32) ([]int32, bool) {
	if name == "" {
		return nil, true
	}
	oc := len(ws)
	var real []float32
	if t := c.g.constOf(name); t != nil {
		if t.DataType != onnx.Float || len(t.F32) != oc {
			return nil, false
		}
		real = t.F32
	} else {
		dq := c.g.producer[name]
		if dq == nil || !isOp(dq, "DequantizeLinear") {
			return nil, false
		}
		t := c.g.constOf(input(dq, 0))
		st := c.g.constOf(input(dq, 1))
		zt := c.g.constOf(input(dq, 2))
		if t == nil || t.DataType != onnx.Int32 || len(t.I32) != oc || st == nil || st.DataType != onnx.Float ||
			(len(st.F32) != 1 && len(st.F32) != oc) || (input(dq, 2) != "" && (zt == nil || zt.DataType != onnx.Int32)) {
			return nil, false
		}
		exact := true
		real = make([]float32, oc)
		for ch := range oc {
			s := st.F32[0]
			if len(st.F32) > 1 {
				s = st.F32[ch]
			}
			var z int32
			if zt != nil {
				z = zt.I32[0]
				if len(zt.I32) > 1 {
					z = zt.I32[ch]
				}
			}
			if z != 0 || s != xs*ws[ch] {
				exact = false
			}
			real[ch] = quant.Dequantize(t.I32[ch], s, z)
		}
		if exact {
			return t.I32, true
		}
	}
	scales := make([]float32, oc)
	for ch := range oc {
		scales[ch] = ws[ch]
		if ws[ch] == 0 {
			scales[ch] = 1 // dead channel: its multiplier is zero anyway
		}
	}
	q, _, err := quant.QuantizeBias(real, xs, scales)
	return q, err == nil
}

// multipliers returns the per-channel requantization of a product of
// input scale xs and weight scales ws to output scale ys (ONNX Runtime's
// float32 scale xs·ws/ys, held exactly by the fixed-point multiplier).
func multipliers(xs float32, ws []float32, ys float32) ([]qkernel.Requant, bool) {
	r := make([]qkernel.Requant, len(ws))
	for ch, s := range ws {
		var m quant.Multiplier
		if s > 0 {
			var err error
			if m, err = quant.RequantMultiplier(xs, s, ys); err != nil {
				return nil, false
			}
		}
		r[ch] = qkernel.NewRequant(m)
	}
	return r, true
}

// unaryOps are the elementwise operators that, between a
// DequantizeLinear and a QuantizeLinear, become a 256-entry table.
var unaryOps = map[string]bool{
	"Relu": true, "Clip": true, "Identity": true, "Dropout": true, "LeakyRelu": true,
	"Sigmoid": true, "Tanh": true, "HardSigmoid": true, "HardSwish": true, "Elu": true,
	"Selu": true, "Softplus": true, "Neg": true, "Abs": true, "Exp": true,
}

// compile lowers g. kern is the convolution kernel of the model.
func compile(g *graph, kern *qkernel.ConvKernel) (*program, error) {
	c := &compiler{g: g, kern: kern, used: map[*onnx.Node]bool{}, quant: map[string]bool{},
		elem: map[string]onnx.DataType{}, at: map[*onnx.Node]*pending{}, fold: map[*onnx.Node]bool{}}
	// Constant nodes first: scales and shapes may come from them.
	for _, n := range g.nodes {
		if isOp(n, "Constant") && len(n.Inputs) == 0 {
			if err := c.foldNode(n); err != nil {
				return nil, err
			}
		}
	}
	// Pass 1a: lowered patterns.
	for _, n := range g.nodes {
		if c.used[n] || c.fold[n] {
			continue
		}
		p, absorbed := c.match(n)
		if p == nil {
			continue
		}
		for _, a := range absorbed {
			c.used[a] = true
		}
		c.used[n] = true
		c.at[n] = p
		for i, in := range p.inNames {
			if p.quantIn == nil || p.quantIn[i] {
				c.quant[in] = true
			}
		}
		for _, out := range p.outName {
			c.quant[out] = true
		}
	}
	// Pass 1b: the remaining QuantizeLinear nodes quantize into the arena.
	for _, n := range g.nodes {
		if c.used[n] || c.fold[n] || !isOp(n, "QuantizeLinear") {
			continue
		}
		if g.constOf(input(n, 0)) != nil {
			continue // folded below
		}
		q, ok := g.qParams(n)
		if !ok {
			continue
		}
		c.elem[n.Outputs[0]] = q.elem
		c.quant[n.Outputs[0]] = true
		c.at[n] = &pending{op: newQuantizeOp(n, q), inNames: []string{input(n, 0)}, outName: []string{n.Outputs[0]}, quantIn: []bool{false}}
	}
	// Pass 1c: DequantizeLinear nodes. Absorbed when every reader is a
	// lowered op; a conversion when the tensor lives in the arena.
	for _, n := range g.nodes {
		if c.used[n] || c.fold[n] || !isOp(n, "DequantizeLinear") {
			continue
		}
		readers := g.consumers[n.Outputs[0]]
		all := !g.outputs[n.Outputs[0]]
		for _, r := range readers {
			if !c.used[r] {
				all = false
			}
		}
		if all {
			c.used[n] = true
			continue
		}
		x, q, ok := g.dqParams(n)
		if !ok || g.constOf(x) != nil {
			continue // constant: folded below; per-axis activations: fallback
		}
		if !c.quant[x] && g.inputs[x] == nil {
			continue // produced by a fallback node: stays in the float world
		}
		c.quant[x] = true
		c.elem[x] = q.elem
		c.at[n] = &pending{op: newDequantizeOp(n, q), inNames: []string{x}, outName: []string{n.Outputs[0]}}
	}
	// Pass 1d: fold what only depends on constants; the rest falls back.
	for _, n := range g.nodes {
		if c.used[n] || c.fold[n] || c.at[n] != nil {
			continue
		}
		allConst := len(n.Inputs) > 0
		for _, in := range n.Inputs {
			if in != "" && g.constOf(in) == nil {
				allConst = false
			}
		}
		if allConst && !c.readOnlyByLowered(n) {
			if err := c.foldNode(n); err != nil {
				return nil, err
			}
			continue
		}
		if allConst {
			c.used[n] = true // a weight DQ only lowered ops read
			continue
		}
		if !ref.Supported(n.Domain, n.OpType) {
			return nil, fmt.Errorf("node %s: operator %s is not supported (neither lowered nor by the float reference)", n, qualifiedOp(n))
		}
		fb := newFallbackOp(n, g.opset(n))
		p := &pending{op: fb, inNames: n.Inputs, outName: n.Outputs}
		c.at[n] = p
	}
	return c.emit()
}

func qualifiedOp(n *onnx.Node) string {
	if n.Domain == "" || n.Domain == "ai.onnx" {
		return n.OpType
	}
	return n.Domain + "." + n.OpType
}

// readOnlyByLowered reports whether every reader of n's outputs was
// absorbed into a lowered op (so n need not be folded).
func (c *compiler) readOnlyByLowered(n *onnx.Node) bool {
	for _, o := range n.Outputs {
		if o == "" {
			continue
		}
		if c.g.outputs[o] {
			return false
		}
		for _, r := range c.g.consumers[o] {
			if !c.used[r] {
				return false
			}
		}
	}
	return true
}

// foldNode evaluates a node whose inputs are all constants.
func (c *compiler) foldNode(n *onnx.Node) error {
	in := make([]*onnx.Tensor, len(n.Inputs))
	for i, name := range n.Inputs {
		if name != "" {
			in[i] = c.g.consts[name]
		}
	}
	out, err := ref.RunNode(n, c.g.opset(n), in)
	if err != nil {
		return err
	}
	for i, name := range n.Outputs {
		if name != "" && out[i] != nil {
			out[i].Name = name
			c.g.consts[name] = out[i]
		}
	}
	c.fold[n] = true
	return nil
}

// program is the lowered model: values, ops in execution order, and the
// graph's inputs and outputs (always kindFloat or kindConst values: the
// tensors callers pass and get).
type program struct {
	values    []*value
	ops       []op
	inputs    []int
	outputs   []int
	inputInfo []*onnx.ValueInfo
}

// emit creates the values and ops in execution order (pass 2).
func (c *compiler) emit() (*program, error) {
	g := c.g
	pr := &program{}
	byName := map[string]int{}
	twin := map[string]int{}
	var imports []op
	add := func(v *value) int {
		pr.values = append(pr.values, v)
		return len(pr.values) - 1
	}
	for _, vi := range g.m.Graph.RealInputs() {
		id := add(&value{name: vi.Name, kind: kindFloat, graphInput: true})
		byName[vi.Name] = id
		pr.inputs = append(pr.inputs, id)
		pr.inputInfo = append(pr.inputInfo, vi)
	}
	elemOf := func(name string) onnx.DataType {
		if e, ok := c.elem[name]; ok {
			return e
		}
		return g.elemOf(name)
	}
	// ref returns the value a consumer reads; quant asks for the arena
	// form.
	ref := func(name string, quant bool) int {
		if name == "" {
			return -1
		}
		if quant && g.inputs[name] != nil {
			if id, ok := twin[name]; ok {
				return id
			}
			e := elemOf(name)
			id := add(&value{name: name, kind: kindQuant, elem: e})
			twin[name] = id
			imp := &importOp{opBase: opBase{kind: "import", kernel: "convert_generic", in: []int{byName[name]}, out: []int{id}}, elem: e}
			imports = append(imports, imp)
			return id
		}
		if id, ok := byName[name]; ok {
			return id
		}
		if t := g.consts[name]; t != nil && !quant {
			id := add(&value{name: name, kind: kindConst, konst: t})
			byName[name] = id
			return id
		}
		v := &value{name: name, kind: kindFloat}
		if quant || c.quant[name] {
			v.kind, v.elem = kindQuant, elemOf(name)
		}
		id := add(v)
		byName[name] = id
		return id
	}
	staticVal := map[int]bool{}
	for _, n := range g.nodes {
		p := c.at[n]
		if p == nil {
			continue
		}
		b := p.op.base()
		b.in = b.in[:0]
		for i, name := range p.inNames {
			q := p.quantIn == nil || p.quantIn[i]
			if fb, ok := p.op.(*fallbackOp); ok {
				_ = fb
				q = c.quant[name] && g.inputs[name] == nil
			}
			if _, ok := p.op.(*quantizeOp); ok {
				q = false
			}
			b.in = append(b.in, ref(name, q))
		}
		b.out = b.out[:0]
		for _, name := range p.outName {
			if name == "" {
				b.out = append(b.out, -1)
				continue
			}
			if _, dup := byName[name]; dup {
				return nil, fmt.Errorf("node %s: output %q is produced twice", n, name)
			}
			q := true
			switch p.op.(type) {
			case *dequantizeOp:
				q = false
			case *fallbackOp:
				q = c.quant[name]
			}
			v := &value{name: name, kind: kindFloat}
			if q {
				v.kind, v.elem = kindQuant, elemOf(name)
			}
			id := add(v)
			byName[name] = id
			b.out = append(b.out, id)
		}
		if fb, ok := p.op.(*fallbackOp); ok {
			static := n.OpType == "Shape" || n.OpType == "Size"
			if !static {
				static = true
				for _, v := range b.in {
					if v >= 0 && pr.values[v].kind != kindConst && !staticVal[v] {
						static = false
					}
				}
			}
			if static {
				for _, v := range b.out {
					if v >= 0 && pr.values[v].kind == kindFloat {
						staticVal[v] = true
						pr.values[v].static = true
					} else if v >= 0 {
						static = false
					}
				}
			}
			fb.static = static
		}
		pr.ops = append(pr.ops, p.op)
	}
	pr.ops = append(imports, pr.ops...)
	for _, vi := range g.m.Graph.Outputs {
		id, ok := byName[vi.Name]
		if !ok {
			t := g.consts[vi.Name]
			if t == nil {
				return nil, fmt.Errorf("graph output %q is not produced", vi.Name)
			}
			id = add(&value{name: vi.Name, kind: kindConst, konst: t})
			byName[vi.Name] = id
		}
		if v := pr.values[id]; v.kind == kindQuant {
			out := add(&value{name: vi.Name, kind: kindFloat, graphOutput: true})
			pr.ops = append(pr.ops, &exportOp{opBase: opBase{kind: "export", kernel: "convert_generic", in: []int{id}, out: []int{out}}, elem: v.elem})
			id = out
		}
		pr.values[id].graphOutput = true
		pr.outputs = append(pr.outputs, id)
	}
	return pr, nil
}
