package ref

import (
	"fmt"
	"math"

	"github.com/piresnet/piresnet/internal/onnx"
)

// Slice (opsets 1, 10, 11, 13): takes data[starts:ends:steps] along axes.
// Before opset 10 starts, ends and axes are attributes (step 1); from
// opset 10 they are int32/int64 inputs with optional axes and steps.
// Negative starts and ends count from the end; they are then clamped to
// [0, dim] for positive steps and to [-1, dim-1] for negative steps, so
// ends such as INT64_MAX mean "to the end".
func buildSlice(n *onnx.Node, opset int64) (kernel, error) {
	r := attrs{n: n}
	aStarts, _ := r.ints("starts")
	aEnds, _ := r.ints("ends")
	aAxes, hasAxes := r.ints("axes")
	if opset < 10 && (aStarts == nil || aEnds == nil) {
		r.fail("attributes starts and ends are required")
	}
	if r.err != nil {
		return nil, r.err
	}
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		x, err := input(in, 0, "data")
		if err != nil {
			return nil, err
		}
		starts, ends, axes, steps := aStarts, aEnds, aAxes, []int64(nil)
		if !hasAxes {
			axes = nil
		}
		if opset >= 10 {
			read := func(i int, name string, required bool) ([]int64, error) {
				t := optional(in, i)
				if t == nil {
					if required {
						return nil, fmt.Errorf("missing input %d (%s)", i, name)
					}
					return nil, nil
				}
				if len(t.Dims) != 1 {
					return nil, fmt.Errorf("%s must be 1-D, got dims %v", name, t.Dims)
				}
				return int64Values(t, name)
			}
			if starts, err = read(1, "starts", true); err != nil {
				return nil, err
			}
			if ends, err = read(2, "ends", true); err != nil {
				return nil, err
			}
			if axes, err = read(3, "axes", false); err != nil {
				return nil, err
			}
			if steps, err = read(4, "steps", false); err != nil {
				return nil, err
			}
		}
		y, err := slice(x, starts, ends, axes, steps)
		if err != nil {
			return nil, err
		}
		return []*onnx.Tensor{y}, nil
	}), nil
}

func slice(x *onnx.Tensor, starts, ends, axes, steps []int64) (*onnx.Tensor, error) {
	rank := len(x.Dims)
	k := len(starts)
	if len(ends) != k || (axes != nil && len(axes) != k) || (steps != nil && len(steps) != k) {
		return nil, fmt.Errorf("starts, ends, axes and steps have different lengths (%d, %d, %d, %d)", k, len(ends), len(axes), len(steps))
	}
	start := make([]int64, rank)
	step := make([]int64, rank)
	count := make([]int64, rank)
	seen := make([]bool, rank)
	for a := 0; a < rank; a++ {
		step[a], count[a] = 1, x.Dims[a]
	}
	for i := 0; i < k; i++ {
		a := int64(i)
		if axes != nil {
			a = axes[i]
		}
		ax, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		if seen[ax] {
			return nil, fmt.Errorf("axis %d is sliced twice", ax)
		}
		seen[ax] = true
		st := int64(1)
		if steps != nil {
			st = steps[i]
		}
		if st == 0 {
			return nil, fmt.Errorf("step 0 on axis %d", ax)
		}
		if st == math.MinInt64 {
			st = -math.MaxInt64
		}
		dim := x.Dims[ax]
		s, e := starts[i], ends[i]
		if s < 0 {
			s += dim
		}
		if e < 0 {
			e += dim
		}
		var c int64
		if st > 0 {
			s = min(max(s, 0), dim)
			e = min(max(e, 0), dim)
			if e > s {
				c = (e - s + st - 1) / st
			}
		} else {
			s = min(max(s, -1), dim-1)
			e = min(max(e, -1), dim-1)
			if s > e {
				c = (s - e + (-st) - 1) / (-st)
			}
		}
		start[ax], step[ax], count[ax] = s, st, c
	}
	y, err := newTensor(x.DataType, count)
	if err != nil {
		return nil, err
	}
	n := y.Len()
	if n == 0 {
		return y, nil
	}
	// Source strides.
	stride := make([]int64, rank)
	s := int64(1)
	for a := rank - 1; a >= 0; a-- {
		stride[a] = s
		s *= x.Dims[a]
	}
	idx := make([]int, rank)
	for o := 0; o < n; o++ {
		src := int64(0)
		for a := 0; a < rank; a++ {
			src += (start[a] + int64(idx[a])*step[a]) * stride[a]
		}
		copyElems(y, o, x, int(src), 1)
		for a := rank - 1; a >= 0; a-- {
			idx[a]++
			if int64(idx[a]) < count[a] {
				break
			}
			idx[a] = 0
		}
	}
	return y, nil
}
