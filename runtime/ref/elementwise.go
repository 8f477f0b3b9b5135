package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// Element-wise arithmetic on every numeric element type, with numpy
// broadcasting. Integer arithmetic wraps like C's fixed-width types (int16,
// uint16 and uint32 are stored widened and truncated back); float16 and
// bfloat16 are computed in float32 and rounded once, which is the correctly
// rounded result for one addition or multiplication (float32 holds more
// than twice their precision plus two bits).

type arithOp int

const (
	opAdd arithOp = iota
	opMul
)

func (op arithOp) String() string {
	if op == opAdd {
		return "Add"
	}
	return "Mul"
}

type arith interface {
	~float32 | ~float64 | ~int8 | ~int32 | ~int64 | ~uint8 | ~uint64
}

func binaryLoop[T arith](op arithOp, a, b, out []T, outDims, aDims, bDims []int64) {
	if equalDims(aDims, outDims) && equalDims(bDims, outDims) {
		// Same shapes (residual additions): split the work.
		parallelChunks(len(out), func(lo, hi int) {
			binaryRun(op, a[lo:hi], b[lo:hi], out[lo:hi], 1, 1)
		})
		return
	}
	forEachBroadcast(outDims, aDims, bDims, func(o, ia, ib, n, sa, sb int) {
		binaryRun(op, a[ia:], b[ib:], out[o:o+n], sa, sb)
	})
}

// binaryRun computes d[k] = a[k*sa] op b[k*sb] (a stride is 0 or 1 on
// broadcast runs, any value otherwise).
func binaryRun[T arith](op arithOp, a, b, d []T, sa, sb int) {
	n := len(d)
	switch {
	case sa == 1 && sb == 1:
		x, y := a[:n], b[:n]
		if op == opAdd {
			for k := range d {
				d[k] = x[k] + y[k]
			}
		} else {
			for k := range d {
				d[k] = x[k] * y[k]
			}
		}
	case sa == 1 && sb == 0:
		x, y := a[:n], b[0]
		if op == opAdd {
			for k := range d {
				d[k] = x[k] + y
			}
		} else {
			for k := range d {
				d[k] = x[k] * y
			}
		}
	default:
		for k := range d {
			x, y := a[k*sa], b[k*sb]
			if op == opAdd {
				d[k] = x + y
			} else {
				d[k] = x * y
			}
		}
	}
}

// binaryArith computes a op b with broadcasting.
func binaryArith(op arithOp, a, b *onnx.Tensor) (*onnx.Tensor, error) {
	if a.DataType != b.DataType {
		return nil, fmt.Errorf("inputs have types %v and %v, want the same", a.DataType, b.DataType)
	}
	outDims, err := broadcastShape(a.Dims, b.Dims)
	if err != nil {
		return nil, err
	}
	out, err := newTensor(a.DataType, outDims)
	if err != nil {
		return nil, err
	}
	switch a.DataType {
	case onnx.Float:
		binaryLoop(op, a.F32, b.F32, out.F32, outDims, a.Dims, b.Dims)
	case onnx.Double:
		binaryLoop(op, a.F64, b.F64, out.F64, outDims, a.Dims, b.Dims)
	case onnx.Int8:
		binaryLoop(op, a.I8, b.I8, out.I8, outDims, a.Dims, b.Dims)
	case onnx.Uint8:
		binaryLoop(op, a.U8, b.U8, out.U8, outDims, a.Dims, b.Dims)
	case onnx.Int32:
		binaryLoop(op, a.I32, b.I32, out.I32, outDims, a.Dims, b.Dims)
	case onnx.Int16:
		binaryLoop(op, a.I32, b.I32, out.I32, outDims, a.Dims, b.Dims)
		for i, v := range out.I32 {
			out.I32[i] = int32(int16(v))
		}
	case onnx.Uint16:
		binaryLoop(op, a.I32, b.I32, out.I32, outDims, a.Dims, b.Dims)
		for i, v := range out.I32 {
			out.I32[i] = int32(uint16(v))
		}
	case onnx.Int64:
		binaryLoop(op, a.I64, b.I64, out.I64, outDims, a.Dims, b.Dims)
	case onnx.Uint64:
		binaryLoop(op, a.U64, b.U64, out.U64, outDims, a.Dims, b.Dims)
	case onnx.Uint32:
		binaryLoop(op, a.U64, b.U64, out.U64, outDims, a.Dims, b.Dims)
		for i, v := range out.U64 {
			out.U64[i] = uint64(uint32(v))
		}
	case onnx.Float16, onnx.BFloat16:
		x, _ := a.Float32s()
		y, _ := b.Float32s()
		r := make([]float32, len(out.U16))
		binaryLoop(op, x, y, r, outDims, a.Dims, b.Dims)
		fromFloat32(out, r)
	default:
		return nil, fmt.Errorf("%v is not defined for %v", op, a.DataType)
	}
	return out, nil
}

