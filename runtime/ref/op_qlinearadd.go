package ref

import (
	"fmt"
	"math"

	"github.com/piresnet/piresnet/internal/onnx"
)

// QLinearAdd (com.microsoft, opset 1): C = (A_scale*(A - A_zero_point) +
// B_scale*(B - B_zero_point)) / C_scale + C_zero_point with numpy
// broadcasting; scales and zero points are scalars (zero points optional,
// 0); A, B and C share one type, int8 or uint8. Evaluated in float32 like
// ONNX Runtime's portable kernel (MlasQLinearAddKernelRawHelper):
//
//	a := float32(A_scale * float32(A - A_zero_point))
//	b := float32(B_scale * float32(B - B_zero_point))
//	c := clamp(float32(a + b) / C_scale, qmin - C_zero_point, qmax - C_zero_point)
//	C = round_half_even(c + float32(C_zero_point))
//
// ONNX Runtime's SIMD kernels reassociate this sum and may differ by one
// step where a value lies within float32 rounding of a half.
func buildQLinearAdd(n *onnx.Node, opset int64) (kernel, error) {
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		a, err := input(in, 0, "A")
		if err != nil {
			return nil, err
		}
		b, err := input(in, 3, "B")
		if err != nil {
			return nil, err
		}
		if !is8bit(a.DataType) || b.DataType != a.DataType {
			return nil, fmt.Errorf("A and B must share one type, int8 or uint8, got %v and %v", a.DataType, b.DataType)
		}
		as, az, err := scalarQuant(optional(in, 1), optional(in, 2), "A")
		if err != nil {
			return nil, err
		}
		bs, bz, err := scalarQuant(optional(in, 4), optional(in, 5), "B")
		if err != nil {
			return nil, err
		}
		cs, cz, err := scalarQuant(optional(in, 6), optional(in, 7), "C")
		if err != nil {
			return nil, err
		}
		for _, i := range []int{2, 5, 7} {
			if z := optional(in, i); z != nil && z.DataType != a.DataType {
				return nil, fmt.Errorf("zero point %d has type %v, A has %v", i, z.DataType, a.DataType)
			}
		}
		outDims, err := broadcastShape(a.Dims, b.Dims)
		if err != nil {
			return nil, err
		}
		av, _ := intData(a)
		bv, _ := intData(b)
		y, err := newTensor(a.DataType, outDims)
		if err != nil {
			return nil, err
		}
		lo, hi, _ := quantBounds(a.DataType)
		minV, maxV := float32(int32(lo)-cz), float32(int32(hi)-cz)
		forEachBroadcast(outDims, a.Dims, b.Dims, func(o, ia, ib, cnt, sa, sb int) {
			for k := 0; k < cnt; k++ {
				va := as * float32(av[ia+k*sa]-az)
				vb := bs * float32(bv[ib+k*sb]-bz)
				vc := float32(va+vb) / cs
				vc = min(max(vc, minV), maxV)
				r := math.RoundToEven(float64(vc + float32(cz)))
				storeInt(y, o+k, int64(r))
			}
		})
		return []*onnx.Tensor{y}, nil
	}), nil
}
