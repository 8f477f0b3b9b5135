package runtime

import (
	"math"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/quant"
	"github.com/piresnet/piresnet/runtime/internal/qkernel"
	"github.com/piresnet/piresnet/runtime/ref"
)

// match tries every lowering pattern rooted at n. It returns the op with
// the nodes it absorbs besides n, or nil.
func (c *compiler) match(n *onnx.Node) (*pending, []*onnx.Node) {
	if n.Domain != "" && n.Domain != "ai.onnx" && n.Domain != "com.microsoft" {
		return nil, nil
	}
	switch n.OpType {
	case "Conv":
		return c.matchConv(n)
	case "Gemm", "MatMul":
		return c.matchFC(n)
	case "Add":
		return c.matchAdd(n)
	case "MaxPool", "GlobalMaxPool":
		if p, abs := c.matchMaxPool(n); p != nil {
			return p, abs
		}
		return c.matchInt8MaxPool(n)
	case "AveragePool", "GlobalAveragePool":
		return c.matchAvgPool(n)
	case "Concat":
		return c.matchConcat(n)
	case "Flatten", "Reshape":
		if p, abs := c.matchReshape(n); p != nil {
			return p, abs
		}
		return c.matchInt8Reshape(n)
	case "QuantizeLinear":
		return c.matchRequant(n)
	case "QLinearConv":
		return c.matchQLinearConv(n)
	case "QLinearMatMul":
		return c.matchQLinearMatMul(n)
	case "QLinearAdd":
		return c.matchQLinearAdd(n)
	case "QLinearGlobalAveragePool":
		return c.matchQLinearGlobalAveragePool(n)
	case "QLinearConcat":
		return c.matchQLinearConcat(n)
	}
	if unaryOps[n.OpType] && n.Domain != "com.microsoft" {
		return c.matchUnary(n)
	}
	return nil, nil
}

func (c *compiler) setElem(name string, q qparams) { c.elem[name] = q.elem }

// convWeightsOHWI reorders ONNX conv weights [OC][KC][KH][KW] to the
// kernels' [OC][KH·KW][KC].
func convWeightsOHWI(w []int8, oc, kc, ks int) []int8 {
	out := make([]int8, len(w))
	for o := 0; o < oc; o++ {
		for k := 0; k < kc; k++ {
			for t := 0; t < ks; t++ {
				out[(o*ks+t)*kc+k] = w[(o*kc+k)*ks+t]
			}
		}
	}
	return out
}

func (c *compiler) matchConv(n *onnx.Node) (*pending, []*onnx.Node) {
	if len(n.Outputs) != 1 {
		return nil, nil
	}
	x, xq, ok := c.actInput(input(n, 0))
	if !ok {
		return nil, nil
	}
	w, dims, ws, ok := c.weights(input(n, 1), 0)
	if !ok || len(dims) != 4 {
		return nil, nil
	}
	abs, out, yq, qmin, qmax, ok := c.matchOutput(n.Outputs[0])
	if !ok {
		return nil, nil
	}
	return c.buildConv(n, x, xq, w, dims, ws, input(n, 2), out, yq, qmin, qmax, abs)
}

func (c *compiler) buildConv(n *onnx.Node, x string, xq qparams, w []int8, dims []int64, ws []float32, biasName, out string, yq qparams, qmin, qmax int32, abs []*onnx.Node) (*pending, []*onnx.Node) {
	group := int(n.AttrInt("group", 1))
	oc, kc := int(dims[0]), int(dims[1])
	if group < 1 || oc%group != 0 {
		return nil, nil
	}
	win, err := readWindow(n, dims[2:], false)
	if err != nil {
		return nil, nil
	}
	bias, ok := c.bias(biasName, xq.scale, ws)
	if !ok {
		return nil, nil
	}
	reqs, ok := multipliers(xq.scale, ws, yq.scale)
	if !ok {
		return nil, nil
	}
	ks := win.kh * win.kw
	cw := &qkernel.ConvWeights{Groups: group, NC: oc / group, KC: kc, KS: ks,
		W: convWeightsOHWI(w, oc, kc, ks), Bias: bias, Req: reqs, XZero: xq.u8Zero()}
	op, err := newConvOp(append([]*onnx.Node{n}, abs...), c.kern, cw, win, false, qkernel.NewOutput(yq.u8Zero(), qmin, qmax))
	if err != nil {
		return nil, nil
	}
	c.setElem(x, xq)
	c.setElem(out, yq)
	return &pending{op: op, inNames: []string{x}, outName: []string{out}}, abs
}

