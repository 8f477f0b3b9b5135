package convert

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/piresnet/piresnet/internal/onnx"
)

// graphEdit is a float graph being simplified: nodes in order, constants
// by name, and the names in use.
type graphEdit struct {
	m      *onnx.Model
	nodes  []*onnx.Node
	consts map[string]*onnx.Tensor
	input  string          // the one real graph input
	output map[string]bool // graph outputs
	names  map[string]bool // every value and node name in use
	notes  []string
}

// supportedOps are the operators a prepared graph may hold (each becomes
// int8 with QuantizeLinear/DequantizeLinear around it).
var supportedOps = []string{"Conv", "Gemm", "Relu", "Clip", "Add", "MaxPool", "AveragePool",
	"GlobalAveragePool", "GlobalMaxPool", "Concat", "Flatten", "Reshape"}

// Prepare returns a simplified copy of a float ResNet graph, numerically the
// same function, in the form the quantizer works on:
//
//   - Constant nodes become initializers; Identity, Dropout and Pad by zero
//     nodes are removed;
//   - torch.onnx.export's flattening x.view(x.size(0), −1), Shape → Gather
//     → Unsqueeze → Concat(…, −1) → Reshape, and Reshape to a constant
//     [0, −1], become Flatten(axis=1);
//   - MatMul by a constant matrix followed by the Add of a constant vector
//     becomes Gemm; every Gemm gets alpha = beta = 1 and transB = 1;
//   - BatchNormalization is folded into the Conv or Gemm before it (its
//     only reader), else into the Gemm after it (fastai's BatchNorm1d
//     before a Linear), else becomes a per-channel 1×1 depthwise Conv (4-D
//     input) or a diagonal Gemm (2-D);
//   - nodes whose outputs nobody reads are dropped.
//
// The result holds only the operators in supportedOps; any other operator
// is an error naming the node. The input model is not modified (the copy
// shares the initializers it does not change).
func Prepare(m *onnx.Model) (*onnx.Model, []string, error) {
	e, err := newGraphEdit(m)
	if err != nil {
		return nil, nil, err
	}
	steps := []func() error{e.constantsToInitializers, e.removeIdentities, e.foldShapeFlatten,
		e.matmulToGemm, e.canonicalGemm, e.foldBatchNorms, e.removeDead, e.checkOps}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, nil, err
		}
	}
	return e.model(), e.notes, nil
}

func newGraphEdit(m *onnx.Model) (*graphEdit, error) {
	if m == nil || m.Graph == nil {
		return nil, fmt.Errorf("convert: model has no graph")
	}
	order, err := m.Graph.SortNodes()
	if err != nil {
		return nil, fmt.Errorf("convert: %v", err)
	}
	e := &graphEdit{m: m, consts: map[string]*onnx.Tensor{}, output: map[string]bool{}, names: map[string]bool{}}
	for _, t := range m.Graph.Initializers {
		e.consts[t.Name] = t
		e.names[t.Name] = true
	}
	ins := m.Graph.RealInputs()
	if len(ins) != 1 {
		return nil, fmt.Errorf("convert: the model has %d inputs; a classifier has one image input", len(ins))
	}
	e.input = ins[0].Name
	e.names[e.input] = true
	if t := ins[0].Type; t != nil && t.IsTensor && t.Elem != onnx.Float && t.Elem != onnx.Undefined {
		return nil, fmt.Errorf("convert: input %q is %v; the float model's input must be float32", e.input, t.Elem)
	}
	if t := ins[0].Type; t != nil && t.HasShape && len(t.Shape) != 4 {
		return nil, fmt.Errorf("convert: input %q has rank %d; want an NCHW image batch", e.input, len(t.Shape))
	}
	if len(m.Graph.Outputs) == 0 {
		return nil, fmt.Errorf("convert: the model has no output")
	}
	for _, o := range m.Graph.Outputs {
		e.output[o.Name] = true
	}
	for _, n := range order {
		c := *n
		c.Inputs = slices.Clone(n.Inputs)
		c.Outputs = slices.Clone(n.Outputs)
		c.Attrs = slices.Clone(n.Attrs)
		if c.Domain == "ai.onnx" {
			c.Domain = ""
		}
		if c.Domain != "" {
			return nil, fmt.Errorf("convert: node %s: operator %s.%s is not supported", n, c.Domain, c.OpType)
		}
		e.nodes = append(e.nodes, &c)
		if c.Name != "" {
			e.names[c.Name] = true
		}
		for _, o := range c.Outputs {
			e.names[o] = true
		}
	}
	return e, nil
}

