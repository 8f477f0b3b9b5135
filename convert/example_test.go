package convert_test

import (
	"fmt"
	"sort"

	"github.com/piresnet/piresnet/convert"
	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/quant"
)

// A float classifier (Conv 3x3 → Relu → GlobalAveragePool → Flatten →
// Gemm) becomes a QDQ int8 model, calibrated by min/max on 12 images; the
// report gives each activation's parameters.
func ExampleQuantize() {
	m := &onnx.Model{IRVersion: 8, OpsetImports: []onnx.OpsetID{{Version: 13}}, Graph: &onnx.Graph{
		Nodes: []*onnx.Node{
			{Name: "conv", OpType: "Conv", Inputs: []string{"input", "w", "b"}, Outputs: []string{"c"},
				Attrs: []*onnx.Attribute{onnx.AttrIs("kernel_shape", 3, 3), onnx.AttrIs("pads", 1, 1, 1, 1)}},
			{Name: "relu", OpType: "Relu", Inputs: []string{"c"}, Outputs: []string{"r"}},
			{Name: "pool", OpType: "GlobalAveragePool", Inputs: []string{"r"}, Outputs: []string{"p"}},
			{Name: "flat", OpType: "Flatten", Inputs: []string{"p"}, Outputs: []string{"f"}},
			{Name: "fc", OpType: "Gemm", Inputs: []string{"f", "fw", "fb"}, Outputs: []string{"logits"}, Attrs: []*onnx.Attribute{onnx.AttrI("transB", 1)}},
		},
		Initializers: []*onnx.Tensor{
			onnx.NewFloat("w", []int64{2, 1, 3, 3}, []float32{1, 2, 1, 2, 4, 2, 1, 2, 1, -1, 0, 1, -2, 0, 2, -1, 0, 1}),
			onnx.NewFloat("b", []int64{2}, []float32{0.5, 0}),
			onnx.NewFloat("fw", []int64{3, 2}, []float32{1, 0, 0, 1, 0.5, -0.5}),
			onnx.NewFloat("fb", []int64{3}, []float32{0, 0.1, 0.2}),
		},
		Inputs:  []*onnx.ValueInfo{onnx.TensorInfo("input", onnx.Float, "N", 1, "H", "W")},
		Outputs: []*onnx.ValueInfo{onnx.TensorInfo("logits", onnx.Float, "N", 3)},
	}}
	var cal convert.TensorCalibration
	for i := range 16 {
		x := make([]float32, 64)
		for j := range x {
			x[j] = float32((i*7+j*5)%17)/8 - 1
		}
		cal = append(cal, onnx.NewFloat("input", []int64{1, 1, 8, 8}, x))
	}
	q, rep, err := convert.Quantize(m, cal, convert.Options{Method: quant.MinMax, Count: 12, Held: 4})
	if err != nil {
		panic(err)
	}
	ops := map[string]int{}
	for _, n := range q.Graph.Nodes {
		ops[n.OpType]++
	}
	var names []string
	for op := range ops {
		names = append(names, op)
	}
	sort.Strings(names)
	for _, op := range names {
		fmt.Printf("%s×%d", op, ops[op])
		if op != names[len(names)-1] {
			fmt.Print(" ")
		}
	}
	fmt.Println()
	for _, r := range rep.Tensors {
		fmt.Printf("%-6s %-17s scale %.5f zero point %3d\n", r.Name, r.Op, r.Scale, r.ZeroPoint)
	}
	// Output:
	// Conv×1 DequantizeLinear×9 Flatten×1 Gemm×1 GlobalAveragePool×1 QuantizeLinear×5
	// input  input             scale 0.00784 zero point 128
	// r      Conv+Relu         scale 0.02108 zero point   0
	// p      GlobalAveragePool scale 0.00581 zero point   0
	// f      Flatten           scale 0.00581 zero point   0
	// logits Gemm              scale 0.00581 zero point   0
}
