package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// Constant (opsets 1, 9, 11, 12, 13, 19, 21): the tensor of exactly one of
// the attributes value, value_float, value_floats, value_int, value_ints,
// value_string, value_strings (the value_* forms from opset 12).
// sparse_value is not supported.
func buildConstant(n *onnx.Node, opset int64) (kernel, error) {
	var t *onnx.Tensor
	set := 0
	for _, a := range n.Attrs {
		var v *onnx.Tensor
		switch a.Name {
		case "value":
			if a.Type != onnx.AttrTensor || a.T == nil {
				return nil, fmt.Errorf("attribute value is not a tensor")
			}
			v = cloneTensor(a.T)
		case "value_float":
			v = &onnx.Tensor{DataType: onnx.Float, Dims: []int64{}, F32: []float32{a.F}}
		case "value_floats":
			v = &onnx.Tensor{DataType: onnx.Float, Dims: []int64{int64(len(a.Floats))}, F32: append([]float32{}, a.Floats...)}
		case "value_int":
			v = &onnx.Tensor{DataType: onnx.Int64, Dims: []int64{}, I64: []int64{a.I}}
		case "value_ints":
			v = &onnx.Tensor{DataType: onnx.Int64, Dims: []int64{int64(len(a.Ints))}, I64: append([]int64{}, a.Ints...)}
		case "value_string":
			v = &onnx.Tensor{DataType: onnx.String, Dims: []int64{}, Strs: [][]byte{append([]byte{}, a.S...)}}
		case "value_strings":
			v = &onnx.Tensor{DataType: onnx.String, Dims: []int64{int64(len(a.Strings))}}
			for _, s := range a.Strings {
				v.Strs = append(v.Strs, append([]byte{}, s...))
			}
		case "sparse_value":
			return nil, fmt.Errorf("sparse_value is not supported")
		default:
			continue
		}
		if a.Name != "value" && opset < 12 {
			return nil, fmt.Errorf("attribute %s needs opset 12, the model imports %d", a.Name, opset)
		}
		t = v
		set++
	}
	if set != 1 {
		return nil, fmt.Errorf("exactly one value attribute must be set, found %d", set)
	}
	t.Name = ""
	if err := checkTensor(t); err != nil {
		return nil, fmt.Errorf("value: %v", err)
	}
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		return []*onnx.Tensor{cloneTensor(t)}, nil
	}), nil
}