// model assembles the edited graph into a new model.
func (e *graphEdit) model() *onnx.Model {
	m := *e.m
	g := *e.m.Graph
	g.Nodes = e.nodes
	g.ValueInfo = nil // shapes of values that changed would be stale
	used := map[string]bool{}
	for _, n := range e.nodes {
		for _, in := range n.Inputs {
			used[in] = true
		}
	}
	for _, o := range g.Outputs {
		used[o.Name] = true
	}
	g.Initializers = nil
	names := make([]string, 0, len(e.consts))
	for name := range e.consts {
		if used[name] {
			names = append(names, name)
		}
	}
	// Keep the original order of initializers, then new ones by name.
	seen := map[string]bool{}
	for _, t := range e.m.Graph.Initializers {
		if used[t.Name] && e.consts[t.Name] != nil {
			g.Initializers = append(g.Initializers, e.consts[t.Name])
			seen[t.Name] = true
		}
	}
	slices.Sort(names)
	for _, name := range names {
		if !seen[name] {
			g.Initializers = append(g.Initializers, e.consts[name])
		}
	}
	g.Inputs = nil
	for _, vi := range e.m.Graph.Inputs {
		if vi.Name == e.input {
			g.Inputs = append(g.Inputs, vi)
		}
	}
	m.Graph = &g
	m.MetadataProps = slices.Clone(e.m.MetadataProps)
	m.OpsetImports = slices.Clone(e.m.OpsetImports)
	return &m
}