// matchFC lowers Gemm (alpha = beta = 1, A not transposed) and MatMul
// with a constant 2-D weight to a fully connected op.
func (c *compiler) matchFC(n *onnx.Node) (*pending, []*onnx.Node) {
	if len(n.Outputs) != 1 {
		return nil, nil
	}
	x, xq, ok := c.actInput(input(n, 0))
	if !ok {
		return nil, nil
	}
	axis, biasName := 1, ""
	if n.OpType == "Gemm" {
		if n.AttrFloat("alpha", 1) != 1 || n.AttrInt("transA", 0) != 0 || (input(n, 2) != "" && n.AttrFloat("beta", 1) != 1) {
			return nil, nil
		}
		if n.AttrInt("transB", 0) != 0 {
			axis = 0
		}
		biasName = input(n, 2)
	}
	w, dims, ws, ok := c.weights(input(n, 1), axis)
	if !ok || len(dims) != 2 {
		return nil, nil
	}
	abs, out, yq, qmin, qmax, ok := c.matchOutput(n.Outputs[0])
	if !ok {
		return nil, nil
	}
	return c.buildFC(n, x, xq, w, dims, axis, ws, biasName, out, yq, qmin, qmax, abs)
}

func (c *compiler) buildFC(n *onnx.Node, x string, xq qparams, w []int8, dims []int64, axis int, ws []float32, biasName, out string, yq qparams, qmin, qmax int32, abs []*onnx.Node) (*pending, []*onnx.Node) {
	nOut := int(dims[axis])
	k := int(dims[1-axis])
	if biasName != "" {
		if t := c.g.constOf(biasName); t != nil && !(len(t.Dims) == 1 || len(t.Dims) == 2 && t.Dims[0] == 1) {
			return nil, nil
		}
	}
	bias, ok := c.bias(biasName, xq.scale, ws)
	if !ok {
		return nil, nil
	}
	reqs, ok := multipliers(xq.scale, ws, yq.scale)
	if !ok {
		return nil, nil
	}
	wt := w
	if axis == 1 { // [K, out] → [out, K]
		wt = make([]int8, len(w))
		for i := 0; i < k; i++ {
			for j := 0; j < nOut; j++ {
				wt[j*k+i] = w[i*nOut+j]
			}
		}
	}
	cw := &qkernel.ConvWeights{Groups: 1, NC: nOut, KC: k, KS: 1, W: wt, Bias: bias, Req: reqs, XZero: xq.u8Zero()}
	op, err := newConvOp(append([]*onnx.Node{n}, abs...), c.kern, cw, window{kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, autoPad: "NOTSET"}, true, qkernel.NewOutput(yq.u8Zero(), qmin, qmax))
	if err != nil {
		return nil, nil
	}
	c.setElem(x, xq)
	c.setElem(out, yq)
	return &pending{op: op, inNames: []string{x}, outName: []string{out}}, abs
}

func (c *compiler) matchAdd(n *onnx.Node) (*pending, []*onnx.Node) {
	a, aq, ok1 := c.actInput(input(n, 0))
	b, bq, ok2 := c.actInput(input(n, 1))
	if !ok1 || !ok2 || len(n.Outputs) != 1 {
		return nil, nil
	}
	abs, out, yq, qmin, qmax, ok := c.matchOutput(n.Outputs[0])
	if !ok {
		return nil, nil
	}
	return c.buildAdd(n, a, aq, b, bq, out, yq, qmin, qmax, abs)
}

