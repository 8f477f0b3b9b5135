package ref

import (
	"math"
)

// Pooling windows over N x C x D1 x ... tensors, one (n, c) plane at a
// time. A window at output position o covers, along axis a, the input
// positions o*s - pb + t*d for t = 0..k-1; positions outside [0, in) are
// padding.

type poolable interface {
	~int8 | ~uint8 | ~float32 | ~float64
}

// maxPoolPlanes computes max pooling of planes planes. idx, when not nil,
// receives the flattened index of each maximum (row-major, or column-major
// over the spatial axes when colMajor), offset by plane*inSize; a window
// with no input value gets lowest and index -1. NaN is never selected.
func maxPoolPlanes[T poolable](x, y []T, idx []int64, planes int, g geometry, lowest T, colMajor bool) {
	isz, osz := g.inSize(), g.outSize()
	r := len(g.in)
	// Strides of the flattened index.
	st := make([]int, r)
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
		var ip []int64
		if idx != nil {
			ip = idx[p*osz : (p+1)*osz]
		}
		if r == 2 && idx == nil {
			maxPool2D(xp, yp, g, lowest)
			return
		}
		o := make([]int, r)
		t := make([]int, r)
		for j := 0; j < osz; j++ {
			best, bi := lowest, -1
			found := false
			for a := range t {
				t[a] = 0
			}
			for {
				lin, fidx, inside := 0, 0, true
				for a := 0; a < r; a++ {
					i := o[a]*g.s[a] - g.pb[a] + t[a]*g.d[a]
					if uint(i) >= uint(g.in[a]) {
						inside = false
						break
					}
					lin = lin*g.in[a] + i
					fidx += i * st[a]
				}
				if inside {
					v := xp[lin]
					if v == v && (!found || v > best) {
						best, bi, found = v, fidx, true
					}
				}
				if !nextIndex(t, g.k) {
					break
				}
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
		row := y[oy*g.out[1] : (oy+1)*g.out[1]]
		for ox := range row {
			x0 := ox*g.s[1] - g.pb[1]
			best, found := lowest, false
			for ty := 0; ty < g.k[0]; ty++ {
				iy := y0 + ty*g.d[0]
				if uint(iy) >= uint(h) {
					continue
				}
				xr := x[iy*w : (iy+1)*w]
				for tx := 0; tx < g.k[1]; tx++ {
					ix := x0 + tx*g.d[1]
					if uint(ix) >= uint(w) {
						continue
					}
					v := xr[ix]
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
// number of window taps inside the input, or, with countPad, inside the
// padded input [-pb, in+pe) (taps of a ceil_mode window beyond the end
// padding never count, as in torch and the ONNX reference).
func avgPoolPlanes(x []float64, y []float64, planes int, g geometry, countPad bool) {
	isz, osz := g.inSize(), g.outSize()
	r := len(g.in)
	parallelJobs(planes, func(_, p int) {
		xp := x[p*isz : (p+1)*isz]
		yp := y[p*osz : (p+1)*osz]
		o := make([]int, r)
		t := make([]int, r)
		for j := 0; j < osz; j++ {
			sum, count, padded := 0.0, 0, 0
			for a := range t {
				t[a] = 0
			}
			for {
				lin, inside, inPad := 0, true, true
				for a := 0; a < r; a++ {
					i := o[a]*g.s[a] - g.pb[a] + t[a]*g.d[a]
					if i < -g.pb[a] || i >= g.in[a]+g.pe[a] {
						inPad = false
					}
					if uint(i) >= uint(g.in[a]) {
						inside = false
					}
					lin = lin*g.in[a] + i
				}
				if inPad {
					padded++
				}
				if inside {
					sum += xp[lin]
					count++
				}
				if !nextIndex(t, g.k) {
					break
				}
			}
			div := count
			if countPad {
				div = padded
			}
			if div == 0 {
				yp[j] = math.NaN()
			} else {
				yp[j] = sum / float64(div)
			}
			nextIndex(o, g.out)
		}
	})
}
