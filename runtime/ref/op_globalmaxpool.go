package ref

import (
	"math"

	"github.com/piresnet/piresnet/internal/onnx"
)

// GlobalMaxPool (opset 1): the maximum of each (n, c) plane over all
// spatial axes, output N x C x 1 x ...; NaN propagates (numpy.max, the ONNX
// reference).
func buildGlobalMaxPool(n *onnx.Node, opset int64) (kernel, error) {
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		x, y, err := globalPoolShapes(in, "GlobalMaxPool")
		if err != nil {
			return nil, err
		}
		planes, size := prod(x.Dims[:2]), prod(x.Dims[2:])
		xd := toFloat64(x)
		yd := make([]float64, planes)
		for p := range yd {
			m := math.Inf(-1)
			for _, v := range xd[p*size : (p+1)*size] {
				if v != v {
					m = v
					break
				}
				m = math.Max(m, v)
			}
			yd[p] = m
		}
		storeFloat64(y, yd)
		return []*onnx.Tensor{y}, nil
	}), nil
}