func (c *compiler) buildAdd(n *onnx.Node, a string, aq qparams, b string, bq qparams, out string, yq qparams, qmin, qmax int32, abs []*onnx.Node) (*pending, []*onnx.Node) {
	p, err := quant.NewAddParams(aq.scale, aq.u8Zero(), bq.scale, bq.u8Zero(), yq.scale, yq.u8Zero(), quant.Uint8)
	if err != nil {
		return nil, nil
	}
	p.Qmin, p.Qmax = max(p.Qmin, qmin), min(p.Qmax, qmax) // fused ReLU/Clip
	c.setElem(a, aq)
	c.setElem(b, bq)
	c.setElem(out, yq)
	return &pending{op: newAddOp(append([]*onnx.Node{n}, abs...), qkernel.NewAddTables(&p)), inNames: []string{a, b}, outName: []string{out}}, abs
}

// requantLUT is the table that maps an 8-bit value in parameters in to
// the value in parameters out, clamped to [qmin, qmax] (uint8 domain):
// QuantizeLinear(DequantizeLinear(v)) computed as ONNX defines them. It is
// nil when the map is the identity.
func requantLUT(in, out qparams, qmin, qmax int32) *[256]uint8 {
	if in.equal(out) && qmin == 0 && qmax == 255 {
		return nil
	}
	var t [256]uint8
	for i := range t {
		real := quant.Dequantize(int32(i), in.scale, in.u8Zero())
		v := quant.Quantize(real, out.scale, out.u8Zero(), quant.Uint8)
		t[i] = uint8(min(max(v, qmin), qmax))
	}
	return &t
}

func (c *compiler) matchMaxPool(n *onnx.Node) (*pending, []*onnx.Node) {
	if len(n.Outputs) != 1 {
		return nil, nil
	}
	x, xq, ok := c.actInput(input(n, 0))
	if !ok {
		return nil, nil
	}
	abs, out, yq, qmin, qmax, ok := c.matchOutput(n.Outputs[0])
	if !ok {
		return nil, nil
	}
	var op op
	lut := requantLUT(xq, yq, qmin, qmax)
	if n.OpType == "GlobalMaxPool" {
		op = newGlobalPoolOp(append([]*onnx.Node{n}, abs...), false, 0, 0, 0, lut, qkernel.Output{})
	} else {
		win, err := readWindow(n, nil, true)
		if err != nil {
			return nil, nil
		}
		op = newMaxPoolOp(append([]*onnx.Node{n}, abs...), win, lut)
	}
	c.setElem(x, xq)
	c.setElem(out, yq)
	return &pending{op: op, inNames: []string{x}, outName: []string{out}}, abs
}

// int8Elem reports the type of an 8-bit tensor that lives in the arena
// when lowered: the output of a QuantizeLinear, of an operator-form node
// or of a max pooling of one, or an 8-bit graph input.
func (c *compiler) int8Elem(name string) (onnx.DataType, bool) {
	if c.g.constOf(name) != nil {
		return 0, false
	}
	if vi := c.g.inputs[name]; vi != nil {
		if vi.Type != nil && (vi.Type.Elem == onnx.Uint8 || vi.Type.Elem == onnx.Int8) {
			return vi.Type.Elem, true
		}
		return 0, false
	}
	p := c.g.producer[name]
	if p == nil {
		return 0, false
	}
	zpInput := map[string]int{"QuantizeLinear": 2, "QLinearConv": 7, "QLinearMatMul": 7, "QLinearAdd": 7,
		"QLinearGlobalAveragePool": 4, "QLinearConcat": 1}
	if i, ok := zpInput[p.OpType]; ok {
		if t := c.g.constOf(input(p, i)); t != nil && (t.DataType == onnx.Uint8 || t.DataType == onnx.Int8) {
			return t.DataType, true
		}
		if p.OpType == "QuantizeLinear" && input(p, 2) == "" {
			return onnx.Uint8, true
		}
		return 0, false
	}
	switch p.OpType {
	case "MaxPool", "GlobalMaxPool", "Flatten", "Reshape":
		if len(p.Outputs) == 1 {
			return c.int8Elem(input(p, 0))
		}
	}
	return 0, false
}