// fromFloat32 stores float32 values into a float16 or bfloat16 tensor,
// rounding to nearest even.
func fromFloat32(t *onnx.Tensor, v []float32) {
	for i, f := range v {
		if t.DataType == onnx.Float16 {
			t.U16[i] = onnx.Float32ToHalf(f)
		} else {
			t.U16[i] = bfloat16FromFloat32(f)
		}
	}
}

// legacyBroadcast implements the broadcast attribute of Add and Mul before
// opset 7: with broadcast=1, B's shape must equal a contiguous run of A's
// dimensions starting at axis (by default the trailing ones), and B is
// repeated over the others; with broadcast=0 the shapes must be equal.
func legacyBroadcast(a, b *onnx.Tensor, broadcast, axis int64, hasAxis bool) (*onnx.Tensor, error) {
	if broadcast == 0 {
		if !equalDims(a.Dims, b.Dims) {
			return nil, fmt.Errorf("shapes %v and %v differ and broadcast is 0", a.Dims, b.Dims)
		}
		return b, nil
	}
	ra, rb := len(a.Dims), len(b.Dims)
	if rb == 1 && b.Dims[0] == 1 || rb == 0 {
		return b, nil // a scalar broadcasts to anything
	}
	start := ra - rb
	if hasAxis {
		ax, err := normAxis(axis, ra)
		if err != nil {
			return nil, err
		}
		start = ax
	}
	if start < 0 || start+rb > ra {
		return nil, fmt.Errorf("B's shape %v does not fit A's shape %v at axis %d", b.Dims, a.Dims, start)
	}
	dims := make([]int64, ra)
	for i := range dims {
		dims[i] = 1
	}
	for i, d := range b.Dims {
		if d != a.Dims[start+i] {
			return nil, fmt.Errorf("B's shape %v does not match A's shape %v at axis %d", b.Dims, a.Dims, start)
		}
		dims[start+i] = d
	}
	v := *b
	v.Dims = dims
	return &v, nil
}

func equalDims(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func buildArith(op arithOp) builder {
	return func(n *onnx.Node, opset int64) (kernel, error) {
		r := attrs{n: n}
		broadcast := r.int("broadcast", 0)
		axis := r.int("axis", 0)
		hasAxis := r.has("axis")
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
			if opset < 7 {
				if b, err = legacyBroadcast(a, b, broadcast, axis, hasAxis); err != nil {
					return nil, err
				}
			}
			y, err := binaryArith(op, a, b)
			if err != nil {
				return nil, err
			}
			return []*onnx.Tensor{y}, nil
		}), nil
	}
}

// mapFloat applies f to every element of a float tensor of any precision
// (float16 and bfloat16 through float32, rounded back once).
func mapFloat(x *onnx.Tensor, f32 func(float32) float32, f64 func(float64) float64) (*onnx.Tensor, error) {
	out, err := newTensor(x.DataType, x.Dims)
	if err != nil {
		return nil, err
	}
	switch x.DataType {
	case onnx.Float:
		for i, v := range x.F32 {
			out.F32[i] = f32(v)
		}
	case onnx.Double:
		for i, v := range x.F64 {
			out.F64[i] = f64(v)
		}
	case onnx.Float16, onnx.BFloat16:
		v, _ := x.Float32s()
		for i := range v {
			v[i] = f32(v[i])
		}
		fromFloat32(out, v)
	default:
		return nil, fmt.Errorf("element type %v is not a float type", x.DataType)
	}
	return out, nil
}
