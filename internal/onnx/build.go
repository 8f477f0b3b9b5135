package onnx

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/fileutil"
)

// WriteFile encodes the model and writes it atomically: a failed write leaves
// no file behind and an earlier file intact.
func WriteFile(path string, m *Model) error {
	b, err := Encode(m)
	if err != nil {
		return err
	}
	if err := fileutil.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	return nil
}

// WriteTensorFile encodes a TensorProto and writes it atomically.
func WriteTensorFile(path string, t *Tensor) error {
	b, err := EncodeTensor(t)
	if err != nil {
		return err
	}
	if err := fileutil.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	return nil
}

// NewFloat returns a float32 tensor. data is used, not copied.
func NewFloat(name string, dims []int64, data []float32) *Tensor {
	return &Tensor{Name: name, DataType: Float, Dims: dims, F32: data}
}

// NewInt64 returns an int64 tensor. data is used, not copied.
func NewInt64(name string, dims []int64, data []int64) *Tensor {
	return &Tensor{Name: name, DataType: Int64, Dims: dims, I64: data}
}

// NewInt32 returns an int32 tensor. data is used, not copied.
func NewInt32(name string, dims []int64, data []int32) *Tensor {
	return &Tensor{Name: name, DataType: Int32, Dims: dims, I32: data}
}

// NewInt8 returns an int8 tensor. data is used, not copied.
func NewInt8(name string, dims []int64, data []int8) *Tensor {
	return &Tensor{Name: name, DataType: Int8, Dims: dims, I8: data}
}

// NewUint8 returns a uint8 tensor. data is used, not copied.
func NewUint8(name string, dims []int64, data []uint8) *Tensor {
	return &Tensor{Name: name, DataType: Uint8, Dims: dims, U8: data}
}

// Scalar dims for 0-d tensors.
var Scalar = []int64{}

// AttrI builds an int attribute.
func AttrI(name string, v int64) *Attribute { return &Attribute{Name: name, Type: AttrInt, I: v} }

// AttrF builds a float attribute.
func AttrF(name string, v float32) *Attribute {
	return &Attribute{Name: name, Type: AttrFloat, F: v}
}

// AttrS builds a string attribute.
func AttrS(name, v string) *Attribute {
	return &Attribute{Name: name, Type: AttrString, S: []byte(v)}
}

// AttrIs builds an ints attribute.
func AttrIs(name string, v ...int64) *Attribute {
	return &Attribute{Name: name, Type: AttrInts, Ints: v}
}

// AttrT builds a tensor attribute.
func AttrT(name string, t *Tensor) *Attribute {
	return &Attribute{Name: name, Type: AttrTensor, T: t}
}

// TensorInfo builds a ValueInfo for a tensor. Each dim is an int (fixed
// size), a string (symbolic name) or nil (unknown).
func TensorInfo(name string, elem DataType, dims ...any) *ValueInfo {
	t := &Type{IsTensor: true, Elem: elem, HasShape: true, Shape: []Dim{}}
	for _, d := range dims {
		switch v := d.(type) {
		case int:
			t.Shape = append(t.Shape, Dim{Value: int64(v), HasValue: true})
		case int64:
			t.Shape = append(t.Shape, Dim{Value: v, HasValue: true})
		case string:
			t.Shape = append(t.Shape, Dim{Param: v})
		case nil:
			t.Shape = append(t.Shape, Dim{})
		default:
			panic(fmt.Sprintf("onnx.TensorInfo: dim of type %T", d))
		}
	}
	return &ValueInfo{Name: name, Type: t}
}

// Initializer returns the graph initializer with that name, or nil.
func (g *Graph) Initializer(name string) *Tensor {
	for _, t := range g.Initializers {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// RealInputs are the graph inputs that are not also initializers (IR < 4
// files list initializers among the inputs).
func (g *Graph) RealInputs() []*ValueInfo {
	inits := make(map[string]bool, len(g.Initializers))
	for _, t := range g.Initializers {
		inits[t.Name] = true
	}
	var out []*ValueInfo
	for _, vi := range g.Inputs {
		if !inits[vi.Name] {
			out = append(out, vi)
		}
	}
	return out
}

// SortNodes returns the nodes in an order where every node comes after the
// producers of its inputs, checking that every input is defined (a graph
// input, an initializer or a node output), that no value is produced twice
// and that the graph has no cycle. Nodes already in order stay in order.
func (g *Graph) SortNodes() ([]*Node, error) {
	defined := map[string]bool{"": true}
	for _, vi := range g.Inputs {
		defined[vi.Name] = true
	}
	for _, t := range g.Initializers {
		defined[t.Name] = true
	}
	producer := map[string]int{}
	for i, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o == "" {
				continue
			}
			if defined[o] {
				return nil, fmt.Errorf("node %s: output %q is also a graph input or initializer", n, o)
			}
			if j, dup := producer[o]; dup {
				return nil, fmt.Errorf("value %q is produced by two nodes: %s and %s", o, g.Nodes[j], n)
			}
			producer[o] = i
		}
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if _, ok := producer[in]; !ok && !defined[in] {
				return nil, fmt.Errorf("node %s: input %q is not produced by any node, input or initializer", n, in)
			}
		}
	}
	for _, vi := range g.Outputs {
		if _, ok := producer[vi.Name]; !ok && !defined[vi.Name] {
			return nil, fmt.Errorf("graph output %q is not produced by any node", vi.Name)
		}
	}
	// Kahn's algorithm, taking the lowest-index ready node first.
	pending := make([]int, len(g.Nodes))
	users := make([][]int, len(g.Nodes))
	for i, n := range g.Nodes {
		seen := map[int]bool{}
		for _, in := range n.Inputs {
			if j, ok := producer[in]; ok && !seen[j] {
				seen[j] = true
				pending[i]++
				users[j] = append(users[j], i)
			}
		}
	}
	order := make([]*Node, 0, len(g.Nodes))
	ready := &minHeap{}
	for i, p := range pending {
		if p == 0 {
			ready.push(i)
		}
	}
	for ready.len() > 0 {
		i := ready.pop()
		order = append(order, g.Nodes[i])
		for _, u := range users[i] {
			pending[u]--
			if pending[u] == 0 {
				ready.push(u)
			}
		}
	}
	if len(order) != len(g.Nodes) {
		for i, p := range pending {
			if p > 0 {
				return nil, fmt.Errorf("graph has a cycle through node %s", g.Nodes[i])
			}
		}
	}
	return order, nil
}

type minHeap struct{ a []int }

func (h *minHeap) len() int { return len(h.a) }

func (h *minHeap) push(v int) {
	h.a = append(h.a, v)
	i := len(h.a) - 1
	for i > 0 {
		p := (i - 1) / 2
		if h.a[p] <= h.a[i] {
			break
		}
		h.a[p], h.a[i] = h.a[i], h.a[p]
		i = p
	}
}

func (h *minHeap) pop() int {
	top := h.a[0]
	last := len(h.a) - 1
	h.a[0] = h.a[last]
	h.a = h.a[:last]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h.a) && h.a[l] < h.a[m] {
			m = l
		}
		if r < len(h.a) && h.a[r] < h.a[m] {
			m = r
		}
		if m == i {
			return top
		}
		h.a[i], h.a[m] = h.a[m], h.a[i]
		i = m
	}
}
