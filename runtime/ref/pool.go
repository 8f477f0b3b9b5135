package ref

import (
	"math"
)

// Pooling windows over N x C x D1 x ... tensors, one (n, c) plane at a
// time. The window at output position o covers, along axis a, the positions
// o*s - pb + t*d for taps t = 0..k-1; positions outside [0, in) are padding.
// Only the taps inside the input are visited, so the work is bounded by the
// input, whatever the kernel and pads claim.

type poolable interface {
	~int8 | ~uint8 | ~float32 | ~float64
}

// tapRange returns the taps [lo, hi) of a window starting at start whose
// positions start + t*d lie in [from, to).
func tapRange(start, from, to, k, d int) (lo, hi int) {
	lo = 0
	if start < from {
		lo = (from - start + d - 1) / d
	}
	if to <= start {
		return lo, lo
	}
	hi = min(k, (to-start-1)/d+1)
	return lo, max(hi, lo)
}

// window is the box of taps of one output position inside the input.
type window struct {
	start, lo, hi []int
}

func newWindow(r int) window {
	return window{make([]int, r), make([]int, r), make([]int, r)}
}

// set places the window at output position o and returns whether it holds
// any input position.
func (w *window) set(g geometry, o []int) bool {
	any := true
	for a := range o {
		w.start[a] = o[a]*g.s[a] - g.pb[a]
		w.lo[a], w.hi[a] = tapRange(w.start[a], 0, g.in[a], g.k[a], g.d[a])
		any = any && w.lo[a] < w.hi[a]
	}
	return any
}

// paddedCount is the number of taps inside the padded input [-pb, in+pe).
func paddedCount(g geometry, start []int) int {
	n := 1
	for a := range start {
		lo, hi := tapRange(start[a], -g.pb[a], g.in[a]+g.pe[a], g.k[a], g.d[a])
		n *= hi - lo
	}
	return n
}

// visit calls fn(lin, idx) for every input position of the window, in
// row-major tap order; lin is the row-major offset in the plane and idx the
// spatial index.
func (w *window) visit(g geometry, t, idx []int, fn func(lin int, idx []int)) {
	r := len(t)
	copy(t, w.lo)
	for {
		lin := 0
		for a := 0; a < r; a++ {
			idx[a] = w.start[a] + t[a]*g.d[a]
			lin = lin*g.in[a] + idx[a]
		}
		fn(lin, idx)
		a := r - 1
		for ; a >= 0; a-- {
			t[a]++
			if t[a] < w.hi[a] {
				break
			}
			t[a] = w.lo[a]
		}
		if a < 0 {
			return
		}
	}
}

// maxPoolPlanes computes max pooling of planes planes. idx, when not nil,
// receives the flattened index of each maximum (row-major, or column-major
// over the spatial axes when colMajor), offset by plane*inSize; a window
// with no input value gets lowest and index -1. NaN is never selected; ties
// keep the first maximum in window order.
func maxPoolPlanes[T poolable](x, y []T, idx []int64, planes int, g geometry, lowest T, colMajor bool) {
	isz, osz := g.inSize(), g.outSize()
	r := len(g.in)
	st := make([]int, r) // strides of the flattened index
	s := 1
	if colMajor {
		for a := 0; a < r; a++ {
			st[a] = s
			s *= g.in[a]
		}
	} else {
		for a := r - 1; a >= 0; a-- {
			st[a] = s
			s *= g.in[a]
		}
	}
	parallelJobs(planes, func(_, p int) {
		xp := x[p*isz : (p+1)*isz]
		yp := y[p*osz : (p+1)*osz]
		if r == 2 && idx == nil {
			maxPool2D(xp, yp, g, lowest)
			return
		}
		var ip []int64
		if idx != nil {
			ip = idx[p*osz : (p+1)*osz]
		}
		o, t, sp := make([]int, r), make([]int, r), make([]int, r)
		w := newWindow(r)
		for j := 0; j < osz; j++ {
			best, bi, found := lowest, -1, false
			if w.set(g, o) {
				w.visit(g, t, sp, func(lin int, sp []int) {
					v := xp[lin]
					if v == v && (!found || v > best) {
						best, found = v, true
						bi = 0
						for a := range sp {
							bi += sp[a] * st[a]
						}
					}
				})
			}
			yp[j] = best
			if ip != nil {
				if bi < 0 {
					ip[j] = -1
				} else {
					ip[j] = int64(p*isz + bi)
				}
			}
			nextIndex(o, g.out)
		}
	})
}

// nextIndex advances an odometer over the box dims; false when it wraps.
func nextIndex(idx, dims []int) bool {
	for a := len(idx) - 1; a >= 0; a-- {
		idx[a]++
		if idx[a] < dims[a] {
			return true
		}
		idx[a] = 0
	}
	return false
}

func maxPool2D[T poolable](x, y []T, g geometry, lowest T) {
	h, w := g.in[0], g.in[1]
	for oy := 0; oy < g.out[0]; oy++ {
		y0 := oy*g.s[0] - g.pb[0]
		tylo, tyhi := tapRange(y0, 0, h, g.k[0], g.d[0])
		row := y[oy*g.out[1] : (oy+1)*g.out[1]]
		for ox := range row {
			x0 := ox*g.s[1] - g.pb[1]
			txlo, txhi := tapRange(x0, 0, w, g.k[1], g.d[1])
			best, found := lowest, false
			for ty := tylo; ty < tyhi; ty++ {
				xr := x[(y0+ty*g.d[0])*w : (y0+ty*g.d[0]+1)*w]
				for tx := txlo; tx < txhi; tx++ {
					v := xr[x0+tx*g.d[1]]
					if v == v && (!found || v > best) {
						best, found = v, true
					}
				}
			}
			row[ox] = best
		}
	}
}

// avgPoolPlanes computes average pooling in float64. The divisor is the
// number of taps inside the input, or, with countPad, inside the padded
// input [-pb, in+pe) (taps of a ceil_mode window past the end padding never
// count, as in torch and the ONNX reference). A window with no tap to count
// gives NaN.
func avgPoolPlanes(x []float64, y []float64, planes int, g geometry, countPad bool) {
	isz, osz := g.inSize(), g.outSize()
	r := len(g.in)
	parallelJobs(planes, func(_, p int) {
		xp := x[p*isz : (p+1)*isz]
		yp := y[p*osz : (p+1)*osz]
		o, t, sp := make([]int, r), make([]int, r), make([]int, r)
		w := newWindow(r)
		for j := 0; j < osz; j++ {
			sum, count := 0.0, 0
			if w.set(g, o) {
				w.visit(g, t, sp, func(lin int, _ []int) {
					sum += xp[lin]
					count++
				})
			}
			if countPad {
				count = paddedCount(g, w.start)
			}
			if count == 0 {
				yp[j] = math.NaN()
			} else {
				yp[j] = sum / float64(count)
			}
			nextIndex(o, g.out)
		}
	})
}
