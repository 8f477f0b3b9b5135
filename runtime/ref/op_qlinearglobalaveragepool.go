package ref

import (
	"fmt"
	"math"

	"github.com/piresnet/piresnet/internal/onnx"
)

// QLinearGlobalAveragePool (com.microsoft, opset 1): the average of each
// channel over all spatial positions of a quantized tensor, N x C x D1 x ...
// or, with channels_last=1, N x D1 x ... x C; the output keeps the rank
// with the spatial dims 1. Scales and zero points are scalars; X and Y are
// int8 or uint8. As in ONNX Runtime (MlasQLinearGlobalAveragePool, its
// portable and x86 kernels), with n the number of spatial positions:
//
//	acc = sum(X) - x_zero_point*n                  (int32)
//	s   = float32(x_scale / float32(y_scale * float32(n)))
//	Y   = saturate(round_half_even(float32(float32(acc) * s)) + y_zero_point)
func buildQLinearGlobalAveragePool(n *onnx.Node, opset int64) (kernel, error) {
	r := attrs{n: n}
	channelsLast := r.int("channels_last", 0) != 0
	if r.err != nil {
		return nil, r.err
	}
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		x, err := input(in, 0, "X")
		if err != nil {
			return nil, err
		}
		if !is8bit(x.DataType) {
			return nil, fmt.Errorf("X must be int8 or uint8, got %v", x.DataType)
		}
		for _, i := range []int{2, 4} {
			if z := optional(in, i); z != nil && z.DataType != x.DataType {
				return nil, fmt.Errorf("zero point %d has type %v, X has %v", i, z.DataType, x.DataType)
			}
		}
		xs, xz, err := scalarQuant(optional(in, 1), optional(in, 2), "x")
		if err != nil {
			return nil, err
		}
		ys, yz, err := scalarQuant(optional(in, 3), optional(in, 4), "y")
		if err != nil {
			return nil, err
		}
		if len(x.Dims) < 3 {
			return nil, fmt.Errorf("X has dims %v, want rank 3 or more", x.Dims)
		}
		rank := len(x.Dims)
		dims := append([]int64{}, x.Dims...)
		var c, size int
		if channelsLast {
			c, size = int(x.Dims[rank-1]), prod(x.Dims[1:rank-1])
			for i := 1; i < rank-1; i++ {
				dims[i] = 1
			}
		} else {
			c, size = int(x.Dims[1]), prod(x.Dims[2:])
			for i := 2; i < rank; i++ {
				dims[i] = 1
			}
		}
		y, err := newTensor(x.DataType, dims)
		if err != nil {
			return nil, err
		}
		xv, _ := intData(x)
		scale := xs / float32(ys*float32(size))
		batch := int(x.Dims[0])
		for b := 0; b < batch; b++ {
			for ch := 0; ch < c; ch++ {
				acc := -xz * int32(size)
				for p := 0; p < size; p++ {
					if channelsLast {
						acc += xv[(b*size+p)*c+ch]
					} else {
						acc += xv[(b*c+ch)*size+p]
					}
				}
				v := float32(float32(acc) * scale)
				storeInt(y, b*c+ch, int64(math.RoundToEven(float64(v)))+int64(yz))
			}
		}
		return []*onnx.Tensor{y}, nil
	}), nil
}