// matchInt8MaxPool lowers max pooling applied directly to an 8-bit tensor
// (ONNX MaxPool accepts uint8 and int8 from opset 12).
func (c *compiler) matchInt8MaxPool(n *onnx.Node) (*pending, []*onnx.Node) {
	elem, ok := c.int8Elem(input(n, 0))
	if !ok || len(n.Outputs) != 1 {
		return nil, nil
	}
	var op op
	if n.OpType == "GlobalMaxPool" {
		op = newGlobalPoolOp([]*onnx.Node{n}, false, 0, 0, 0, nil, qkernel.Output{})
	} else {
		win, err := readWindow(n, nil, true)
		if err != nil {
			return nil, nil
		}
		op = newMaxPoolOp([]*onnx.Node{n}, win, nil)
	}
	c.elem[input(n, 0)] = elem
	c.elem[n.Outputs[0]] = elem
	return &pending{op: op, inNames: []string{input(n, 0)}, outName: []string{n.Outputs[0]}}, nil
}

// matchInt8Reshape lowers Flatten or Reshape applied directly to an 8-bit
// tensor (the operator form between QLinear nodes).
func (c *compiler) matchInt8Reshape(n *onnx.Node) (*pending, []*onnx.Node) {
	elem, ok := c.int8Elem(input(n, 0))
	if !ok || len(n.Outputs) != 1 || (n.OpType == "Reshape" && (input(n, 1) == "" || n.AttrInt("allowzero", 0) != 0)) {
		return nil, nil
	}
	c.elem[input(n, 0)] = elem
	c.elem[n.Outputs[0]] = elem
	p := &pending{op: newReshapeOp([]*onnx.Node{n}, nil), inNames: []string{input(n, 0)}, outName: []string{n.Outputs[0]}}
	if n.OpType == "Reshape" {
		p.inNames = append(p.inNames, input(n, 1))
		p.quantIn = []bool{true, false}
	}
	return p, nil
}

func (c *compiler) matchAvgPool(n *onnx.Node) (*pending, []*onnx.Node) {
	if len(n.Outputs) != 1 {
		return nil, nil
	}
	x, xq, ok := c.actInput(input(n, 0))
	if !ok {
		return nil, nil
	}
	abs, out, yq, qmin, qmax, ok := c.matchOutput(n.Outputs[0])
	if !ok {
		return nil, nil
	}
	o := qkernel.NewOutput(yq.u8Zero(), qmin, qmax)
	var op op
	if n.OpType == "GlobalAveragePool" {
		op = newGlobalPoolOp(append([]*onnx.Node{n}, abs...), true, xq.scale, yq.scale, xq.u8Zero(), nil, o)
	} else {
		win, err := readWindow(n, nil, true)
		if err != nil {
			return nil, nil
		}
		countPad := n.AttrInt("count_include_pad", 0) != 0
		reqs := make([]qkernel.Requant, win.kh*win.kw+1)
		for d := 1; d < len(reqs); d++ {
			m, err := quant.AveragePoolMultiplier(xq.scale, yq.scale, d)
			if err != nil {
				return nil, nil
			}
			reqs[d] = qkernel.NewRequant(m)
		}
		op = newAvgPoolOp(append([]*onnx.Node{n}, abs...), win, countPad, xq.u8Zero(), reqs, o)
	}
	c.setElem(x, xq)
	c.setElem(out, yq)
	return &pending{op: op, inNames: []string{x}, outName: []string{out}}, abs
}

