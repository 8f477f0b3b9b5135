package ref

import (
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
)

// flattenChainModel pools x [N C H W] and flattens it the way
// torch.onnx.export writes x.view(x.size(0), -1): Shape -> Gather ->
// Unsqueeze -> Concat -> Reshape.
func flattenChainModel() *onnx.Model {
	return &onnx.Model{
		IRVersion:    8,
		OpsetImports: []onnx.OpsetID{{Version: 13}},
		Graph: &onnx.Graph{
			Name: "chain",
			Initializers: []*onnx.Tensor{
				onnx.NewInt64("zero", onnx.Scalar, []int64{0}),
				onnx.NewInt64("axes", []int64{1}, []int64{0}),
				onnx.NewInt64("minus1", []int64{1}, []int64{-1}),
			},
			Inputs:  []*onnx.ValueInfo{onnx.TensorInfo("x", onnx.Float, "N", 3, "H", "W")},
			Outputs: []*onnx.ValueInfo{onnx.TensorInfo("y", onnx.Float, "N", 3)},
			Nodes: []*onnx.Node{
				{Name: "pool", OpType: "GlobalAveragePool", Inputs: []string{"x"}, Outputs: []string{"p"}},
				{Name: "shape", OpType: "Shape", Inputs: []string{"p"}, Outputs: []string{"s"}},
				{Name: "gather", OpType: "Gather", Inputs: []string{"s", "zero"}, Outputs: []string{"n"}},
				{Name: "unsq", OpType: "Unsqueeze", Inputs: []string{"n", "axes"}, Outputs: []string{"n1"}},
				{Name: "concat", OpType: "Concat", Inputs: []string{"n1", "minus1"}, Outputs: []string{"shape2"},
					Attrs: []*onnx.Attribute{onnx.AttrI("axis", 0)}},
				{Name: "reshape", OpType: "Reshape", Inputs: []string{"p", "shape2"}, Outputs: []string{"y"}},
			},
		},
	}
}

func randImage(rng *rand.Rand, dims ...int64) *onnx.Tensor {
	x := f32(dims, make([]float32, prod(dims))...)
	for i := range x.F32 {
		x.F32[i] = float32(rng.Intn(64)) // exact sums
	}
	return x
}

// channelMeans is the expected output of flattenChainModel.
func channelMeans(x *onnx.Tensor) []float32 {
	planes, size := prod(x.Dims[:2]), prod(x.Dims[2:])
	out := make([]float32, planes)
	for p := range out {
		s := 0.0
		for _, v := range x.F32[p*size : (p+1)*size] {
			s += float64(v)
		}
		out[p] = float32(s / float64(size))
	}
	return out
}

