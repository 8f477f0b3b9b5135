package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// convInt32 computes the exact integer convolution of (x - xZero) and (w -
// wZero[m]) plus bias[m] with int32 accumulators (wrapping like ONNX's
// int32 arithmetic). Padding holds the zero point, so it contributes 0.
// wZero has one value or one per filter; bias may be nil.
func convInt32(x, w *onnx.Tensor, xZero int32, wZero []int32, bias []int32, cs convShape) ([]int32, error) {
	xv, err := intData(x)
	if err != nil {
		return nil, fmt.Errorf("x: %v", err)
	}
	wv, err := intData(w)
	if err != nil {
		return nil, fmt.Errorf("w: %v", err)
	}
	xs := make([]int32, len(xv))
	for i, v := range xv {
		xs[i] = v - xZero
	}
	ws := make([]int32, len(wv))
	per := len(wv) / max(cs.m, 1)
	for i, v := range wv {
		z := wZero[0]
		if len(wZero) > 1 {
			z = wZero[i/per]
		}
		ws[i] = v - z
	}
	y := make([]int32, cs.batch*cs.m*cs.g.outSize())
	runGemms(convTasks(nil, xs, ws, y, cs.batch, cs.c, cs.m, cs.group, cs.g, nil))
	if bias != nil {
		osz := cs.g.outSize()
		for i := 0; i < cs.batch; i++ {
			for c := 0; c < cs.m; c++ {
				plane := y[(i*cs.m+c)*osz : (i*cs.m+c+1)*osz]
				for j := range plane {
					plane[j] += bias[c]
				}
			}
		}
	}
	return y, nil
}

// filterZeros reads a weight zero point: one value, or one per filter.
func filterZeros(t *onnx.Tensor, w *onnx.Tensor, m int) ([]int32, error) {
	if t == nil {
		return []int32{0}, nil
	}
	if t.DataType != w.DataType {
		return nil, fmt.Errorf("w_zero_point has type %v, w has %v", t.DataType, w.DataType)
	}
	v, err := intData(t)
	if err != nil {
		return nil, err
	}
	if len(v) == 1 && len(t.Dims) <= 1 {
		return v, nil
	}
	if len(t.Dims) != 1 || int(t.Dims[0]) != m {
		return nil, fmt.Errorf("w_zero_point has dims %v, want a scalar or [%d]", t.Dims, m)
	}
	return v, nil
}
