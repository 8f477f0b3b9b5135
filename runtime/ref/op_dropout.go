package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// Dropout (opsets 1, 6, 7, 10, 12, 13) in inference: the output is a copy
// of the input and the optional mask is all ones (type T in opsets 7 to 9,
// bool from opset 10), as the ONNX reference defines it (ONNX Runtime writes
// an all-zero mask in opsets 7 to 11). Training is out of scope: is_test=0
// before opset 7, and training_mode=true with a ratio other than 0 from
// opset 12 (the dropped elements are random), are errors. Training with
// ratio 0 drops nothing and is the identity.
func buildDropout(n *onnx.Node, opset int64) (kernel, error) {
	r := attrs{n: n}
	isTest := r.int("is_test", 0)
	r.float("ratio", 0.5)
	r.int("seed", 0)
	if r.err != nil {
		return nil, r.err
	}
	if opset < 7 && isTest == 0 {
		return nil, fmt.Errorf("is_test=0 asks for training-mode dropout, which is not supported")
	}
	wantMask := wantOutput(n, 1)
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		x, err := input(in, 0, "data")
		if err != nil {
			return nil, err
		}
		if opset >= 12 {
			if tm := optional(in, 2); tm != nil {
				if tm.DataType != onnx.Bool || len(tm.U8) != 1 {
					return nil, fmt.Errorf("training_mode must be a bool scalar, got %v %v", tm.DataType, tm.Dims)
				}
				if tm.U8[0] != 0 {
					ratio := float32(0.5)
					if rt := optional(in, 1); rt != nil {
						v, err := rt.Float32s()
						if err != nil || len(v) != 1 {
							return nil, fmt.Errorf("ratio must be a float scalar")
						}
						ratio = v[0]
					}
					if ratio != 0 {
						return nil, fmt.Errorf("training_mode=true with ratio %g drops random elements, which is not supported", ratio)
					}
				}
			}
		}
		y := cloneTensor(x)
		y.Name = ""
		out := []*onnx.Tensor{y}
		if wantMask {
			mt := onnx.Bool
			if opset < 10 {
				mt = x.DataType
			}
			m, err := newTensor(mt, x.Dims)
			if err != nil {
				return nil, err
			}
			if err := fillOnes(m); err != nil {
				return nil, err
			}
			out = append(out, m)
		}
		return out, nil
	}), nil
}

// fillOnes sets every element of t to 1 (true).
func fillOnes(t *onnx.Tensor) error {
	switch t.DataType {
	case onnx.Bool, onnx.Uint8:
		for i := range t.U8 {
			t.U8[i] = 1
		}
	case onnx.Float:
		for i := range t.F32 {
			t.F32[i] = 1
		}
	case onnx.Double:
		for i := range t.F64 {
			t.F64[i] = 1
		}
	case onnx.Float16:
		for i := range t.U16 {
			t.U16[i] = 0x3c00
		}
	case onnx.BFloat16:
		for i := range t.U16 {
			t.U16[i] = 0x3f80
		}
	default:
		return fmt.Errorf("no mask of type %v", t.DataType)
	}
	return nil
}
