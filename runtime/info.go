package runtime

import (
	"fmt"
	"slices"
	"sort"

	"github.com/piresnet/piresnet/internal/onnx"
)

// Info describes a model at one input size: what `edge info` prints.
type Info struct {
	Name     string
	Float    bool // runs on the float reference (no quantized nodes)
	Inputs   []TensorInfo
	Outputs  []TensorInfo
	Metadata []onnx.StringPair
	// OpCounts counts the nodes of the ONNX graph by operator.
	OpCounts map[string]int
	// Layers are the engine's ops in execution order.
	Layers []LayerInfo
	// Lowered and Fallback name the ONNX nodes run by integer kernels and
	// by the float reference.
	Lowered, Fallback []string
	Parameters        int64 // elements of the initializers
	MACs              int64 // multiply-accumulates of convolutions and fully connected layers at this size
	WeightsBytes      int64 // packed weights and constants held by the compiled model
	ArenaBytes        int64 // activations at this size (one arena per plan)
	TableBytes        int64 // indirection buffers and gather tables of the plan
	Kernels           []string
	Threads           int
}

// TensorInfo is a graph input or output: its name, type and dims (at the
// size Info was asked for; symbolic dims as the file names them).
type TensorInfo struct {
	Name string
	Type onnx.DataType
	Dims []string
}

// LayerInfo is one op of the engine.
type LayerInfo struct {
	Kind    string   // conv, fc, add, maxpool, …, fallback
	Nodes   []string // ONNX node names (or op type and output)
	Kernel  string
	Lowered bool
}

func valueInfos(vis []*onnx.ValueInfo, dims map[string][]int64) []TensorInfo {
	var out []TensorInfo
	for _, vi := range vis {
		ti := TensorInfo{Name: vi.Name}
		if vi.Type != nil {
			ti.Type = vi.Type.Elem
			for _, d := range vi.Type.Shape {
				ti.Dims = append(ti.Dims, d.String())
			}
		}
		if d, ok := dims[vi.Name]; ok {
			ti.Dims = ti.Dims[:0]
			for _, v := range d {
				ti.Dims = append(ti.Dims, fmt.Sprint(v))
			}
		}
		out = append(out, ti)
	}
	return out
}

func nodeName(n *onnx.Node) string {
	if n.Name != "" {
		return n.Name
	}
	return n.String()
}

