package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// QLinearMatMul (opset 10): the exact int32 product C of (a - a_zero_point)
// and (b - b_zero_point) (numpy.matmul) requantized as the ONNX reference
// does it:
//
//	y = saturate(round_half_even(float64(C) * float64(float32(float32(a_scale*b_scale) / y_scale))) + y_zero_point)
//
// Scales and zero points are per tensor, per row (a, y) or per column (b),
// each scale of the same shape as its zero point. a, b and y are int8 or
// uint8 (y's type is y_zero_point's).
func buildQLinearMatMul(n *onnx.Node, opset int64) (kernel, error) {
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		var t [8]*onnx.Tensor
		names := []string{"a", "a_scale", "a_zero_point", "b", "b_scale", "b_zero_point", "y_scale", "y_zero_point"}
		for i := range t {
			var err error
			if t[i], err = input(in, i, names[i]); err != nil {
				return nil, err
			}
		}
		a, b := t[0], t[3]
		if !is8bit(a.DataType) || !is8bit(b.DataType) || !is8bit(t[7].DataType) {
			return nil, fmt.Errorf("a, b and y_zero_point must be int8 or uint8, got %v, %v, %v", a.DataType, b.DataType, t[7].DataType)
		}
		for _, i := range []int{1, 4, 6} {
			if t[i].DataType != onnx.Float {
				return nil, fmt.Errorf("%s must be float32, got %v", names[i], t[i].DataType)
			}
			if !equalDims(t[i].Dims, t[i+1].Dims) && !(t[i].Len() == 1 && t[i+1].Len() == 1) {
				return nil, fmt.Errorf("%s has dims %v and %s %v: they must match", names[i], t[i].Dims, names[i+1], t[i+1].Dims)
			}
		}
		s, err := matmulShapes(a.Dims, b.Dims)
		if err != nil {
			return nil, err
		}
		av, err := shiftedInt32(a, t[2], true, "a")
		if err != nil {
			return nil, err
		}
		bv, err := shiftedInt32(b, t[5], false, "b")
		if err != nil {
			return nil, err
		}
		c := matmulInt32(s, av, bv)
		full := append(append([]int64{}, s.batch...), int64(s.m), int64(s.n))
		// Broadcast every scale and the output zero point to the full
		// [batch..., M, N] output.
		expand := func(p *onnx.Tensor, op []int64, row bool, what string) ([]int64, error) {
			d, err := paramDims(p, op, row, what)
			if err != nil {
				return nil, err
			}
			bd, err := broadcastShape(full, d)
			if err != nil || !equalDims(bd, full) {
				return nil, fmt.Errorf("%s has dims %v, which do not fit the output %v", what, p.Dims, full)
			}
			return d, nil
		}
		ad, err := expand(t[1], matDims(a.Dims, true), true, "a_scale")
		if err != nil {
			return nil, err
		}
		bd, err := expand(t[4], matDims(b.Dims, false), false, "b_scale")
		if err != nil {
			return nil, err
		}
		yd, err := expand(t[6], full, true, "y_scale")
		if err != nil {
			return nil, err
		}
		as := broadcastTo(t[1].F32, ad, full)
		bs := broadcastTo(t[4].F32, bd, full)
		ys := broadcastTo(t[6].F32, yd, full)
		yzv, err := intData(t[7])
		if err != nil {
			return nil, err
		}
		yz := broadcastTo(yzv, yd, full)
		y, err := newTensor(t[7].DataType, s.out)
		if err != nil {
			return nil, err
		}
		lo, hi, _ := quantBounds(y.DataType)
		for i, v := range c {
			mult := float32(as[i]*bs[i]) / ys[i]
			storeInt(y, i, saturateRound(float64(v)*float64(mult), int64(yz[i]), lo, hi))
		}
		return []*onnx.Tensor{y}, nil
	}), nil
}
