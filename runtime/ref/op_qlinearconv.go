package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// QLinearConv (opset 10): quantized convolution. The exact int32
// accumulator acc = conv(x - x_zero_point, w - w_zero_point[m]) + B[m] is
// requantized as the ONNX reference does it:
//
//	y = saturate(round_half_even(float64(acc) * float64(M[m])) + y_zero_point)
//	M[m] = float32(float32(x_scale * w_scale[m]) / y_scale)
//
// (the multiplier in float32, the product in float64). x_scale, x_zero_point,
// y_scale and y_zero_point are scalars; w_scale and w_zero_point are scalars
// or one per filter. x, w and y are int8 or uint8 (y's type is
// y_zero_point's); B is int32 with scale x_scale*w_scale. ONNX Runtime
// computes the product in float32 and may differ by one step where the
// value is within float32 rounding of a half.
func buildQLinearConv(n *onnx.Node, opset int64) (kernel, error) {
	r := attrs{n: n}
	wa := readWindowAttrs(&r, true)
	group := r.int("group", 1)
	if group < 1 || group > maxDim {
		r.fail("group %d must be positive", group)
	}
	if r.err != nil {
		return nil, r.err
	}
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		var t [8]*onnx.Tensor
		names := []string{"x", "x_scale", "x_zero_point", "w", "w_scale", "w_zero_point", "y_scale", "y_zero_point"}
		for i := range t {
			var err error
			if t[i], err = input(in, i, names[i]); err != nil {
				return nil, err
			}
		}
		x, w := t[0], t[3]
		if !is8bit(x.DataType) || !is8bit(w.DataType) || !is8bit(t[7].DataType) {
			return nil, fmt.Errorf("x, w and y_zero_point must be int8 or uint8, got %v, %v, %v", x.DataType, w.DataType, t[7].DataType)
		}
		if t[2].DataType != x.DataType {
			return nil, fmt.Errorf("x_zero_point has type %v, x has %v", t[2].DataType, x.DataType)
		}
		xs, xz, err := scalarQuant(t[1], t[2], "x")
		if err != nil {
			return nil, err
		}
		ys, yz, err := scalarQuant(t[6], t[7], "y")
		if err != nil {
			return nil, err
		}
		cs, err := checkConvShapes(x, w, group, wa)
		if err != nil {
			return nil, err
		}
		wz, err := filterZeros(t[5], w, cs.m)
		if err != nil {
			return nil, err
		}
		wsc, err := filterScales(t[4], cs.m)
		if err != nil {
			return nil, err
		}
		var bias []int32
		if b := optional(in, 8); b != nil {
			if b.DataType != onnx.Int32 || len(b.Dims) != 1 || int(b.Dims[0]) != cs.m {
				return nil, fmt.Errorf("B must be int32 [%d], got %v %v", cs.m, b.DataType, b.Dims)
			}
			bias = b.I32
		}
		acc, err := convInt32(x, w, xz, wz, bias, cs)
		if err != nil {
			return nil, err
		}
		y, err := newTensor(t[7].DataType, cs.g.outDims(int64(cs.batch), int64(cs.m)))
		if err != nil {
			return nil, err
		}
		lo, hi, _ := quantBounds(y.DataType)
		osz := cs.g.outSize()
		for i, a := range acc {
			m := (i / osz) % cs.m
			ws := wsc[0]
			if len(wsc) > 1 {
				ws = wsc[m]
			}
			mult := float32(xs*ws) / ys
			storeInt(y, i, saturateRound(float64(a)*float64(mult), int64(yz), lo, hi))
		}
		return []*onnx.Tensor{y}, nil
	}), nil
}

// filterScales reads a weight scale: one value or one per filter.
func filterScales(t *onnx.Tensor, m int) ([]float32, error) {
	if t.DataType != onnx.Float {
		return nil, fmt.Errorf("w_scale must be float32, got %v", t.DataType)
	}
	if len(t.F32) == 1 && len(t.Dims) <= 1 {
		return t.F32, nil
	}
	if len(t.Dims) != 1 || int(t.Dims[0]) != m {
		return nil, fmt.Errorf("w_scale has dims %v, want a scalar or [%d]", t.Dims, m)
	}
	return t.F32, nil
}
