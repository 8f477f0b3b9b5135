package ref

import (
	"fmt"
	"slices"
)

// broadcastShape returns the shape of numpy-style multidirectional
// broadcasting of the given shapes.
func broadcastShape(shapes ...[]int64) ([]int64, error) {
	rank := 0
	for _, s := range shapes {
		rank = max(rank, len(s))
	}
	out := make([]int64, rank)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		off := rank - len(s)
		for i, d := range s {
			o := &out[off+i]
			switch {
			case d == *o || d == 1:
			case *o == 1:
				*o = d
			default:
				return nil, fmt.Errorf("shapes %v cannot be broadcast together", shapes)
			}
		}
	}
	return out, nil
}

// broadcastStrides returns, for a tensor of shape dims broadcast to out, the
// element stride of each output axis (0 along broadcast axes).
func broadcastStrides(dims, out []int64) []int {
	st := make([]int, len(out))
	off := len(out) - len(dims)
	stride := 1
	for i := len(dims) - 1; i >= 0; i-- {
		if dims[i] != 1 {
			st[off+i] = stride
		}
		stride *= int(dims[i])
	}
	return st
}

// forEachBroadcast calls fn(o, ia, ib, n, sa, sb) for runs of n output
// elements starting at output index o, where input a starts at ia with step
// sa and b at ib with step sb. The runs follow the innermost output axis.
func forEachBroadcast(out, aDims, bDims []int64, fn func(o, ia, ib, n, sa, sb int)) {
	total := prod(out)
	if total == 0 {
		return
	}
	if len(out) == 0 {
		fn(0, 0, 0, 1, 0, 0)
		return
	}
	if slices.Equal(aDims, out) && slices.Equal(bDims, out) {
		fn(0, 0, 0, total, 1, 1)
		return
	}
	sa := broadcastStrides(aDims, out)
	sb := broadcastStrides(bDims, out)
	r := len(out)
	inner := int(out[r-1])
	idx := make([]int, r)
	ia, ib := 0, 0
	for o := 0; o < total; o += inner {
		fn(o, ia, ib, inner, sa[r-1], sb[r-1])
		// Advance the odometer over the outer axes.
		for ax := r - 2; ax >= 0; ax-- {
			idx[ax]++
			ia += sa[ax]
			ib += sb[ax]
			if idx[ax] < int(out[ax]) {
				break
			}
			ia -= sa[ax] * idx[ax]
			ib -= sb[ax] * idx[ax]
			idx[ax] = 0
		}
	}
}

// broadcastTo copies src (shape dims) into a new slice of shape out.
func broadcastTo[T any](src []T, dims, out []int64) []T {
	dst := make([]T, prod(out))
	forEachBroadcast(out, dims, dims, func(o, ia, _, n, sa, _ int) {
		if sa == 1 {
			copy(dst[o:o+n], src[ia:ia+n])
			return
		}
		for k := 0; k < n; k++ {
			dst[o+k] = src[ia+k*sa]
		}
	})
	return dst
}
