package ref_test

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/runtime/ref"
)

// A two-filter convolution, ReLU and global average pooling, built in code
// and run on images of two sizes.
func Example() {
	// Filter 0 doubles the pixel; filter 1 computes 10 - pixel.
	w := onnx.NewFloat("w", []int64{2, 1, 3, 3}, []float32{
		0, 0, 0, 0, 2, 0, 0, 0, 0,
		0, 0, 0, 0, -1, 0, 0, 0, 0,
	})
	b := onnx.NewFloat("b", []int64{2}, []float32{0, 10})
	m := &onnx.Model{
		IRVersion:    8,
		OpsetImports: []onnx.OpsetID{{Domain: "", Version: 13}},
		Graph: &onnx.Graph{
			Name:         "tiny",
			Initializers: []*onnx.Tensor{w, b},
			Inputs:       []*onnx.ValueInfo{onnx.TensorInfo("x", onnx.Float, "N", 1, "H", "W")},
			Outputs:      []*onnx.ValueInfo{onnx.TensorInfo("y", onnx.Float, "N", 2)},
			Nodes: []*onnx.Node{
				{Name: "conv", OpType: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"c"},
					Attrs: []*onnx.Attribute{onnx.AttrIs("pads", 1, 1, 1, 1)}},
				{Name: "relu", OpType: "Relu", Inputs: []string{"c"}, Outputs: []string{"r"}},
				{Name: "pool", OpType: "GlobalAveragePool", Inputs: []string{"r"}, Outputs: []string{"p"}},
				{Name: "flat", OpType: "Flatten", Inputs: []string{"p"}, Outputs: []string{"y"}},
			},
		},
	}
	p, err := ref.Compile(m)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, x := range []*onnx.Tensor{
		onnx.NewFloat("", []int64{1, 1, 3, 3}, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}),
		onnx.NewFloat("", []int64{1, 1, 2, 2}, []float32{1, 2, 3, 4}),
	} {
		out, err := p.Run(map[string]*onnx.Tensor{"x": x})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(x.Dims, "->", out["y"].Dims, out["y"].F32)
	}

	// An unsupported operator is refused when compiling.
	m.Graph.Nodes[1].OpType = "Loop"
	_, err = ref.Compile(m)
	fmt.Println(err)
	// Output:
	// [1 1 3 3] -> [1 2] [10 5]
	// [1 1 2 2] -> [1 2] [5 7.5]
	// ref: unsupported op "Loop" (node "relu")
}
