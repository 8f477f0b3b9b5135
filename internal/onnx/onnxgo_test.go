package onnx_test

import (
	"math"
	"sort"
	"testing"

	onnxgo "github.com/owulveryck/onnx-go"
	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/simple"
	"gorgonia.org/tensor"

	"github.com/piresnet/piresnet/internal/onnx"
)

// This file reads the files the codec writes with an independent decoder,
// github.com/owulveryck/onnx-go v0.5.0 (gogo/protobuf generated code). It
// cannot read int8 or uint8 tensors, so float32 and int64 data are compared.

// carrierGraph is a minimal onnx-go backend that keeps node names, tensors
// and the operations applied.
type carrierGraph struct {
	g   *simple.WeightedDirectedGraph
	ops []string
}

type carrierNode struct {
	id   int64
	name string
	t    tensor.Tensor
}

func (n *carrierNode) ID() int64                       { return n.id }
func (n *carrierNode) SetName(s string)                { n.name = s }
func (n *carrierNode) GetName() string                 { return n.name }
func (n *carrierNode) SetTensor(t tensor.Tensor) error { n.t = t; return nil }
func (n *carrierNode) GetTensor() tensor.Tensor        { return n.t }

func (c *carrierGraph) NewNode() graph.Node       { return &carrierNode{id: c.g.NewNode().ID()} }
func (c *carrierGraph) AddNode(n graph.Node)      { c.g.AddNode(n) }
func (c *carrierGraph) Node(id int64) graph.Node  { return c.g.Node(id) }
func (c *carrierGraph) Nodes() graph.Nodes        { return c.g.Nodes() }
func (c *carrierGraph) From(id int64) graph.Nodes { return c.g.From(id) }
func (c *carrierGraph) HasEdgeBetween(x, y int64) bool {
	return c.g.HasEdgeBetween(x, y)
}
func (c *carrierGraph) Edge(u, v int64) graph.Edge           { return c.g.Edge(u, v) }
func (c *carrierGraph) HasEdgeFromTo(u, v int64) bool        { return c.g.HasEdgeFromTo(u, v) }
func (c *carrierGraph) To(id int64) graph.Nodes              { return c.g.To(id) }
func (c *carrierGraph) SetWeightedEdge(e graph.WeightedEdge) { c.g.SetWeightedEdge(e) }
func (c *carrierGraph) NewWeightedEdge(from, to graph.Node, w float64) graph.WeightedEdge {
	return c.g.NewWeightedEdge(from, to, w)
}
func (c *carrierGraph) WeightedEdge(u, v int64) graph.WeightedEdge { return c.g.WeightedEdge(u, v) }
func (c *carrierGraph) Weight(x, y int64) (float64, bool)          { return c.g.Weight(x, y) }
func (c *carrierGraph) ApplyOperation(op onnxgo.Operation, _ ...graph.Node) error {
	c.ops = append(c.ops, op.Name)
	return nil
}

func floatModel() *onnx.Model {
	w := make([]float32, 8*3*3*3)
	for i := range w {
		w[i] = float32(math.Sin(float64(i)))
	}
	fc := make([]float32, 10*8)
	for i := range fc {
		fc[i] = float32(i)/7 - 5
	}
	return &onnx.Model{
		IRVersion:    8,
		OpsetImports: []onnx.OpsetID{{Version: 13}},
		Graph: &onnx.Graph{
			Name:    "float",
			Inputs:  []*onnx.ValueInfo{onnx.TensorInfo("x", onnx.Float, 1, 3, 8, 8)},
			Outputs: []*onnx.ValueInfo{onnx.TensorInfo("y", onnx.Float, 1, 10)},
			Initializers: []*onnx.Tensor{
				onnx.NewFloat("conv.weight", []int64{8, 3, 3, 3}, w),
				onnx.NewFloat("fc.weight", []int64{10, 8}, fc),
				onnx.NewInt64("shape", []int64{2}, []int64{1, -1}),
			},
			Nodes: []*onnx.Node{
				{Name: "conv", OpType: "Conv", Inputs: []string{"x", "conv.weight"}, Outputs: []string{"c"},
					Attrs: []*onnx.Attribute{onnx.AttrIs("kernel_shape", 3, 3), onnx.AttrIs("pads", 1, 1, 1, 1)}},
				{Name: "relu", OpType: "Relu", Inputs: []string{"c"}, Outputs: []string{"r"}},
				{Name: "gap", OpType: "GlobalAveragePool", Inputs: []string{"r"}, Outputs: []string{"p"}},
				{Name: "reshape", OpType: "Reshape", Inputs: []string{"p", "shape"}, Outputs: []string{"f"}},
				{Name: "fc", OpType: "Gemm", Inputs: []string{"f", "fc.weight"}, Outputs: []string{"y"},
					Attrs: []*onnx.Attribute{onnx.AttrI("transB", 1)}},
			},
		},
	}
}