func (c *compiler) matchConcat(n *onnx.Node) (*pending, []*onnx.Node) {
	if len(n.Outputs) != 1 || len(n.Inputs) == 0 {
		return nil, nil
	}
	var xs []string
	var qs []qparams
	for _, in := range n.Inputs {
		x, xq, ok := c.actInput(in)
		if !ok {
			return nil, nil
		}
		xs, qs = append(xs, x), append(qs, xq)
	}
	abs, out, yq, qmin, qmax, ok := c.matchOutput(n.Outputs[0])
	if !ok {
		return nil, nil
	}
	return c.buildConcat(n, xs, qs, out, yq, qmin, qmax, abs)
}

func (c *compiler) buildConcat(n *onnx.Node, xs []string, qs []qparams, out string, yq qparams, qmin, qmax int32, abs []*onnx.Node) (*pending, []*onnx.Node) {
	luts := make([]*[256]uint8, len(xs))
	for i := range xs {
		luts[i] = requantLUT(qs[i], yq, qmin, qmax)
		c.setElem(xs[i], qs[i])
	}
	c.setElem(out, yq)
	op := newConcatOp(append([]*onnx.Node{n}, abs...), int(n.AttrInt("axis", 1)), luts)
	return &pending{op: op, inNames: xs, outName: []string{out}}, abs
}

func (c *compiler) matchReshape(n *onnx.Node) (*pending, []*onnx.Node) {
	if len(n.Outputs) != 1 {
		return nil, nil
	}
	x, xq, ok := c.actInput(input(n, 0))
	if !ok {
		return nil, nil
	}
	if n.OpType == "Reshape" && (input(n, 1) == "" || n.AttrInt("allowzero", 0) != 0) {
		return nil, nil
	}
	abs, out, yq, qmin, qmax, ok := c.matchOutput(n.Outputs[0])
	if !ok {
		return nil, nil
	}
	lut := requantLUT(xq, yq, qmin, qmax)
	c.setElem(x, xq)
	c.setElem(out, yq)
	op := newReshapeOp(append([]*onnx.Node{n}, abs...), lut)
	p := &pending{op: op, inNames: []string{x}, outName: []string{out}}
	if n.OpType == "Reshape" {
		p.inNames = append(p.inNames, input(n, 1))
		p.quantIn = []bool{true, false}
	}
	return p, abs
}

// matchRequant lowers DequantizeLinear → QuantizeLinear (a change of
// parameters) to a table.
func (c *compiler) matchRequant(n *onnx.Node) (*pending, []*onnx.Node) {
	x, xq, ok := c.actInput(input(n, 0))
	if !ok {
		return nil, nil
	}
	yq, ok := c.g.qParams(n)
	if !ok {
		return nil, nil
	}
	c.setElem(x, xq)
	c.setElem(n.Outputs[0], yq)
	op := newLUTOp([]*onnx.Node{n}, "requantize", requantLUT(xq, yq, 0, 255))
	return &pending{op: op, inNames: []string{x}, outName: []string{n.Outputs[0]}}, nil
}

