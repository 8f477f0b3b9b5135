package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// Reshape (opsets 1, 5, 13, 14, 19, 21): the target shape is the attribute
// shape before opset 5 and the int64 input from opset 5. A 0 copies the
// input's dimension at that index (or, with allowzero=1 from opset 14, means
// an empty dimension); one -1 is inferred from the element count.
func buildReshape(n *onnx.Node, opset int64) (kernel, error) {
	r := attrs{n: n}
	attrShape, _ := r.ints("shape")
	allowZero := r.int("allowzero", 0) != 0
	if opset < 5 && attrShape == nil {
		r.fail("attribute shape is required")
	}
	if r.err != nil {
		return nil, r.err
	}
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		x, err := input(in, 0, "data")
		if err != nil {
			return nil, err
		}
		shape := attrShape
		if opset >= 5 {
			s, err := input(in, 1, "shape")
			if err != nil {
				return nil, err
			}
			if s.DataType != onnx.Int64 || len(s.Dims) != 1 {
				return nil, fmt.Errorf("shape must be a 1-D int64 tensor, got %v %v", s.DataType, s.Dims)
			}
			shape = s.I64
		}
		dims, err := reshapeDims(x.Dims, shape, allowZero)
		if err != nil {
			return nil, err
		}
		return []*onnx.Tensor{withDims(x, dims)}, nil
	}), nil
}

func reshapeDims(in, shape []int64, allowZero bool) ([]int64, error) {
	out := make([]int64, len(shape))
	infer := -1
	known := int64(1)
	total, _ := shapeSize(in)
	hasZero := false
	for i, d := range shape {
		switch {
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("shape %v has more than one -1", shape)
			}
			infer = i
			continue
		case d == 0 && !allowZero:
			if i >= len(in) {
				return nil, fmt.Errorf("shape %v copies dimension %d, the input %v has rank %d", shape, i, in, len(in))
			}
			d = in[i]
		case d < -1:
			return nil, fmt.Errorf("shape %v has a negative dimension", shape)
		}
		if d == 0 {
			hasZero = true
		}
		out[i] = d
		if d > 0 {
			if d > maxElements || known > maxElements/d {
				return nil, fmt.Errorf("shape %v is too large", shape)
			}
			known *= d
		}
	}
	if infer >= 0 {
		if allowZero && hasZero {
			return nil, fmt.Errorf("shape %v has both 0 and -1 with allowzero=1", shape)
		}
		if hasZero {
			if total != 0 {
				return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v", in, total, shape)
			}
			out[infer] = 0 // any size fits; ONNX Runtime and numpy pick 0
			return out, nil
		}
		if int64(total)%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v", in, total, shape)
		}
		out[infer] = int64(total) / known
		return out, nil
	}
	n, err := shapeSize(out)
	if err != nil {
		return nil, err
	}
	if n != total {
		return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v (%d elements)", in, total, out, n)
	}
	return out, nil
}
