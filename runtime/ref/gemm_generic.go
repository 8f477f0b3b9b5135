package ref

// Blocked, packed matrix multiplication in portable Go (the layout of
// Goto and van de Geijn, "Anatomy of High-Performance Matrix
// Multiplication", 2008): B is packed in panels of kc rows by nc columns cut
// into strips of gemmNR columns, A in blocks of mc rows by kc columns cut
// into strips of gemmMR rows, and a register-blocked micro-kernel computes
// one gemmMR x gemmNR tile of C from one strip of each. gemmRef in
// gemm_ref.go is the plain triple loop every path is tested against.

// number is the element type of the matrix kernels: float32 for the float
// operators (float64 for double tensors), int32 (wrapping, like ONNX's int32
// accumulators) for the integer ones.
type number interface{ ~float32 | ~float64 | ~int32 }

const (
	gemmMR = 2   // rows of the micro-tile
	gemmNR = 4   // columns of the micro-tile
	gemmKC = 256 // depth of a packed panel
	gemmMC = 128 // rows of a packed block of A (a multiple of gemmMR)
	gemmNC = 512 // columns of a packed panel of B (a multiple of gemmNR)
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
// into dst as strips of gemmNR columns: element (k0+p, j0+s*gemmNR+jj) goes
// to dst[s*kc*gemmNR + p*gemmNR + jj]. Columns past nc in the last strip are
// zero. A packer is how convolution feeds its im2col matrix to the GEMM
// without materializing it.
type bPacker[T number] interface {
	packB(dst []T, k0, kc, j0, nc int)
}

// densePacker packs a strided matrix.
type densePacker[T number] struct{ m matrix[T] }

func (d densePacker[T]) packB(dst []T, k0, kc, j0, nc int) {
	m := d.m
	for s := 0; s*gemmNR < nc; s++ {
		width := min(gemmNR, nc-s*gemmNR)
		strip := dst[s*kc*gemmNR : (s+1)*kc*gemmNR]
		jb := j0 + s*gemmNR
		for p := 0; p < kc; p++ {
			row := strip[p*gemmNR : p*gemmNR+gemmNR]
			base := m.off + (k0+p)*m.rs + jb*m.cs
			if m.cs == 1 && width == gemmNR {
				copy(row, m.data[base:base+gemmNR])
				continue
			}
			for jj := 0; jj < width; jj++ {
				row[jj] = m.data[base+jj*m.cs]
			}
			for jj := width; jj < gemmNR; jj++ {
				row[jj] = 0
			}
		}
	}
}

// packA writes rows i0..i0+mc-1 and columns k0..k0+kc-1 of a into dst as
// strips of gemmMR rows: element (i0+s*gemmMR+ii, k0+p) goes to
// dst[s*kc*gemmMR + p*gemmMR + ii]; rows past mc are zero.
func packA[T number](dst []T, a matrix[T], i0, mc, k0, kc int) {
	for s := 0; s*gemmMR < mc; s++ {
		height := min(gemmMR, mc-s*gemmMR)
		strip := dst[s*kc*gemmMR : (s+1)*kc*gemmMR]
		ib := i0 + s*gemmMR
		for ii := 0; ii < gemmMR; ii++ {
			if ii >= height {
				for p := 0; p < kc; p++ {
					strip[p*gemmMR+ii] = 0
				}
				continue
			}
			base := a.off + (ib+ii)*a.rs + k0*a.cs
			if a.cs == 1 {
				src := a.data[base : base+kc]
				for p, v := range src {
					strip[p*gemmMR+ii] = v
				}
				continue
			}
			for p := 0; p < kc; p++ {
				strip[p*gemmMR+ii] = a.data[base+p*a.cs]
			}
		}
	}
}

// gemmBuffers are one worker's packing buffers.
type gemmBuffers[T number] struct {
	a, b []T
	tile [gemmMR * gemmNR]T
}

func newGemmBuffers[T number]() *gemmBuffers[T] {
	return &gemmBuffers[T]{
		a: make([]T, gemmMC*gemmKC),
		b: make([]T, gemmNC*gemmKC),
	}
}

// gemmRange computes C[0:m, j0:j1] = A[0:m, 0:k] * B[0:k, j0:j1] (adding to C
// when accumulate is set). c is row-major with leading dimension ldc.
func gemmRange[T number](m, k, j0, j1 int, a matrix[T], b bPacker[T], c []T, ldc int, accumulate bool, buf *gemmBuffers[T]) {
	if !accumulate {
		for i := 0; i < m; i++ {
			clear(c[i*ldc+j0 : i*ldc+j1])
		}
	}
	if k == 0 {
		return
	}
	for jc := j0; jc < j1; jc += gemmNC {
		nc := min(gemmNC, j1-jc)
		for pc := 0; pc < k; pc += gemmKC {
			kc := min(gemmKC, k-pc)
			b.packB(buf.b, pc, kc, jc, nc)
			for ic := 0; ic < m; ic += gemmMC {
				mc := min(gemmMC, m-ic)
				packA(buf.a, a, ic, mc, pc, kc)
				macroKernel(mc, nc, kc, buf, c[ic*ldc+jc:], ldc)
			}
		}
	}
}

// macroKernel multiplies a packed mc x kc block of A by a packed kc x nc
// panel of B and adds the product to c.
func macroKernel[T number](mc, nc, kc int, buf *gemmBuffers[T], c []T, ldc int) {
	for jr := 0; jr < nc; jr += gemmNR {
		nr := min(gemmNR, nc-jr)
		bs := buf.b[(jr/gemmNR)*kc*gemmNR : (jr/gemmNR+1)*kc*gemmNR]
		for ir := 0; ir < mc; ir += gemmMR {
			mr := min(gemmMR, mc-ir)
			as := buf.a[(ir/gemmMR)*kc*gemmMR : (ir/gemmMR+1)*kc*gemmMR]
			if mr == gemmMR && nr == gemmNR {
				microKernel(kc, as, bs, c[ir*ldc+jr:], ldc)
				continue
			}
			t := buf.tile[:]
			clear(t)
			microKernel(kc, as, bs, t, gemmNR)
			for i := 0; i < mr; i++ {
				row := c[(ir+i)*ldc+jr:]
				for j := 0; j < nr; j++ {
					row[j] += t[i*gemmNR+j]
				}
			}
		}
	}
}