// unique returns a name not in use, based on base, and reserves it.
func (e *graphEdit) unique(base string) string {
	name := base
	for i := 1; e.names[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	e.names[name] = true
	return name
}

func (e *graphEdit) opset() int64 {
	for _, o := range e.m.OpsetImports {
		if o.Domain == "" || o.Domain == "ai.onnx" {
			return o.Version
		}
	}
	return 1
}

// consumers returns the nodes reading name.
func (e *graphEdit) consumers(name string) []*onnx.Node {
	var out []*onnx.Node
	for _, n := range e.nodes {
		if slices.Contains(n.Inputs, name) {
			out = append(out, n)
		}
	}
	return out
}

func (e *graphEdit) producer(name string) *onnx.Node {
	for _, n := range e.nodes {
		if slices.Contains(n.Outputs, name) {
			return n
		}
	}
	return nil
}

// soleReader returns the only node reading name when name is not a graph
// output either.
func (e *graphEdit) soleReader(name string) *onnx.Node {
	if e.output[name] {
		return nil
	}
	c := e.consumers(name)
	if len(c) != 1 {
		return nil
	}
	return c[0]
}

// rename makes every reader of from read to instead.
func (e *graphEdit) rename(from, to string) {
	for _, n := range e.nodes {
		for i, in := range n.Inputs {
			if in == from {
				n.Inputs[i] = to
			}
		}
	}
}

// bypass removes node n whose output out equals its input in.
func (e *graphEdit) bypass(n *onnx.Node, in, out string) {
	if e.output[out] {
		// The graph output keeps its name: the producer of in writes it.
		if p := e.producer(in); p != nil && !e.output[in] && in != e.input {
			for i, o := range p.Outputs {
				if o == in {
					p.Outputs[i] = out
				}
			}
			e.rename(in, out)
			e.remove(n)
			return
		}
		// Otherwise keep an Identity-free copy: Flatten of a 2-D... keep n
		// as a Reshape-free no-op is not possible; leave it.
		return
	}
	e.rename(out, in)
	e.remove(n)
}

func (e *graphEdit) remove(n *onnx.Node) {
	e.nodes = slices.DeleteFunc(e.nodes, func(x *onnx.Node) bool { return x == n })
}

func input(n *onnx.Node, i int) string {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return ""
}

// constantsToInitializers turns Constant nodes into initializers.
func (e *graphEdit) constantsToInitializers() error {
	var keep []*onnx.Node
	for _, n := range e.nodes {
		if n.OpType != "Constant" {
			keep = append(keep, n)
			continue
		}
		if len(n.Outputs) != 1 || len(n.Attrs) != 1 {
			return fmt.Errorf("convert: node %s: Constant needs one output and one value attribute", n)
		}
		a := n.Attrs[0]
		var t *onnx.Tensor
		switch {
		case a.Name == "value" && a.Type == onnx.AttrTensor && a.T != nil:
			c := *a.T
			t = &c
		case a.Name == "value_float" && a.Type == onnx.AttrFloat:
			t = onnx.NewFloat("", nil, []float32{a.F})
		case a.Name == "value_floats" && a.Type == onnx.AttrFloats:
			t = onnx.NewFloat("", []int64{int64(len(a.Floats))}, slices.Clone(a.Floats))
		case a.Name == "value_int" && a.Type == onnx.AttrInt:
			t = onnx.NewInt64("", nil, []int64{a.I})
		case a.Name == "value_ints" && a.Type == onnx.AttrInts:
			t = onnx.NewInt64("", []int64{int64(len(a.Ints))}, slices.Clone(a.Ints))
		default:
			return fmt.Errorf("convert: node %s: Constant attribute %q (%v) is not supported", n, a.Name, a.Type)
		}
		t.Name = n.Outputs[0]
		e.consts[t.Name] = t
	}
	e.nodes = keep
	return nil
}

// removeIdentities removes Identity, Dropout (inference: identity) and Pad
// by zero.
func (e *graphEdit) removeIdentities() error {
	for _, n := range slices.Clone(e.nodes) {
		switch n.OpType {
		case "Identity":
		case "Pad":
			// torch.onnx.export writes a Pad of zeros before an
			// AveragePool with ceil_mode (nn.AvgPool2d(2, ceil_mode=True)
			// of the fastai book's ResBlock): an identity.
			pads := n.AttrInts("pads", nil)
			if len(n.Inputs) > 1 {
				var ok bool
				if pads, ok = e.constInts(input(n, 1)); !ok {
					continue
				}
			}
			if slices.ContainsFunc(pads, func(p int64) bool { return p != 0 }) {
				continue // a real padding: checkOps refuses it
			}
		case "Dropout":
			for _, o := range n.Outputs[1:] {
				if o != "" && (len(e.consumers(o)) > 0 || e.output[o]) {
					return fmt.Errorf("convert: node %s: the Dropout mask is used", n)
				}
			}
		default:
			continue
		}
		if len(n.Outputs) == 0 || input(n, 0) == "" {
			return fmt.Errorf("convert: node %s has no input or output", n)
		}
		if e.consts[input(n, 0)] != nil {
			continue // a constant through Identity: left for checkOps to refuse
		}
		e.bypass(n, input(n, 0), n.Outputs[0])
		e.notes = append(e.notes, fmt.Sprintf("removed %s", n))
	}
	return nil
}

// constInts returns a constant integer tensor's values.
func (e *graphEdit) constInts(name string) ([]int64, bool) {
	t := e.consts[name]
	if t == nil {
		return nil, false
	}
	v, err := t.Int64s()
	return v, err == nil
}

// foldShapeFlatten turns the flattening idioms of torch.onnx.export into
// Flatten(axis=1).
func (e *graphEdit) foldShapeFlatten() error {
	for _, n := range slices.Clone(e.nodes) {
		if n.OpType != "Reshape" || len(n.Outputs) != 1 || n.AttrInt("allowzero", 0) != 0 {
			continue
		}
		x, shape := input(n, 0), input(n, 1)
		flat := false
		if v, ok := e.constInts(shape); ok {
			flat = slices.Equal(v, []int64{0, -1})
		} else {
			flat = e.isBatchFlattenShape(shape, x)
		}
		if !flat {
			continue
		}
		n.OpType = "Flatten"
		n.Inputs = []string{x}
		n.Attrs = []*onnx.Attribute{onnx.AttrI("axis", 1)}
		e.notes = append(e.notes, fmt.Sprintf("Reshape %q became Flatten(axis=1)", n.Outputs[0]))
	}
	return nil
}

// isBatchFlattenShape reports whether shape is Concat(axis 0) of
// Unsqueeze(Gather(Shape(x), 0), [0]) and the constant [−1].
func (e *graphEdit) isBatchFlattenShape(shape, x string) bool {
	cat := e.producer(shape)
	if cat == nil || cat.OpType != "Concat" || cat.AttrInt("axis", 0) != 0 || len(cat.Inputs) != 2 {
		return false
	}
	if v, ok := e.constInts(cat.Inputs[1]); !ok || !slices.Equal(v, []int64{-1}) {
		return false
	}
	uns := e.producer(cat.Inputs[0])
	if uns == nil || uns.OpType != "Unsqueeze" {
		return false
	}
	axes := uns.AttrInts("axes", nil)
	if len(uns.Inputs) > 1 {
		axes, _ = e.constInts(uns.Inputs[1])
	}
	if !slices.Equal(axes, []int64{0}) {
		return false
	}
	gat := e.producer(input(uns, 0))
	if gat == nil || gat.OpType != "Gather" || gat.AttrInt("axis", 0) != 0 {
		return false
	}
	if idx, ok := e.constInts(input(gat, 1)); !ok || len(idx) != 1 || idx[0] != 0 {
		return false
	}
	shp := e.producer(input(gat, 0))
	return shp != nil && shp.OpType == "Shape" && input(shp, 0) == x && shp.AttrInt("start", 0) == 0 && shp.Attr("end") == nil
}

// floats returns a constant float tensor's values.
func (e *graphEdit) floats(name string) ([]float32, *onnx.Tensor, bool) {
	t := e.consts[name]
	if t == nil || t.DataType != onnx.Float || t.Len() != int(t.NumElements()) {
		return nil, nil, false
	}
	return t.F32, t, true
}

// matmulToGemm turns MatMul(x, W) [+ b] with constant 2-D W into Gemm.
func (e *graphEdit) matmulToGemm() error {
	for _, n := range slices.Clone(e.nodes) {
		if n.OpType != "MatMul" || len(n.Outputs) != 1 {
			continue
		}
		w, wt, ok := e.floats(input(n, 1))
		if !ok || len(wt.Dims) != 2 || e.consts[input(n, 0)] != nil {
			continue
		}
		k, nOut := int(wt.Dims[0]), int(wt.Dims[1])
		tw := make([]float32, len(w)) // [nOut, k]
		for i := range k {
			for j := range nOut {
				tw[j*k+i] = w[i*nOut+j]
			}
		}
		wName := e.unique(input(n, 1) + "_transposed")
		e.consts[wName] = onnx.NewFloat(wName, []int64{int64(nOut), int64(k)}, tw)
		n.OpType = "Gemm"
		n.Inputs = []string{input(n, 0), wName}
		n.Attrs = []*onnx.Attribute{onnx.AttrI("transB", 1)}
		// A following Add of a constant vector becomes the bias.
		if add := e.soleReader(n.Outputs[0]); add != nil && add.OpType == "Add" && len(add.Outputs) == 1 {
			other := input(add, 1)
			if other == n.Outputs[0] {
				other = input(add, 0)
			}
			if b, bt, ok := e.floats(other); ok && len(b) == nOut && (len(bt.Dims) == 1 || len(bt.Dims) == 2 && bt.Dims[0] == 1) {
				bName := e.unique(other + "_bias")
				e.consts[bName] = onnx.NewFloat(bName, []int64{int64(nOut)}, slices.Clone(b))
				n.Inputs = append(n.Inputs, bName)
				e.bypass(add, n.Outputs[0], add.Outputs[0])
			}
		}
		e.notes = append(e.notes, fmt.Sprintf("MatMul %q became Gemm", n.Outputs[0]))
	}
	return nil
}

// canonicalGemm gives every Gemm alpha = beta = 1, transA = 0, transB = 1
// and a 1-D bias, folding alpha and beta into the constants.
func (e *graphEdit) canonicalGemm() error {
	for _, n := range e.nodes {
		if n.OpType != "Gemm" {
			continue
		}
		if n.AttrInt("transA", 0) != 0 {
			return fmt.Errorf("convert: node %s: Gemm with transA=1 is not supported", n)
		}
		w, wt, ok := e.floats(input(n, 1))
		if !ok || len(wt.Dims) != 2 {
			return fmt.Errorf("convert: node %s: Gemm needs a constant float 2-D weight (input B)", n)
		}
		alpha, beta := n.AttrFloat("alpha", 1), n.AttrFloat("beta", 1)
		nOut, k := int(wt.Dims[0]), int(wt.Dims[1])
		if n.AttrInt("transB", 0) == 0 {
			k, nOut = nOut, k
		}
		changed := alpha != 1 || n.AttrInt("transB", 0) == 0
		if changed {
			tw := make([]float32, len(w))
			for j := range nOut {
				for i := range k {
					v := w[j*k+i]
					if n.AttrInt("transB", 0) == 0 {
						v = w[i*nOut+j]
					}
					tw[j*k+i] = alpha * v
				}
			}
			name := e.unique(input(n, 1) + "_gemm")
			e.consts[name] = onnx.NewFloat(name, []int64{int64(nOut), int64(k)}, tw)
			n.Inputs[1] = name
		}
		if c := input(n, 2); c != "" {
			b, bt, ok := e.floats(c)
			if !ok || len(b) != nOut || !(len(bt.Dims) == 1 || len(bt.Dims) == 2 && bt.Dims[0] == 1) {
				return fmt.Errorf("convert: node %s: Gemm needs a constant bias of %d values (input C)", n, nOut)
			}
			if beta != 1 || len(bt.Dims) != 1 {
				nb := make([]float32, nOut)
				for j := range nb {
					nb[j] = beta * b[j]
				}
				name := e.unique(c + "_gemm")
				e.consts[name] = onnx.NewFloat(name, []int64{int64(nOut)}, nb)
				n.Inputs[2] = name
			}
		}
		n.Attrs = []*onnx.Attribute{onnx.AttrI("transB", 1)}
	}
	return nil
}

// bnParams returns BatchNormalization's per-channel multiplier s = γ/√(σ²+ε)
// and shift t = β − μ·s, computed in float64.
func (e *graphEdit) bnParams(n *onnx.Node) (s, t []float64, err error) {
	if len(n.Inputs) != 5 {
		return nil, nil, fmt.Errorf("convert: node %s: BatchNormalization needs 5 inputs", n)
	}
	if n.AttrInt("training_mode", 0) != 0 {
		return nil, nil, fmt.Errorf("convert: node %s: BatchNormalization in training mode", n)
	}
	for _, o := range n.Outputs[1:] {
		if o != "" && (len(e.consumers(o)) > 0 || e.output[o]) {
			return nil, nil, fmt.Errorf("convert: node %s: BatchNormalization's running statistics outputs are used", n)
		}
	}
	var p [4][]float32
	for i := range p {
		v, _, ok := e.floats(input(n, i+1))
		if !ok {
			return nil, nil, fmt.Errorf("convert: node %s: BatchNormalization input %d is not a constant float tensor", n, i+1)
		}
		p[i] = v
	}
	c := len(p[0])
	for i := range p {
		if len(p[i]) != c {
			return nil, nil, fmt.Errorf("convert: node %s: BatchNormalization parameters of different lengths", n)
		}
	}
	eps := float64(n.AttrFloat("epsilon", 1e-5))
	s, t = make([]float64, c), make([]float64, c)
	for i := range c {
		v := float64(p[3][i]) + eps
		if !(v > 0) {
			return nil, nil, fmt.Errorf("convert: node %s: BatchNormalization variance %g + epsilon is not positive", n, p[3][i])
		}
		s[i] = float64(p[0][i]) / math.Sqrt(v)
		t[i] = float64(p[1][i]) - float64(float64(p[2][i])*s[i])
		if math.IsNaN(s[i]) || math.IsInf(s[i], 0) || math.IsNaN(t[i]) || math.IsInf(t[i], 0) {
			return nil, nil, fmt.Errorf("convert: node %s: BatchNormalization channel %d is not finite", n, i)
		}
	}
	return s, t, nil
}

// foldBatchNorms removes every BatchNormalization node (see Prepare).
func (e *graphEdit) foldBatchNorms() error {
	for _, n := range slices.Clone(e.nodes) {
		if n.OpType != "BatchNormalization" {
			continue
		}
		s, t, err := e.bnParams(n)
		if err != nil {
			return err
		}
		x, y := input(n, 0), n.Outputs[0]
		if p := e.producer(x); p != nil && e.soleReader(x) == n && len(p.Outputs) == 1 {
			if ok, err := e.foldIntoProducer(p, s, t); err != nil {
				return err
			} else if ok {
				e.bypass(n, x, y)
				e.notes = append(e.notes, fmt.Sprintf("folded BatchNormalization %q into %s", y, p))
				continue
			}
		}
		if r := e.soleReader(y); r != nil && r.OpType == "Gemm" && input(r, 0) == y {
			if err := e.foldIntoGemmInput(r, s, t); err != nil {
				return err
			}
			e.bypass(n, x, y)
			e.notes = append(e.notes, fmt.Sprintf("folded BatchNormalization %q into the following %s", y, r))
			continue
		}
		if err := e.batchNormToAffine(n, s, t); err != nil {
			return err
		}
	}
	return nil
}

// foldIntoProducer folds y = s·x + t into the Conv or Gemm making x.
func (e *graphEdit) foldIntoProducer(p *onnx.Node, s, t []float64) (bool, error) {
	if p.OpType != "Conv" && p.OpType != "Gemm" {
		return false, nil
	}
	w, wt, ok := e.floats(input(p, 1))
	if !ok || len(wt.Dims) < 2 || int(wt.Dims[0]) != len(s) {
		return false, nil
	}
	oc := len(s)
	per := len(w) / oc
	nw := make([]float32, len(w))
	for c := range oc {
		for i := range per {
			nw[c*per+i] = float32(float64(w[c*per+i]) * s[c])
		}
	}
	nb := make([]float32, oc)
	var old []float32
	if b := input(p, 2); b != "" {
		v, _, ok := e.floats(b)
		if !ok || len(v) != oc {
			return false, nil
		}
		old = v
	}
	for c := range oc {
		var b float64
		if old != nil {
			b = float64(old[c])
		}
		nb[c] = float32(float64(b*s[c]) + t[c])
	}
	wName := e.unique(input(p, 1) + "_bn")
	e.consts[wName] = onnx.NewFloat(wName, slices.Clone(wt.Dims), nw)
	bName := e.unique(p.Outputs[0] + "_bias_bn")
	e.consts[bName] = onnx.NewFloat(bName, []int64{int64(oc)}, nb)
	p.Inputs = []string{input(p, 0), wName, bName}
	return true, nil
}

// foldIntoGemmInput folds x' = s·x + t into the Gemm reading x':
// W·(s·x + t) + b = (W·diag(s))·x + (W·t + b).
func (e *graphEdit) foldIntoGemmInput(g *onnx.Node, s, t []float64) error {
	w, wt, ok := e.floats(input(g, 1))
	if !ok || len(wt.Dims) != 2 || int(wt.Dims[1]) != len(s) {
		return fmt.Errorf("convert: node %s: Gemm weight does not fit the BatchNormalization before it", g)
	}
	nOut, k := int(wt.Dims[0]), int(wt.Dims[1])
	var old []float32
	if b := input(g, 2); b != "" {
		old, _, _ = e.floats(b)
	}
	nw := make([]float32, len(w))
	nb := make([]float32, nOut)
	for j := range nOut {
		var acc float64
		if old != nil {
			acc = float64(old[j])
		}
		for i := range k {
			v := float64(w[j*k+i])
			nw[j*k+i] = float32(v * s[i])
			acc += float64(v * t[i])
		}
		nb[j] = float32(acc)
	}
	wName := e.unique(input(g, 1) + "_bn")
	e.consts[wName] = onnx.NewFloat(wName, slices.Clone(wt.Dims), nw)
	bName := e.unique(g.Outputs[0] + "_bias_bn")
	e.consts[bName] = onnx.NewFloat(bName, []int64{int64(nOut)}, nb)
	g.Inputs = []string{input(g, 0), wName, bName}
	return nil
}

// batchNormToAffine replaces a BatchNormalization that cannot be folded by
// a 1×1 depthwise Conv (4-D input) or a diagonal Gemm (2-D input).
func (e *graphEdit) batchNormToAffine(n *onnx.Node, s, t []float64) error {
	c := len(s)
	rank := e.rankOf(input(n, 0))
	bName := e.unique(n.Outputs[0] + "_bias")
	b := make([]float32, c)
	for i := range c {
		b[i] = float32(t[i])
	}
	e.consts[bName] = onnx.NewFloat(bName, []int64{int64(c)}, b)
	wName := e.unique(n.Outputs[0] + "_weight")
	switch rank {
	case 4:
		w := make([]float32, c)
		for i := range c {
			w[i] = float32(s[i])
		}
		e.consts[wName] = onnx.NewFloat(wName, []int64{int64(c), 1, 1, 1}, w)
		n.OpType = "Conv"
		n.Attrs = []*onnx.Attribute{onnx.AttrI("group", int64(c)), onnx.AttrIs("kernel_shape", 1, 1)}
	case 2:
		if c > 8192 {
			return fmt.Errorf("convert: node %s: BatchNormalization of %d channels after a flatten is too wide to become a diagonal Gemm", n, c)
		}
		w := make([]float32, c*c)
		for i := range c {
			w[i*c+i] = float32(s[i])
		}
		e.consts[wName] = onnx.NewFloat(wName, []int64{int64(c), int64(c)}, w)
		n.OpType = "Gemm"
		n.Attrs = []*onnx.Attribute{onnx.AttrI("transB", 1)}
	default:
		return fmt.Errorf("convert: node %s: BatchNormalization on a tensor of unknown rank cannot be folded", n)
	}
	n.Inputs = []string{input(n, 0), wName, bName}
	n.Outputs = n.Outputs[:1]
	e.notes = append(e.notes, fmt.Sprintf("BatchNormalization %q became a per-channel %s", n.Outputs[0], n.OpType))
	return nil
}

// rankOf infers the rank of a value from the graph input (4-D) through the
// operators of a ResNet; 0 when unknown.
func (e *graphEdit) rankOf(name string) int {
	for depth := 0; depth < 10000; depth++ {
		if name == e.input {
			return 4
		}
		p := e.producer(name)
		if p == nil {
			return 0
		}
		switch p.OpType {
		case "Flatten", "Gemm", "MatMul":
			return 2
		case "Reshape":
			if v, ok := e.constInts(input(p, 1)); ok {
				return len(v)
			}
			return 0
		}
		name = input(p, 0)
	}
	return 0
}

// removeDead drops nodes whose outputs no node and no graph output reads.
func (e *graphEdit) removeDead() error {
	for {
		read := map[string]bool{}
		for o := range e.output {
			read[o] = true
		}
		for _, n := range e.nodes {
			for _, in := range n.Inputs {
				read[in] = true
			}
		}
		before := len(e.nodes)
		e.nodes = slices.DeleteFunc(e.nodes, func(n *onnx.Node) bool {
			for _, o := range n.Outputs {
				if o != "" && read[o] {
					return false
				}
			}
			return true
		})
		if len(e.nodes) == before {
			return nil
		}
	}
}

// checkOps refuses operators the quantizer does not handle and checks the
// constant inputs of the supported ones.
func (e *graphEdit) checkOps() error {
	for _, n := range e.nodes {
		if !slices.Contains(supportedOps, n.OpType) {
			return fmt.Errorf("convert: node %s: operator %s cannot be quantized (supported: %s)", n, n.OpType, strings.Join(supportedOps, ", "))
		}
		if len(n.Outputs) != 1 {
			if !(n.OpType == "MaxPool" && len(n.Outputs) == 2 && n.Outputs[1] == "") {
				return fmt.Errorf("convert: node %s: %s with %d outputs is not supported", n, n.OpType, len(n.Outputs))
			}
			n.Outputs = n.Outputs[:1]
		}
		act := []int{0} // inputs that are activations
		switch n.OpType {
		case "Conv":
			if _, wt, ok := e.floats(input(n, 1)); !ok || len(wt.Dims) != 4 {
				return fmt.Errorf("convert: node %s: Conv needs a constant float 4-D weight", n)
			}
			if b := input(n, 2); b != "" {
				if _, _, ok := e.floats(b); !ok {
					return fmt.Errorf("convert: node %s: Conv bias is not a constant float tensor", n)
				}
			}
		case "Add", "Concat":
			act = nil
			for i := range n.Inputs {
				act = append(act, i)
			}
		case "Clip":
			if e.opset() < 11 {
				break
			}
			for _, i := range []int{1, 2} {
				if b := input(n, i); b != "" {
					if v, _, ok := e.floats(b); !ok || len(v) != 1 {
						return fmt.Errorf("convert: node %s: Clip bounds must be constant scalars", n)
					}
				}
			}
		case "Reshape":
			if _, ok := e.constInts(input(n, 1)); !ok {
				return fmt.Errorf("convert: node %s: Reshape needs a constant shape", n)
			}
		}
		for _, i := range act {
			if in := input(n, i); in == "" || e.consts[in] != nil {
				return fmt.Errorf("convert: node %s: input %d is a constant; only weights and biases may be", n, i)
			}
		}
	}
	return nil
}