func TestShapeChainFolding(t *testing.T) {
	p, err := Compile(flattenChainModel())
	if err != nil {
		t.Fatal(err)
	}
	var foldable []string
	for _, st := range p.nodes {
		if st.foldable {
			foldable = append(foldable, st.node.Name)
		}
	}
	if strings.Join(foldable, " ") != "shape gather unsq concat" {
		t.Fatalf("foldable steps %v, want the shape chain", foldable)
	}
	rng := rand.New(rand.NewSource(1))
	shapes := [][]int64{{1, 3, 2, 2}, {2, 3, 4, 5}, {1, 3, 2, 2}, {3, 3, 1, 7}, {2, 3, 4, 5}}
	for _, dims := range shapes {
		x := randImage(rng, dims...)
		out, err := p.Run(map[string]*onnx.Tensor{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		wantF32(t, out["y"], []int64{dims[0], 3}, channelMeans(x)...)
	}
	if len(p.cache) != 3 {
		t.Fatalf("cache holds %d sets of shapes, want 3", len(p.cache))
	}
	for h := int64(1); h <= maxFoldEntries+6; h++ {
		if _, err := p.Run(map[string]*onnx.Tensor{"x": randImage(rng, 1, 3, h, 1)}); err != nil {
			t.Fatal(err)
		}
	}
	if len(p.cache) != maxFoldEntries || len(p.order) != maxFoldEntries {
		t.Fatalf("cache holds %d entries, want the bound %d", len(p.cache), maxFoldEntries)
	}
}

// A Shape whose input's shape depends on data (a Reshape to a shape given
// as a graph input) must not be folded: two runs with the same input shapes
// but different shape values give different results.
func TestDataDependentShapeIsNotFolded(t *testing.T) {
	m := &onnx.Model{
		IRVersion:    8,
		OpsetImports: []onnx.OpsetID{{Version: 13}},
		Graph: &onnx.Graph{
			Inputs:  []*onnx.ValueInfo{onnx.TensorInfo("x", onnx.Float, 6), onnx.TensorInfo("s", onnx.Int64, 2)},
			Outputs: []*onnx.ValueInfo{onnx.TensorInfo("sh", onnx.Int64, 2)},
			Nodes: []*onnx.Node{
				{OpType: "Reshape", Inputs: []string{"x", "s"}, Outputs: []string{"r"}},
				{OpType: "Shape", Inputs: []string{"r"}, Outputs: []string{"sh"}},
			},
		},
	}
	p, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	x := f32([]int64{6}, 1, 2, 3, 4, 5, 6)
	for _, s := range [][]int64{{2, 3}, {3, 2}, {1, 6}} {
		out, err := p.Run(map[string]*onnx.Tensor{"x": x, "s": onnx.NewInt64("", []int64{2}, s)})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(out["sh"].I64) != fmt.Sprint(s) {
			t.Fatalf("shape %v, want %v", out["sh"].I64, s)
		}
	}
}

func TestConstantFoldingAtCompile(t *testing.T) {
	m := flattenChainModel()
	// A node whose inputs are all initializers is evaluated by Compile.
	m.Graph.Initializers = append(m.Graph.Initializers, onnx.NewInt64("two", []int64{1}, []int64{2}))
	m.Graph.Nodes = append([]*onnx.Node{{Name: "k", OpType: "Mul", Inputs: []string{"minus1", "two"}, Outputs: []string{"m2"}}}, m.Graph.Nodes...)
	m.Graph.Outputs = append(m.Graph.Outputs, onnx.TensorInfo("m2", onnx.Int64, 1))
	p, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range p.nodes {
		if st.node.Name == "k" {
			t.Fatal("constant node k was not folded")
		}
	}
	out, err := p.Run(map[string]*onnx.Tensor{"x": randImage(rand.New(rand.NewSource(2)), 1, 3, 2, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if out["m2"].I64[0] != -2 {
		t.Fatalf("m2 = %v", out["m2"].I64)
	}
	// The caller owns outputs: changing one does not change the constant.
	out["m2"].I64[0] = 99
	out, _ = p.Run(map[string]*onnx.Tensor{"x": randImage(rand.New(rand.NewSource(2)), 1, 3, 2, 2)})
	if out["m2"].I64[0] != -2 {
		t.Fatalf("after changing an output, m2 = %v", out["m2"].I64)
	}
}

func TestOutputsDoNotAliasInputs(t *testing.T) {
	m := &onnx.Model{
		IRVersion:    8,
		OpsetImports: []onnx.OpsetID{{Version: 13}},
		Graph: &onnx.Graph{
			Inputs:  []*onnx.ValueInfo{onnx.TensorInfo("x", onnx.Float, 2)},
			Outputs: []*onnx.ValueInfo{onnx.TensorInfo("x", onnx.Float, 2), onnx.TensorInfo("y", onnx.Float, 2), onnx.TensorInfo("y", onnx.Float, 2)},
			Nodes:   []*onnx.Node{{OpType: "Identity", Inputs: []string{"x"}, Outputs: []string{"y"}}},
		},
	}
	p, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	x := f32([]int64{2}, 1, 2)
	out, err := p.Run(map[string]*onnx.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	out["x"].F32[0] = 7
	out["y"].F32[1] = 8
	if x.F32[0] != 1 || x.F32[1] != 2 {
		t.Fatalf("outputs alias the input: %v", x.F32)
	}
}

func TestRunChecksInputs(t *testing.T) {
	p, err := Compile(flattenChainModel())
	if err != nil {
		t.Fatal(err)
	}
	bad := onnx.NewFloat("", []int64{1, 3, 2}, make([]float32, 5))
	for _, c := range []struct {
		in   map[string]*onnx.Tensor
		want string
	}{
		{map[string]*onnx.Tensor{}, `ref: missing input "x"`},
		{map[string]*onnx.Tensor{"x": f32([]int64{1, 3, 2, 2}, make([]float32, 12)...), "z": f32([]int64{1}, 0)}, `ref: "z" is not an input of the graph`},
		{map[string]*onnx.Tensor{"x": onnx.NewInt64("", []int64{1, 3, 1, 1}, []int64{1, 2, 3})}, `ref: input "x": element type int64, the graph declares float32`},
		{map[string]*onnx.Tensor{"x": f32([]int64{3, 2, 2}, make([]float32, 12)...)}, `ref: input "x": dims [3 2 2] have rank 3, the graph declares rank 4 ([N 3 H W])`},
		{map[string]*onnx.Tensor{"x": f32([]int64{1, 4, 1, 1}, 1, 2, 3, 4)}, `ref: input "x": dims [1 4 1 1]: dimension 1 is 4, the graph declares [N 3 H W]`},
		{map[string]*onnx.Tensor{"x": bad}, `ref: input "x": float32 tensor with dims [1 3 2] holds 5 elements, want 6`},
	} {
		_, err := p.Run(c.in)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("got %v, want %s", err, c.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, c := range []struct {
		edit func(m *onnx.Model)
		want string
	}{
		{func(m *onnx.Model) { m.Graph.Nodes[1].OpType = "Loop" }, `ref: unsupported op "Loop" (node "shape")`},
		{func(m *onnx.Model) { m.Graph.Nodes[0].Domain = "com.example" }, `ref: unsupported op "com.example.GlobalAveragePool" (node "pool")`},
		{func(m *onnx.Model) { m.OpsetImports = nil }, `ref: node GlobalAveragePool "pool": the model imports no opset for domain ""`},
		{func(m *onnx.Model) { m.OpsetImports[0].Version = 30 }, `ref: node GlobalAveragePool "pool": op "GlobalAveragePool" at opset 30: newer than the newest supported (21)`},
		{func(m *onnx.Model) { m.Graph.Nodes[0].OpType = "QuantizeLinear"; m.OpsetImports[0].Version = 9 },
			`ref: node QuantizeLinear "pool": op "QuantizeLinear" does not exist at opset 9`},
		{func(m *onnx.Model) { m.Graph.Nodes[4].Attrs = nil }, `ref: node Concat "concat": attribute axis is required`},
		{func(m *onnx.Model) { m.Graph.Nodes[4].Attrs[0].Type = onnx.AttrFloat }, `ref: node Concat "concat": attribute "axis" has type float, want int`},
		{func(m *onnx.Model) { m.Graph.Nodes[0].Inputs[0] = "y" }, `ref: graph has a cycle`},
		{func(m *onnx.Model) { m.Graph = nil }, `ref: model has no graph`},
	} {
		m := flattenChainModel()
		c.edit(m)
		_, err := Compile(m)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("got %v, want %s", err, c.want)
		}
	}
}

// Run is safe for concurrent use: goroutines running different shapes at
// once (sharing the shape cache) all get the right results. Run with -race.
func TestConcurrentRuns(t *testing.T) {
	p, err := Compile(flattenChainModel())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(g)))
			for i := 0; i < 20; i++ {
				x := randImage(rng, int64(1+rng.Intn(3)), 3, int64(1+rng.Intn(4)), int64(1+rng.Intn(4)))
				out, err := p.Run(map[string]*onnx.Tensor{"x": x})
				if err != nil {
					errs <- err
					return
				}
				if fmt.Sprint(out["y"].F32) != fmt.Sprint(channelMeans(x)) || out["y"].Dims[0] != x.Dims[0] {
					errs <- fmt.Errorf("goroutine %d: dims %v got %v, want %v", g, x.Dims, out["y"].F32, channelMeans(x))
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