// matchUnary lowers an elementwise operator between DequantizeLinear and
// QuantizeLinear to a 256-entry table computed by the float reference.
func (c *compiler) matchUnary(n *onnx.Node) (*pending, []*onnx.Node) {
	if len(n.Outputs) == 0 || !ref.Supported(n.Domain, n.OpType) {
		return nil, nil
	}
	for _, o := range n.Outputs[1:] {
		if o != "" && (len(c.g.consumers[o]) > 0 || c.g.outputs[o]) {
			return nil, nil
		}
	}
	x, xq, ok := c.actInput(input(n, 0))
	if !ok {
		return nil, nil
	}
	in := []*onnx.Tensor{nil}
	for _, name := range n.Inputs[1:] {
		if name == "" {
			in = append(in, nil)
			continue
		}
		t := c.g.constOf(name)
		if t == nil {
			return nil, nil
		}
		in = append(in, t)
	}
	abs, out, yq, qmin, qmax, ok := c.matchOutput(n.Outputs[0])
	if !ok {
		return nil, nil
	}
	vals := make([]float32, 256)
	for i := range vals {
		vals[i] = quant.Dequantize(int32(i), xq.scale, xq.u8Zero())
	}
	in[0] = onnx.NewFloat("x", []int64{256}, vals)
	res, err := ref.RunNode(n, c.g.opset(n), in)
	if err != nil || res[0] == nil || res[0].DataType != onnx.Float || len(res[0].F32) != 256 {
		return nil, nil
	}
	var t [256]uint8
	for i, v := range res[0].F32 {
		if math.IsNaN(float64(v)) {
			return nil, nil
		}
		q := quant.Quantize(v, yq.scale, yq.u8Zero(), quant.Uint8)
		t[i] = uint8(min(max(q, qmin), qmax))
	}
	c.setElem(x, xq)
	c.setElem(out, yq)
	op := newLUTOp(append([]*onnx.Node{n}, abs...), "lut", &t)
	return &pending{op: op, inNames: []string{x}, outName: []string{out}}, abs
}

// opParams reads the constant scale and zero point inputs si, si+1 of an
// operator-form node.
func (c *compiler) opParams(n *onnx.Node, si int) (qparams, bool) {
	zt := c.g.constOf(input(n, si+1))
	if input(n, si+1) != "" && zt == nil {
		return qparams{}, false
	}
	return scalarParams(c.g.constOf(input(n, si)), zt, onnx.Uint8)
}

func (c *compiler) opActivation(n *onnx.Node, i int) (string, bool) {
	x := input(n, i)
	return x, x != "" && c.g.constOf(x) == nil
}

// weightsFrom reads constant operator-form weights with their scale and
// zero point inputs (per-tensor or per-channel along axis).
func (c *compiler) weightsFrom(n *onnx.Node, wi, axis int) (w []int8, dims []int64, ws []float32, ok bool) {
	// Build a throwaway DequantizeLinear view so weights() can be reused.
	dq := &onnx.Node{OpType: "DequantizeLinear", Inputs: []string{input(n, wi), input(n, wi+1), input(n, wi+2)},
		Outputs: []string{"\x00w"}, Attrs: []*onnx.Attribute{onnx.AttrI("axis", int64(axis))}}
	saved := c.g.producer["\x00w"]
	c.g.producer["\x00w"] = dq
	defer func() {
		if saved == nil {
			delete(c.g.producer, "\x00w")
		} else {
			c.g.producer["\x00w"] = saved
		}
	}()
	return c.weights("\x00w", axis)
}

func (c *compiler) matchQLinearConv(n *onnx.Node) (*pending, []*onnx.Node) {
	x, ok := c.opActivation(n, 0)
	xq, ok1 := c.opParams(n, 1)
	yq, ok2 := c.opParams(n, 6)
	if !ok || !ok1 || !ok2 || len(n.Outputs) != 1 {
		return nil, nil
	}
	w, dims, ws, ok := c.weightsFrom(n, 3, 0)
	if !ok || len(dims) != 4 {
		return nil, nil
	}
	biasName := input(n, 8)
	if biasName != "" {
		t := c.g.constOf(biasName)
		if t == nil || t.DataType != onnx.Int32 || len(t.I32) != int(dims[0]) {
			return nil, nil
		}
		// ONNX: the bias has scale x_scale·w_scale and zero point 0.
		return c.buildConvBias(n, x, xq, w, dims, ws, t.I32, n.Outputs[0], yq)
	}
	return c.buildConvBias(n, x, xq, w, dims, ws, nil, n.Outputs[0], yq)
}

