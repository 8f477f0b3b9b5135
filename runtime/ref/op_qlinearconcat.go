package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// QLinearConcat (com.microsoft, opset 1): inputs Y_scale, Y_zero_point,
// then (X_i, X_i_scale, X_i_zero_point) triples; each X_i is requantized to
// Y's scale and zero point and the results are joined along axis (required;
// negative counts from the end). All of X_i and Y share one type, int8 or
// uint8; scales and zero points are scalars. As in ONNX Runtime (a lookup
// table built by QlinearBuildLookupTable and MlasQuantizeLinear), an input
// whose scale and zero point equal Y's is copied; any other value maps as
//
//	d = float32(X_scale * float32(x - X_zero_point))
//	y = saturate(round_half_even(float32(d / Y_scale)) + Y_zero_point)
func buildQLinearConcat(n *onnx.Node, opset int64) (kernel, error) {
	r := attrs{n: n}
	axis := r.int("axis", 0)
	if !r.has("axis") {
		r.fail("attribute axis is required")
	}
	if r.err != nil {
		return nil, r.err
	}
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		if len(in) < 5 || (len(in)-2)%3 != 0 {
			return nil, fmt.Errorf("got %d inputs, want Y_scale, Y_zero_point and (X, scale, zero point) triples", len(in))
		}
		yzt, err := input(in, 1, "Y_zero_point")
		if err != nil {
			return nil, err
		}
		ys, yz, err := scalarQuant(optional(in, 0), yzt, "Y")
		if err != nil {
			return nil, err
		}
		dt := yzt.DataType
		if !is8bit(dt) {
			return nil, fmt.Errorf("Y_zero_point must be int8 or uint8, got %v", dt)
		}
		lo, hi, _ := quantBounds(dt)
		parts := make([]*onnx.Tensor, 0, (len(in)-2)/3)
		for i := 2; i < len(in); i += 3 {
			x, err := input(in, i, "X")
			if err != nil {
				return nil, err
			}
			zt, err := input(in, i+2, "X_zero_point")
			if err != nil {
				return nil, err
			}
			if x.DataType != dt || zt.DataType != dt {
				return nil, fmt.Errorf("input %d and its zero point have types %v and %v, Y has %v", i, x.DataType, zt.DataType, dt)
			}
			xs, xz, err := scalarQuant(optional(in, i+1), zt, "X")
			if err != nil {
				return nil, err
			}
			if xs == ys && xz == yz {
				parts = append(parts, x)
				continue
			}
			xv, _ := intData(x)
			q, err := newTensor(dt, x.Dims)
			if err != nil {
				return nil, err
			}
			for j, v := range xv {
				d := xs * float32(v-xz)
				storeInt(q, j, saturateRound(float64(d/ys), int64(yz), lo, hi))
			}
			parts = append(parts, q)
		}
		y, err := concat(parts, axis)
		if err != nil {
			return nil, err
		}
		return []*onnx.Tensor{y}, nil
	}), nil
}
