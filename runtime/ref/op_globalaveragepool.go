package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// GlobalAveragePool (opset 1): the mean of each (n, c) plane over all
// spatial axes, output N x C x 1 x ...; summed in float64 and rounded once.
func buildGlobalAveragePool(n *onnx.Node, opset int64) (kernel, error) {
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		x, y, err := globalPoolShapes(in, "GlobalAveragePool")
		if err != nil {
			return nil, err
		}
		planes, size := prod(x.Dims[:2]), prod(x.Dims[2:])
		xd := toFloat64(x)
		yd := make([]float64, planes)
		for p := range yd {
			s := 0.0
			for _, v := range xd[p*size : (p+1)*size] {
				s += v
			}
			yd[p] = s / float64(size)
		}
		storeFloat64(y, yd)
		return []*onnx.Tensor{y}, nil
	}), nil
}

func globalPoolShapes(in []*onnx.Tensor, op string) (x, y *onnx.Tensor, err error) {
	x, err = input(in, 0, "X")
	if err != nil {
		return nil, nil, err
	}
	if !isFloat(x.DataType) {
		return nil, nil, fmt.Errorf("%s is not defined for %v", op, x.DataType)
	}
	if err := checkImage(x, 0); err != nil {
		return nil, nil, err
	}
	dims := append([]int64{}, x.Dims...)
	for i := 2; i < len(dims); i++ {
		dims[i] = 1
	}
	y, err = newTensor(x.DataType, dims)
	return x, y, err
}