// Info plans the model for a batch of one h×w image (the first input's
// declared channels) and describes it. h = w = 0 describes the model
// without sizes (no MACs, no arena).
func (m *Model) Info(h, w int) (*Info, error) {
	g := m.src.Graph
	info := &Info{Name: m.name, Float: m.float != nil, Metadata: m.src.MetadataProps, OpCounts: map[string]int{},
		Parameters: m.params, Threads: m.opt.Threads}
	for _, n := range g.Nodes {
		info.OpCounts[qualifiedOp(n)]++
	}
	dims := map[string][]int64{}
	real := g.RealInputs()
	if h > 0 && w > 0 {
		if len(real) != 1 {
			return nil, fmt.Errorf("runtime: Info at a size needs a model with one input (this one has %d)", len(real))
		}
		vi := real[0]
		ch := int64(3)
		if vi.Type != nil && vi.Type.HasShape && len(vi.Type.Shape) == 4 && vi.Type.Shape[1].HasValue {
			ch = vi.Type.Shape[1].Value
		}
		in := []int64{1, ch, int64(h), int64(w)}
		dims[vi.Name] = in
		elem := onnx.Float
		if vi.Type != nil && vi.Type.Elem != onnx.Undefined {
			elem = vi.Type.Elem
		}
		if m.float != nil {
			if err := m.floatInfo(info, in, elem, dims); err != nil {
				return nil, err
			}
		} else {
			p, err := newPlan(m, [][]int64{in}, []onnx.DataType{elem}, m.opt.Threads)
			if err != nil {
				return nil, fmt.Errorf("runtime: %v", err)
			}
			info.MACs = p.macs
			info.ArenaBytes = int64(p.arenaBytes)
			info.TableBytes = int64(p.indirection)
			for _, id := range m.prog.outputs {
				dims[m.prog.values[id].name] = p.dims[id]
			}
		}
	}
	info.Inputs = valueInfos(real, dims)
	info.Outputs = valueInfos(g.Outputs, dims)
	if m.float != nil {
		for _, n := range g.Nodes {
			info.Fallback = append(info.Fallback, nodeName(n))
		}
		for _, t := range g.Initializers {
			info.WeightsBytes += int64(t.Len() * max(1, t.DataType.Size()))
		}
		info.Kernels = []string{"ref (float32 reference)"}
		return info, nil
	}
	kernels := map[string]bool{}
	for _, o := range m.prog.ops {
		b := o.base()
		li := LayerInfo{Kind: b.kind, Kernel: b.kernel, Lowered: b.lowered}
		for _, n := range b.nodes {
			li.Nodes = append(li.Nodes, nodeName(n))
			if b.lowered {
				info.Lowered = append(info.Lowered, nodeName(n))
			} else if b.kind == "fallback" {
				info.Fallback = append(info.Fallback, nodeName(n))
			}
		}
		info.Layers = append(info.Layers, li)
		info.WeightsBytes += int64(b.weights)
		if b.kernel != "" {
			kernels[b.kernel] = true
		}
	}
	for _, v := range m.prog.values {
		if v.kind == kindConst {
			info.WeightsBytes += int64(v.konst.Len() * max(1, v.konst.DataType.Size()))
		}
	}
	for k := range kernels {
		info.Kernels = append(info.Kernels, k)
	}
	sort.Strings(info.Kernels)
	return info, nil
}

// floatInfo runs the float model's shape inference for Info: the MACs of
// its Conv, Gemm and MatMul nodes at this size. It plans the graph as the
// int8 engine would (every node a fallback), which evaluates the nodes once
// on zeros.
func (m *Model) floatInfo(info *Info, in []int64, elem onnx.DataType, dims map[string][]int64) error {
	g, err := newGraph(m.src)
	if err != nil {
		return err
	}
	c := &compiler{g: g, used: map[*onnx.Node]bool{}, quant: map[string]bool{}, elem: map[string]onnx.DataType{},
		at: map[*onnx.Node]*pending{}, fold: map[*onnx.Node]bool{}}
	for _, n := range g.nodes {
		if len(n.Inputs) == 0 && isOp(n, "Constant") {
			if err := c.foldNode(n); err != nil {
				return err
			}
			continue
		}
		c.at[n] = &pending{op: newFallbackOp(n, g.opset(n)), inNames: n.Inputs, outName: n.Outputs}
	}
	pr, err := c.emit()
	if err != nil {
		return err
	}
	shadow := &Model{name: m.name, opt: m.opt, src: m.src, prog: pr}
	p, err := newPlan(shadow, [][]int64{in}, []onnx.DataType{elem}, 1)
	if err != nil {
		return fmt.Errorf("runtime: %v", err)
	}
	for _, o := range pr.ops {
		n := o.base().nodes[0]
		b := o.base()
		switch n.OpType {
		case "Conv":
			if len(b.in) > 1 && b.in[1] >= 0 {
				w, y := p.dims[b.in[1]], p.dims[b.out[0]]
				info.MACs += int64(numElements(y)) * int64(numElements(w[1:]))
			}
		case "Gemm", "MatMul":
			if len(b.in) > 1 && b.in[0] >= 0 {
				a, y := p.dims[b.in[0]], p.dims[b.out[0]]
				if len(a) > 0 {
					info.MACs += int64(numElements(y)) * a[len(a)-1]
				}
			}
		}
	}
	for _, id := range pr.outputs {
		dims[pr.values[id].name] = slices.Clone(p.dims[id])
	}
	return nil
}
