package ref

// Blocked, packed matrix multiplication (the layout of Goto and van de
// Geijn, "Anatomy of High-Performance Matrix Multiplication", 2008): B is
// packed in panels of kc rows by nc columns cut into strips of nr columns, A
// once, whole, in blocks of kc columns cut into strips of mr rows, and a
// register-blocked micro-kernel (gemm_kernels.go) computes one mr x nr tile
// of C from one strip of each. gemmRef in gemm_ref.go is the plain triple
// loop every kernel is tested bit-exact against: the summation order of an
// element does not depend on the tile shape, only on the gemmKC blocking.

// number is the element type of the matrix kernels: float32 for the float
// operators (float64 for double tensors), int32 (wrapping, like ONNX's int32
// accumulators) for the integer ones.
type number interface{ ~float32 | ~float64 | ~int32 }

const (
	gemmKC = 256 // depth of a packed panel
	gemmMC = 120 // rows of a packed block of A (a multiple of every mr)
	gemmNC = 512 // columns of a packed panel of B (a multiple of every nr)
)

// matrix is a strided view of a row-major or transposed matrix:
// element (i, j) is data[off + i*rs + j*cs].
type matrix[T number] struct {
	data   []T
	off    int
	rs, cs int
}

func (m matrix[T]) at(i, j int) T { return m.data[m.off+i*m.rs+j*m.cs] }

// bPacker writes rows k0..k0+kc-1 and columns j0..j0+nc-1 of a B operand
// into dst as strips of nr columns: element (k0+p, j0+s*nr+jj) goes to
// dst[s*kc*nr + p*nr + jj]. Columns past nc in the last strip are zero. A
// packer is how convolution feeds its im2col matrix to the GEMM without
// materializing it.
type bPacker[T number] interface {
	packB(dst []T, k0, kc, j0, nc, nr int)
}

// densePacker packs a strided matrix.
type densePacker[T number] struct{ m matrix[T] }

func (d densePacker[T]) packB(dst []T, k0, kc, j0, nc, nr int) {
	m := d.m
	for s := 0; s*nr < nc; s++ {
		width := min(nr, nc-s*nr)
		strip := dst[s*kc*nr : (s+1)*kc*nr]
		jb := j0 + s*nr
		for p := 0; p < kc; p++ {
			row := strip[p*nr : p*nr+nr]
			base := m.off + (k0+p)*m.rs + jb*m.cs
			if m.cs == 1 {
				copy(row, m.data[base:base+width])
			} else {
				for jj := 0; jj < width; jj++ {
					row[jj] = m.data[base+jj*m.cs]
				}
			}
			clear(row[width:])
		}
	}
}

// packA writes rows i0..i0+mc-1 and columns k0..k0+kc-1 of a into dst as
// strips of mr rows: element (i0+s*mr+ii, k0+p) goes to
// dst[s*kc*mr + p*mr + ii]; rows past mc are zero.
func packA[T number](dst []T, a matrix[T], i0, mc, k0, kc, mr int) {
	for s := 0; s*mr < mc; s++ {
		height := min(mr, mc-s*mr)
		strip := dst[s*kc*mr : (s+1)*kc*mr]
		ib := i0 + s*mr
		for ii := 0; ii < mr; ii++ {
			if ii >= height {
				for p := 0; p < kc; p++ {
					strip[p*mr+ii] = 0
				}
				continue
			}
			base := a.off + (ib+ii)*a.rs + k0*a.cs
			if a.cs == 1 {
				for p, v := range a.data[base : base+kc] {
					strip[p*mr+ii] = v
				}
				continue
			}
			for p := 0; p < kc; p++ {
				strip[p*mr+ii] = a.data[base+p*a.cs]
			}
		}
	}
}

// gemmBuffers are one worker's buffers for one micro-kernel: a packed panel
// of B and an edge tile.
type gemmBuffers[T number] struct {
	k    gemmKernel[T]
	b    []T
	tile []T
}

func newGemmBuffers[T number](k gemmKernel[T]) *gemmBuffers[T] {
	return &gemmBuffers[T]{
		k:    k,
		b:    make([]T, roundUp(gemmNC, k.nr)*gemmKC),
		tile: make([]T, k.mr*k.nr),
	}
}

// packedA is a whole A operand packed for one kernel: block by block of
// gemmKC columns, the strips of mr rows of that block (kc*mr values each).
// Packing A once per product, or once per model for constant weights, keeps
// it out of the inner loops.
type packedA[T number] struct {
	mr, m, k int
	rows     int // m rounded up to mr
	data     []T
}

func packWholeA[T number](a matrix[T], m, k, mr int) *packedA[T] {
	p := &packedA[T]{mr: mr, m: m, k: k, rows: roundUp(m, mr)}
	p.data = make([]T, p.rows*k)
	for pc := 0; pc < k; pc += gemmKC {
		packA(p.data[pc*p.rows:], a, 0, m, pc, min(gemmKC, k-pc), mr)
	}
	return p
}

// strips returns the strips of the block of columns pc.. (kc wide) from
// row i0 (a multiple of mr) on.
func (p *packedA[T]) strips(pc, kc, i0 int) []T {
	return p.data[pc*p.rows+(i0/p.mr)*kc*p.mr:]
}

// gemmRange computes C[i0:i1, j0:j1] = A[i0:i1, 0:k] * B[0:k, j0:j1] (adding
// to C when accumulate is set), with A packed for buf's kernel and i0 a
// multiple of its mr. c is row-major with leading dimension ldc.
func gemmRange[T number](i0, i1, j0, j1 int, a *packedA[T], b bPacker[T], c []T, ldc int, accumulate bool, buf *gemmBuffers[T]) {
	if !accumulate {
		for i := i0; i < i1; i++ {
			clear(c[i*ldc+j0 : i*ldc+j1])
		}
	}
	k := a.k
	if k == 0 {
		return
	}
	nr := buf.k.nr
	for jc := j0; jc < j1; jc += gemmNC {
		nc := min(gemmNC, j1-jc)
		for pc := 0; pc < k; pc += gemmKC {
			kc := min(gemmKC, k-pc)
			b.packB(buf.b, pc, kc, jc, nc, nr)
			for ic := i0; ic < i1; ic += gemmMC {
				mc := min(gemmMC, i1-ic)
				macroKernel(mc, nc, kc, a.strips(pc, kc, ic), buf, c[ic*ldc+jc:], ldc)
			}
		}
	}
}

// macroKernel multiplies a packed mc x kc block of A by a packed kc x nc
// panel of B and adds the product to c.
func macroKernel[T number](mc, nc, kc int, pa []T, buf *gemmBuffers[T], c []T, ldc int) {
	mr, nr, kern := buf.k.mr, buf.k.nr, buf.k.fn
	for jr := 0; jr < nc; jr += nr {
		w := min(nr, nc-jr)
		bs := buf.b[(jr/nr)*kc*nr : (jr/nr+1)*kc*nr]
		for ir := 0; ir < mc; ir += mr {
			h := min(mr, mc-ir)
			as := pa[(ir/mr)*kc*mr : (ir/mr+1)*kc*mr]
			if h == mr && w == nr {
				kern(kc, as, bs, c[ir*ldc+jr:], ldc)
				continue
			}
			t := buf.tile
			clear(t)
			kern(kc, as, bs, t, nr)
			for i := 0; i < h; i++ {
				row := c[(ir+i)*ldc+jr : (ir+i)*ldc+jr+w]
				for j := range row {
					row[j] += t[i*nr+j]
				}
			}
		}
	}
}
