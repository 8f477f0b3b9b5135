package ref

// im2col packers: they feed the GEMM the matrix whose column j holds the
// input values under the kernel window of output position j (rows ordered
// channel, then kernel offsets in row-major order, matching the weight
// layout M x C/group x k1 x k2 ...), with zeros where the window covers
// padding. The matrix is never materialized: the packer writes panels of it
// straight into the GEMM's packed-B buffer.

// im2col2D packs the im2col matrix of one image and one group for 1-D and
// 2-D convolution (1-D is 2-D with a height of 1).
type im2col2D[T number] struct {
	x                      []T // the group's first channel plane onwards
	h, w                   int
	kh, kw, sh, sw, dh, dw int
	ph, pw                 int
	ow                     int
}

func (p *im2col2D[T]) packB(dst []T, k0, kc, j0, nc int) {
	khw := p.kh * p.kw
	c, rem := k0/khw, k0%khw
	ky, kx := rem/p.kw, rem%p.kw
	oy0, ox0 := j0/p.ow, j0%p.ow
	plane := p.h * p.w
	strideK := kc * gemmNR
	for q := 0; q < kc; q++ {
		base := c * plane
		dy, dx := ky*p.dh-p.ph, kx*p.dw-p.pw
		oy, ox := oy0, ox0
		d := dst[q*gemmNR:]
		for jj := 0; jj < nc; jj++ {
			iy, ix := oy*p.sh+dy, ox*p.sw+dx
			var v T
			if uint(iy) < uint(p.h) && uint(ix) < uint(p.w) {
				v = p.x[base+iy*p.w+ix]
			}
			d[(jj/gemmNR)*strideK+jj%gemmNR] = v
			ox++
			if ox == p.ow {
				ox = 0
				oy++
			}
		}
		for jj := nc; jj%gemmNR != 0; jj++ {
			d[(jj/gemmNR)*strideK+jj%gemmNR] = 0
		}
		kx++
		if kx == p.kw {
			kx = 0
			ky++
			if ky == p.kh {
				ky = 0
				c++
			}
		}
	}
}

// im2colND packs the im2col matrix for any number of spatial axes (used for
// 3-D and beyond).
type im2colND[T number] struct {
	x []T
	g geometry
}

func (p *im2colND[T]) packB(dst []T, k0, kc, j0, nc int) {
	g := p.g
	r := len(g.in)
	ksz := g.kSize()
	isz := g.inSize()
	kidx := make([]int, r)
	oidx := make([]int, r)
	strideK := kc * gemmNR
	for q := 0; q < kc; q++ {
		k := k0 + q
		c, rem := k/ksz, k%ksz
		for a := r - 1; a >= 0; a-- {
			kidx[a] = rem % g.k[a]
			rem /= g.k[a]
		}
		rem = j0
		for a := r - 1; a >= 0; a-- {
			oidx[a] = rem % g.out[a]
			rem /= g.out[a]
		}
		d := dst[q*gemmNR:]
		for jj := 0; jj < nc; jj++ {
			lin, inside := 0, true
			for a := 0; a < r; a++ {
				i := oidx[a]*g.s[a] - g.pb[a] + kidx[a]*g.d[a]
				if uint(i) >= uint(g.in[a]) {
					inside = false
					break
				}
				lin = lin*g.in[a] + i
			}
			var v T
			if inside {
				v = p.x[c*isz+lin]
			}
			d[(jj/gemmNR)*strideK+jj%gemmNR] = v
			for a := r - 1; a >= 0; a-- {
				oidx[a]++
				if oidx[a] < g.out[a] {
					break
				}
				oidx[a] = 0
			}
		}
		for jj := nc; jj%gemmNR != 0; jj++ {
			d[(jj/gemmNR)*strideK+jj%gemmNR] = 0
		}
	}
}

// convTasks appends the GEMMs of a grouped convolution: for image i and
// group gi, Y[i, gi's channels] = W[gi's filters] (M/group x K) times the
// im2col matrix of X[i, gi's channels] (K x outSize), K = C/group * kSize.
// x is N x C x in..., w is M x C/group x k..., y is N x M x out....
func convTasks[T number](tasks []gemmTask[T], x, w, y []T, batch, c, m, group int, g geometry) []gemmTask[T] {
	cg, mg := c/group, m/group
	kdim := cg * g.kSize()
	isz, osz := g.inSize(), g.outSize()
	pointwise := true
	for a := range g.k {
		pointwise = pointwise && g.k[a] == 1 && g.s[a] == 1 && g.pb[a] == 0 && g.pe[a] == 0
	}
	for i := 0; i < batch; i++ {
		for gi := 0; gi < group; gi++ {
			xoff := (i*c + gi*cg) * isz
			var b bPacker[T]
			switch {
			case pointwise:
				b = densePacker[T]{matrix[T]{x, xoff, isz, 1}}
			case len(g.in) <= 2:
				p := &im2col2D[T]{x: x[xoff : xoff+cg*isz], h: 1, w: g.in[0], kh: 1, kw: g.k[0],
					sh: 1, sw: g.s[0], dh: 1, dw: g.d[0], pw: g.pb[0], ow: g.out[0]}
				if len(g.in) == 2 {
					p.h, p.w, p.kh, p.kw = g.in[0], g.in[1], g.k[0], g.k[1]
					p.sh, p.sw, p.dh, p.dw = g.s[0], g.s[1], g.d[0], g.d[1]
					p.ph, p.pw, p.ow = g.pb[0], g.pb[1], g.out[1]
				}
				b = p
			default:
				b = &im2colND[T]{x: x[xoff : xoff+cg*isz], g: g}
			}
			tasks = append(tasks, gemmTask[T]{
				m: mg, n: osz, k: kdim,
				a: matrix[T]{w, gi * mg * kdim, kdim, 1},
				b: b,
				c: y[(i*m+gi*mg)*osz:], ldc: osz,
			})
		}
	}
	return tasks
}