func (c *compiler) buildConvBias(n *onnx.Node, x string, xq qparams, w []int8, dims []int64, ws []float32, bias []int32, out string, yq qparams) (*pending, []*onnx.Node) {
	group := int(n.AttrInt("group", 1))
	oc, kc := int(dims[0]), int(dims[1])
	if group < 1 || oc%group != 0 {
		return nil, nil
	}
	win, err := readWindow(n, dims[2:], false)
	if err != nil {
		return nil, nil
	}
	reqs, ok := multipliers(xq.scale, ws, yq.scale)
	if !ok {
		return nil, nil
	}
	ks := win.kh * win.kw
	cw := &qkernel.ConvWeights{Groups: group, NC: oc / group, KC: kc, KS: ks,
		W: convWeightsOHWI(w, oc, kc, ks), Bias: bias, Req: reqs, XZero: xq.u8Zero()}
	op, err := newConvOp([]*onnx.Node{n}, c.kern, cw, win, false, qkernel.NewOutput(yq.u8Zero(), 0, 255))
	if err != nil {
		return nil, nil
	}
	c.setElem(x, xq)
	c.setElem(out, yq)
	return &pending{op: op, inNames: []string{x}, outName: []string{out}}, nil
}

func (c *compiler) matchQLinearMatMul(n *onnx.Node) (*pending, []*onnx.Node) {
	x, ok := c.opActivation(n, 0)
	xq, ok1 := c.opParams(n, 1)
	yq, ok2 := c.opParams(n, 6)
	if !ok || !ok1 || !ok2 || len(n.Outputs) != 1 {
		return nil, nil
	}
	w, dims, ws, ok := c.weightsFrom(n, 3, 1)
	if !ok || len(dims) != 2 {
		return nil, nil
	}
	return c.buildFC(n, x, xq, w, dims, 1, ws, "", n.Outputs[0], yq, 0, 255, nil)
}

func (c *compiler) matchQLinearAdd(n *onnx.Node) (*pending, []*onnx.Node) {
	a, ok1 := c.opActivation(n, 0)
	b, ok2 := c.opActivation(n, 3)
	aq, ok3 := c.opParams(n, 1)
	bq, ok4 := c.opParams(n, 4)
	yq, ok5 := c.opParams(n, 6)
	if !(ok1 && ok2 && ok3 && ok4 && ok5) || len(n.Outputs) != 1 {
		return nil, nil
	}
	return c.buildAdd(n, a, aq, b, bq, n.Outputs[0], yq, 0, 255, nil)
}

func (c *compiler) matchQLinearGlobalAveragePool(n *onnx.Node) (*pending, []*onnx.Node) {
	x, ok := c.opActivation(n, 0)
	xq, ok1 := c.opParams(n, 1)
	yq, ok2 := c.opParams(n, 3)
	if !ok || !ok1 || !ok2 || len(n.Outputs) != 1 || n.AttrInt("channels_last", 0) != 0 {
		return nil, nil
	}
	c.setElem(x, xq)
	c.setElem(n.Outputs[0], yq)
	op := newGlobalPoolOp([]*onnx.Node{n}, true, xq.scale, yq.scale, xq.u8Zero(), nil, qkernel.NewOutput(yq.u8Zero(), 0, 255))
	return &pending{op: op, inNames: []string{x}, outName: []string{n.Outputs[0]}}, nil
}

func (c *compiler) matchQLinearConcat(n *onnx.Node) (*pending, []*onnx.Node) {
	yq, ok := c.opParams(n, 0)
	if !ok || len(n.Outputs) != 1 || len(n.Inputs) < 5 || (len(n.Inputs)-2)%3 != 0 {
		return nil, nil
	}
	var xs []string
	var qs []qparams
	for i := 2; i < len(n.Inputs); i += 3 {
		x, ok1 := c.opActivation(n, i)
		xq, ok2 := c.opParams(n, i+1)
		if !ok1 || !ok2 {
			return nil, nil
		}
		xs, qs = append(xs, x), append(qs, xq)
	}
	return c.buildConcat(n, xs, qs, n.Outputs[0], yq, 0, 255, nil)
}
