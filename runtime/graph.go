package runtime

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// graph is the analysis of an ONNX graph that lowering works from: nodes
// in execution order, who produces and who consumes each tensor, and the
// constants (initializers and folded Constant nodes).
type graph struct {
	m         *onnx.Model
	nodes     []*onnx.Node
	producer  map[string]*onnx.Node
	consumers map[string][]*onnx.Node
	consts    map[string]*onnx.Tensor
	outputs   map[string]bool
	inputs    map[string]*onnx.ValueInfo // real (non-initializer) graph inputs
	opsets    map[string]int64
}

func newGraph(m *onnx.Model) (*graph, error) {
	if m == nil || m.Graph == nil {
		return nil, fmt.Errorf("model has no graph")
	}
	order, err := m.Graph.SortNodes()
	if err != nil {
		return nil, err
	}
	g := &graph{m: m, nodes: order, producer: map[string]*onnx.Node{}, consumers: map[string][]*onnx.Node{},
		consts: map[string]*onnx.Tensor{}, outputs: map[string]bool{}, inputs: map[string]*onnx.ValueInfo{},
		opsets: map[string]int64{}}
	for _, o := range m.OpsetImports {
		d := o.Domain
		if d == "ai.onnx" {
			d = ""
		}
		g.opsets[d] = o.Version
	}
	if _, ok := g.opsets[""]; !ok {
		g.opsets[""] = 1
	}
	for _, t := range m.Graph.Initializers {
		g.consts[t.Name] = t
	}
	for _, vi := range m.Graph.RealInputs() {
		g.inputs[vi.Name] = vi
	}
	for _, vi := range m.Graph.Outputs {
		g.outputs[vi.Name] = true
	}
	for _, n := range order {
		for _, o := range n.Outputs {
			if o != "" {
				g.producer[o] = n
			}
		}
		seen := map[string]bool{}
		for _, in := range n.Inputs {
			if in != "" && !seen[in] {
				seen[in] = true
				g.consumers[in] = append(g.consumers[in], n)
			}
		}
	}
	return g, nil
}

// opset is the imported version of a node's domain.
func (g *graph) opset(n *onnx.Node) int64 {
	d := n.Domain
	if d == "ai.onnx" {
		d = ""
	}
	return g.opsets[d]
}

// isOp reports whether n is the ONNX (or com.microsoft) operator opType.
func isOp(n *onnx.Node, opType string) bool {
	if n == nil || n.OpType != opType {
		return false
	}
	switch n.Domain {
	case "", "ai.onnx", "com.microsoft":
		return true
	}
	return false
}

// input returns input i of n, or "" when absent.
func input(n *onnx.Node, i int) string {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return ""
}

// constOf returns the constant tensor named name, or nil.
func (g *graph) constOf(name string) *onnx.Tensor {
	if name == "" {
		return nil
	}
	return g.consts[name]
}

// soleConsumer returns the only node reading name when name is not also a
// graph output, else nil.
func (g *graph) soleConsumer(name string) *onnx.Node {
	if g.outputs[name] {
		return nil
	}
	c := g.consumers[name]
	if len(c) != 1 {
		return nil
	}
	return c[0]
}

// qparams is a per-tensor quantization (scale, zero point in the file's
// type) of an 8-bit tensor.
type qparams struct {
	scale float32
	zero  int32         // in the file's type (int8 or uint8)
	elem  onnx.DataType // onnx.Uint8 or onnx.Int8
}

// u8Zero is the zero point in the uint8 domain the engine computes in
// (int8 tensors are held shifted by 128).
func (q qparams) u8Zero() int32 {
	if q.elem == onnx.Int8 {
		return q.zero + 128
	}
	return q.zero
}

func (q qparams) equal(o qparams) bool {
	return q.scale == o.scale && q.u8Zero() == o.u8Zero()
}

// scalarParams reads a per-tensor scale and optional zero point. defElem is
// the type when the zero point is absent.
func scalarParams(scale, zero *onnx.Tensor, defElem onnx.DataType) (qparams, bool) {
	if scale == nil || scale.DataType != onnx.Float || len(scale.F32) != 1 || len(scale.Dims) > 1 {
		return qparams{}, false
	}
	q := qparams{scale: scale.F32[0], elem: defElem}
	if !(q.scale > 0) || q.scale > 1e30 {
		return qparams{}, false
	}
	if zero != nil {
		if zero.Len() != 1 || len(zero.Dims) > 1 {
			return qparams{}, false
		}
		switch zero.DataType {
		case onnx.Uint8:
			q.zero, q.elem = int32(zero.U8[0]), onnx.Uint8
		case onnx.Int8:
			q.zero, q.elem = int32(zero.I8[0]), onnx.Int8
		default:
			return qparams{}, false
		}
	}
	if q.elem != onnx.Uint8 && q.elem != onnx.Int8 {
		return qparams{}, false
	}
	return q, true
}

// dqParams returns the tensor a DequantizeLinear node reads and its
// per-tensor parameters, when n is such a node with constant parameters.
func (g *graph) dqParams(n *onnx.Node) (x string, q qparams, ok bool) {
	if !isOp(n, "DequantizeLinear") || n.AttrInt("block_size", 0) != 0 {
		return "", q, false
	}
	zt := g.constOf(input(n, 2))
	if input(n, 2) != "" && zt == nil {
		return "", q, false
	}
	def := onnx.Uint8
	if zt == nil {
		def = g.elemOf(input(n, 0))
	}
	q, ok = scalarParams(g.constOf(input(n, 1)), zt, def)
	return input(n, 0), q, ok
}

// qParams returns the per-tensor parameters of a QuantizeLinear node with
// constant parameters.
func (g *graph) qParams(n *onnx.Node) (q qparams, ok bool) {
	if !isOp(n, "QuantizeLinear") || n.AttrInt("block_size", 0) != 0 {
		return q, false
	}
	zt := g.constOf(input(n, 2))
	if input(n, 2) != "" && zt == nil {
		return q, false
	}
	def := onnx.Uint8
	if dt := onnx.DataType(n.AttrInt("output_dtype", 0)); dt != 0 {
		def = dt
	}
	return scalarParams(g.constOf(input(n, 1)), zt, def)
}

// elemOf is the element type of a tensor when the graph says it (graph
// input, value_info, initializer, or the zero point of its producer),
// else onnx.Uint8 (ONNX's default for 8-bit quantized tensors).
func (g *graph) elemOf(name string) onnx.DataType {
	if t := g.consts[name]; t != nil {
		return t.DataType
	}
	if vi := g.inputs[name]; vi != nil && vi.Type != nil && vi.Type.IsTensor {
		return vi.Type.Elem
	}
	if p := g.producer[name]; p != nil && isOp(p, "QuantizeLinear") {
		if q, ok := g.qParams(p); ok {
			return q.elem
		}
	}
	for _, vi := range g.m.Graph.ValueInfo {
		if vi.Name == name && vi.Type != nil && vi.Type.IsTensor {
			return vi.Type.Elem
		}
	}
	return onnx.Uint8
}

// activationDQ returns the quantized tensor behind a float tensor that a
// DequantizeLinear node with per-tensor constant parameters produces from
// a non-constant 8-bit tensor, with the node.
func (g *graph) activationDQ(name string) (x string, q qparams, dq *onnx.Node, ok bool) {
	p := g.producer[name]
	if p == nil {
		return "", q, nil, false
	}
	x, q, ok = g.dqParams(p)
	if !ok || g.consts[x] != nil || x == "" {
		return "", q, nil, false
	}
	return x, q, p, true
}