func TestOnnxGoReadsWrittenModel(t *testing.T) {
	m := floatModel()
	b, err := onnx.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	back := &carrierGraph{g: simple.NewWeightedDirectedGraph(math.MaxFloat64, -1)}
	og := onnxgo.NewModel(back)
	if err := og.UnmarshalBinary(b); err != nil {
		t.Fatalf("onnx-go cannot read the model: %v", err)
	}
	var want []string
	for _, n := range m.Graph.Nodes {
		want = append(want, n.OpType)
	}
	sort.Strings(want)
	got := append([]string(nil), back.ops...)
	sort.Strings(got)
	if len(got) != len(want) {
		t.Fatalf("onnx-go saw ops %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("onnx-go saw ops %v, want %v", got, want)
		}
	}
	for _, init := range m.Graph.Initializers {
		n, ok := og.GetNodeByName(init.Name)
		if !ok {
			t.Fatalf("onnx-go has no node %q", init.Name)
		}
		tt := n.(*carrierNode).t
		if tt == nil {
			t.Fatalf("onnx-go holds no tensor for %q", init.Name)
		}
		checkSame(t, init, tt)
	}
}

func TestOnnxGoReadsWrittenTensors(t *testing.T) {
	for _, tt := range floatModel().Graph.Initializers {
		b, err := onnx.EncodeTensor(tt)
		if err != nil {
			t.Fatal(err)
		}
		ot, err := onnxgo.NewTensor(b)
		if err != nil {
			t.Fatalf("onnx-go cannot read tensor %q: %v", tt.Name, err)
		}
		checkSame(t, tt, ot)
	}
}

func checkSame(t *testing.T, want *onnx.Tensor, got tensor.Tensor) {
	t.Helper()
	shape := got.Shape()
	if len(shape) != len(want.Dims) {
		t.Fatalf("%q: onnx-go shape %v, want %v", want.Name, shape, want.Dims)
	}
	for i, d := range want.Dims {
		if int64(shape[i]) != d {
			t.Fatalf("%q: onnx-go shape %v, want %v", want.Name, shape, want.Dims)
		}
	}
	switch want.DataType {
	case onnx.Float:
		data, ok := got.Data().([]float32)
		if !ok || len(data) != len(want.F32) {
			t.Fatalf("%q: onnx-go data %T", want.Name, got.Data())
		}
		for i := range data {
			if math.Float32bits(data[i]) != math.Float32bits(want.F32[i]) {
				t.Fatalf("%q[%d]: onnx-go %v, want %v", want.Name, i, data[i], want.F32[i])
			}
		}
	case onnx.Int64:
		data, ok := got.Data().([]int64)
		if !ok || len(data) != len(want.I64) {
			t.Fatalf("%q: onnx-go data %T", want.Name, got.Data())
		}
		for i := range data {
			if data[i] != want.I64[i] {
				t.Fatalf("%q[%d]: onnx-go %v, want %v", want.Name, i, data[i], want.I64[i])
			}
		}
	}
}
