package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// Parameters of the quantized matrix products (MatMulInteger,
// QLinearMatMul) are per tensor (one value), per row of a [..., M, K]
// operand (a vector of M values, read as [M, 1], or a tensor [..., M, 1])
// or per column of a [..., K, N] operand (a vector of N values or a tensor
// [..., 1, N]); any other shape must broadcast numpy-style to the operand.

// paramDims returns the dims with which p broadcasts against an operand of
// dims op. row selects the per-row reading of a vector.
func paramDims(p *onnx.Tensor, op []int64, row bool, what string) ([]int64, error) {
	dims := p.Dims
	if p.Len() == 1 {
		return []int64{}, nil
	}
	if row && len(dims) == 1 && len(op) >= 2 && dims[0] == op[len(op)-2] {
		dims = []int64{dims[0], 1}
	}
	b, err := broadcastShape(op, dims)
	if err != nil || !equalDims(b, op) {
		return nil, fmt.Errorf("%s has dims %v, which do not fit an operand of dims %v", what, p.Dims, op)
	}
	return dims, nil
}

// matDims returns the operand dims of numpy.matmul after 1-D promotion.
func matDims(d []int64, isA bool) []int64 {
	if len(d) != 1 {
		return d
	}
	if isA {
		return []int64{1, d[0]}
	}
	return []int64{d[0], 1}
}

// shiftedInt32 returns x - zero (zero broadcast to x's dims) as int32.
func shiftedInt32(x, zero *onnx.Tensor, isA bool, what string) ([]int32, error) {
	xv, err := intData(x)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	out := make([]int32, len(xv))
	copy(out, xv)
	if zero == nil {
		return out, nil
	}
	if zero.DataType != x.DataType {
		return nil, fmt.Errorf("%s zero point has type %v, %s has %v", what, zero.DataType, what, x.DataType)
	}
	zv, err := intData(zero)
	if err != nil {
		return nil, err
	}
	op := matDims(x.Dims, isA)
	zd, err := paramDims(zero, op, isA, what+" zero point")
	if err != nil {
		return nil, err
	}
	zb := broadcastTo(zv, zd, op)
	for i := range out {
		out[i] -= zb[i]
	}
	return out, nil
}

// matmulInt32 is the exact int32 product of the shifted operands.
func matmulInt32(s matmulShape, a, b []int32) []int32 {
	c := make([]int32, prod(s.batch)*s.m*s.n)
	runGemms(matmulTasks(s, a, b, c))
	return c
}
