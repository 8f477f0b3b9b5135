package runtime

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/piresnet/piresnet/internal/modelmeta"
	"github.com/piresnet/piresnet/internal/onnx"
)

// scaleInputs lists, per quantized operator, the inputs that are
// quantization scales.
func scaleInputs(n *onnx.Node) []int {
	switch n.OpType {
	case "QuantizeLinear", "DequantizeLinear":
		return []int{1}
	case "QLinearConv", "QLinearMatMul", "QLinearAdd":
		return []int{1, 4, 6}
	case "QLinearGlobalAveragePool":
		return []int{1, 3}
	case "QLinearConcat": // y_scale, y_zero_point, then (x, scale, zero point) triples
		idx := []int{0}
		for i := 3; i < len(n.Inputs); i += 3 {
			idx = append(idx, i)
		}
		return idx
	}
	return nil
}

// checkScales refuses quantization scales held in initializers that are
// not positive finite numbers: a zero scale divides by zero when
// quantizing, a NaN or infinite one gives no meaningful integer.
func checkScales(g *onnx.Graph) error {
	inits := make(map[string]*onnx.Tensor, len(g.Initializers))
	for _, t := range g.Initializers {
		inits[t.Name] = t
	}
	for _, n := range g.Nodes {
		for _, i := range scaleInputs(n) {
			if i >= len(n.Inputs) {
				continue
			}
			t := inits[n.Inputs[i]]
			if t == nil || t.DataType != onnx.Float {
				continue
			}
			for j, s := range t.F32 {
				if !(s > 0) || math.IsInf(float64(s), 0) {
					return fmt.Errorf("node %s: scale %q[%d] = %v; quantization scales must be positive and finite", n, t.Name, j, s)
				}
			}
		}
	}
	return nil
}

// checkMetadata compares the model's piresnet metadata, when it has some,
// with its graph: the metadata must be valid, name as many input channels
// as the graph's input has, and as many labels as the output has classes
// at the suggested input size. Models without metadata pass.
func checkMetadata(m *Model) error {
	md, err := modelmeta.Parse(m.src)
	if errors.Is(err, modelmeta.ErrNoMetadata) {
		return nil
	}
	if err != nil {
		return err
	}
	inputs := m.src.Graph.RealInputs()
	if len(inputs) != 1 || len(m.src.Graph.Outputs) != 1 {
		return fmt.Errorf("metadata describes a classifier (one input, one output); the graph has %d inputs and %d outputs",
			len(inputs), len(m.src.Graph.Outputs))
	}
	if t := inputs[0].Type; t != nil && t.HasShape && len(t.Shape) == 4 && t.Shape[1].HasValue {
		if c := int(t.Shape[1].Value); c != md.InputChannels {
			return fmt.Errorf("metadata says %d input channels, the graph %d", md.InputChannels, c)
		}
	}
	info, err := m.Info(md.InputHeight, md.InputWidth)
	if err != nil {
		return fmt.Errorf("at the metadata's input size %dx%d: %v", md.InputHeight, md.InputWidth, err)
	}
	classes := 1
	for _, d := range info.Outputs[0].Dims {
		v, err := strconv.Atoi(d)
		if err != nil || v < 1 {
			return fmt.Errorf("output %s has dims %v at %dx%d", info.Outputs[0].Name, info.Outputs[0].Dims, md.InputHeight, md.InputWidth)
		}
		classes *= v
	}
	if len(md.Labels) != classes {
		return fmt.Errorf("metadata has %d labels, the output has %d classes", len(md.Labels), classes)
	}
	return nil
}
