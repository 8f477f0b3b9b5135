package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// Gemm (opsets 1, 6, 7, 9, 11, 13): Y = alpha * A' * B' + beta * C with A'
// = transpose(A) if transA, B' likewise; C broadcasts to [M, N]
// (unidirectionally; before opset 7 only with broadcast=1, else it must be
// [M, N]) and is optional from opset 11. Float types; the product is a
// float32 GEMM (float64 for double) and the epilogue is
// float(alpha*p) + float(beta*c), as the ONNX reference evaluates it.
func buildGemm(n *onnx.Node, opset int64) (kernel, error) {
	r := attrs{n: n}
	alpha := r.float("alpha", 1)
	beta := r.float("beta", 1)
	transA := r.int("transA", 0) != 0
	transB := r.int("transB", 0) != 0
	broadcast := r.int("broadcast", 0) != 0
	if r.err != nil {
		return nil, r.err
	}
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		a, err := input(in, 0, "A")
		if err != nil {
			return nil, err
		}
		b, err := input(in, 1, "B")
		if err != nil {
			return nil, err
		}
		c := optional(in, 2)
		if c == nil && opset < 11 {
			return nil, fmt.Errorf("missing input 2 (C), optional only from opset 11")
		}
		if !isFloat(a.DataType) || b.DataType != a.DataType || (c != nil && c.DataType != a.DataType) {
			return nil, fmt.Errorf("inputs must share one float type, got A %v, B %v%s", a.DataType, b.DataType, biasType(c))
		}
		if len(a.Dims) != 2 || len(b.Dims) != 2 {
			return nil, fmt.Errorf("A and B must be 2-D, got %v and %v", a.Dims, b.Dims)
		}
		m, k := int(a.Dims[0]), int(a.Dims[1])
		am := matrixView(k, 1)
		if transA {
			m, k = k, m
			am = matrixView(1, m)
		}
		kb, nn := int(b.Dims[0]), int(b.Dims[1])
		bm := matrixView(nn, 1)
		if transB {
			kb, nn = nn, kb
			bm = matrixView(1, kb)
		}
		if kb != k {
			return nil, fmt.Errorf("A' is %dx%d and B' is %dx%d: inner sizes differ", m, k, kb, nn)
		}
		outDims := []int64{int64(m), int64(nn)}
		if c != nil {
			if opset < 7 && !broadcast && !equalDims(c.Dims, outDims) {
				return nil, fmt.Errorf("C has dims %v, want %v (broadcast is 0)", c.Dims, outDims)
			}
			bs, err := broadcastShape(outDims, c.Dims)
			if err != nil || !equalDims(bs, outDims) {
				return nil, fmt.Errorf("C with dims %v does not broadcast to %v", c.Dims, outDims)
			}
		}
		y, err := newTensor(a.DataType, outDims)
		if err != nil {
			return nil, err
		}
		switch a.DataType {
		case onnx.Float:
			var cv []float32
			if c != nil {
				cv = c.F32
			}
			gemmOp(a.F32, b.F32, cv, y.F32, m, nn, k, am, bm, alpha, beta, outDims, c)
		case onnx.Double:
			var cv []float64
			if c != nil {
				cv = c.F64
			}
			gemmOp(a.F64, b.F64, cv, y.F64, m, nn, k, am, bm, alpha, beta, outDims, c)
		default:
			af, _ := a.Float32s()
			bf, _ := b.Float32s()
			var cv []float32
			if c != nil {
				cv, _ = c.Float32s()
			}
			yf := make([]float32, y.Len())
			gemmOp(af, bf, cv, yf, m, nn, k, am, bm, alpha, beta, outDims, c)
			fromFloat32(y, yf)
		}
		return []*onnx.Tensor{y}, nil
	}), nil
}

// stride pair of a matrix view.
type strides struct{ rs, cs int }

func matrixView(rs, cs int) strides { return strides{rs, cs} }

func gemmOp[T float32 | float64](a, b, c, y []T, m, n, k int, as, bs strides, alpha, beta float32, outDims []int64, ct *onnx.Tensor) {
	runGemms([]gemmTask[T]{{
		m: m, n: n, k: k,
		a: matrix[T]{a, 0, as.rs, as.cs},
		b: densePacker[T]{matrix[T]{b, 0, bs.rs, bs.cs}},
		c: y, ldc: n,
	}})
	al, be := T(alpha), T(beta)
	if c == nil {
		if al != 1 {
			for i := range y {
				y[i] = T(al * y[i])
			}
		}
		return
	}
	cb := broadcastTo(c, ct.Dims, outDims)
	for i := range y {
		y[i] = T(al*y[i]) + T(be*cb[i])
	}
}
