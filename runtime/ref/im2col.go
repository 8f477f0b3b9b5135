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

func (p *im2col2D[T]) packB(dst []T, k0, kc, j0, nc, nr int) {
	khw := p.kh * p.kw
	c, rem := k0/khw, k0%khw
	ky, kx := rem/p.kw, rem%p.kw
	oy0, ox0 := j0/p.ow, j0%p.ow
	plane := p.h * p.w
	strideK := kc * nr
	for q := 0; q < kc; q++ {
		src := p.x[c*plane : (c+1)*plane]
		dy, dx := ky*p.dh-p.ph, kx*p.dw-p.pw
		d := dst[q*nr:]
		// Walk the nc columns in pieces that stay within one output row
		// and one strip: element jj goes to d[off+lane].
		off, lane := 0, 0
		oy, ox := oy0, ox0
		for left := nc; left > 0; {
			n := min(left, p.ow-ox, nr-lane)
			seg := d[off+lane : off+lane+n]
			iy := oy*p.sh + dy
			if uint(iy) >= uint(p.h) {
				clear(seg)
			} else {
				row := src[iy*p.w : (iy+1)*p.w]
				ix := ox*p.sw + dx
				if p.sw == 1 && ix >= 0 && ix+n <= p.w {
					copy(seg, row[ix:ix+n])
				} else {
					for t := range seg {
						var v T
						if uint(ix) < uint(p.w) {
							v = row[ix]
						}
						seg[t] = v
						ix += p.sw
					}
				}
			}
			left -= n
			if lane += n; lane == nr {
				lane, off = 0, off+strideK
			}
			if ox += n; ox == p.ow {
				ox = 0
				oy++
			}
		}
		if lane != 0 {
			clear(d[off+lane : off+nr])
		}
		if kx++; kx == p.kw {
			kx = 0
			if ky++; ky == p.kh {
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

func (p *im2colND[T]) packB(dst []T, k0, kc, j0, nc, nr int) {
	g := p.g
	r := len(g.in)
	ksz := g.kSize()
	isz := g.inSize()
	kidx := make([]int, r)
	oidx := make([]int, r)
	strideK := kc * nr
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
		d := dst[q*nr:]
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
			d[(jj/nr)*strideK+jj%nr] = v
			for a := r - 1; a >= 0; a-- {
				oidx[a]++
				if oidx[a] < g.out[a] {
					break
				}
				oidx[a] = 0
			}
		}
		for jj := nc; jj%nr != 0; jj++ {
			d[(jj/nr)*strideK+jj%nr] = 0
		}
	}
}

// convTasks appends the GEMMs of a grouped convolution: for image i and
// group gi, Y[i, gi's channels] = W[gi's filters] (M/group x K) times the
// im2col matrix of X[i, gi's channels] (K x outSize), K = C/group * kSize.
// x is N x C x in..., w is M x C/group x k..., y is N x M x out....
// packed, when not nil, holds the weights of each group already packed
// (packConvWeights).
func convTasks[T number](tasks []gemmTask[T], x, w, y []T, batch, c, m, group int, g geometry, packed []*packedA[T]) []gemmTask[T] {
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
			t := gemmTask[T]{
				m: mg, n: osz, k: kdim,
				a: matrix[T]{w, gi * mg * kdim, kdim, 1},
				b: b,
				c: y[(i*m+gi*mg)*osz:], ldc: osz,
			}
			if packed != nil {
				t.packed = packed[gi]
			}
			tasks = append(tasks, t)
		}
	}
	return tasks
}

// packConvWeights packs the weights of each group for kernel k.
func packConvWeights[T number](w []T, m, group, kdim int, k gemmKernel[T]) []*packedA[T] {
	mg := m / group
	out := make([]*packedA[T], group)
	for gi := range out {
		out[gi] = packWholeA(matrix[T]{w, gi * mg * kdim, kdim, 1}, mg, kdim, k.mr)
	}
	return out
}
