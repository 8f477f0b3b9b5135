package qkernel

// convU8S8_1x4c4_generic: uint8 activations × int8 weights, 1 output pixel
// × 4 output channels per tile, input channels in groups of 4, in plain
// scalar Go with int32 accumulators. This is the kernel for 32-bit targets
// (GOARM=6 has no NEON; a multiply-accumulate is one MLA) and the portable
// twin of the dot-product SIMD layout.
//
// Packing (one block of NR = 4 output channels; after the common 48-byte
// header), the layout of XNNPACK's c4 kernels and of SDOT/VPDPBUSD: for tap
// t in [0, KS), for group q of 4 input channels in [0, ceil(KC/4)), for
// output channel j in [0, NR): the 4 int8 weights of input channels 4q …
// 4q+3, at offset ((t·ceil(KC/4) + q)·NR + j)·4. Input channels past KC
// and output channels past NC have zero weights, so a kernel may read the
// activations of a row up to 3 bytes past KC.

const (
	c4NR = 4
	c4KR = 4
)

func c4WeightBytes(kc, ks int) int { return ks * alignUp(kc, c4KR) * c4NR }

func c4Pack(dst []byte, w *ConvWeights, g, n0 int) {
	kq := alignUp(w.KC, c4KR) / c4KR
	for t := 0; t < w.KS; t++ {
		for q := 0; q < kq; q++ {
			for j := 0; j < c4NR; j++ {
				for r := 0; r < c4KR; r++ {
					k := 4*q + r
					var v int8
					if n0+j < w.NC && k < w.KC {
						v = w.at(g, n0+j, t, k)
					}
					dst[((t*kq+q)*c4NR+j)*c4KR+r] = byte(v)
				}
			}
		}
	}
}

// c4Dot accumulates one row of activations (len a multiple of 4) against
// the matching weights (16 bytes per group of 4 channels) into 4 channels.
func c4Dot(row, wt []byte, acc *[4]int32) {
	a0, a1, a2, a3 := acc[0], acc[1], acc[2], acc[3]
	wt = wt[:4*len(row)]
	for q := 0; q+4 <= len(row); q += 4 {
		xs := row[q : q+4 : q+4]
		x0, x1, x2, x3 := int32(xs[0]), int32(xs[1]), int32(xs[2]), int32(xs[3])
		ws := wt[4*q : 4*q+16 : 4*q+16]
		a0 += x0*int32(int8(ws[0])) + x1*int32(int8(ws[1])) + x2*int32(int8(ws[2])) + x3*int32(int8(ws[3]))
		a1 += x0*int32(int8(ws[4])) + x1*int32(int8(ws[5])) + x2*int32(int8(ws[6])) + x3*int32(int8(ws[7]))
		a2 += x0*int32(int8(ws[8])) + x1*int32(int8(ws[9])) + x2*int32(int8(ws[10])) + x3*int32(int8(ws[11]))
		a3 += x0*int32(int8(ws[12])) + x1*int32(int8(ws[13])) + x2*int32(int8(ws[14])) + x3*int32(int8(ws[15]))
	}
	acc[0], acc[1], acc[2], acc[3] = a0, a1, a2, a3
}

func c4Store(acc *[4]int32, nc int, blk, c []byte, o *Output) {
	row := c[:nc]
	for j := range row {
		_, m, sh := header(blk, c4NR, j)
		row[j] = requantize(acc[j], m, sh, o)
	}
}

func c4Init(acc *[4]int32, blk []byte) {
	for j := range acc {
		acc[j], _, _ = header(blk, c4NR, j)
	}
}

func convU8S8_1x4c4_generic_igemm(mr, nc, kc, ks int, ind []int32, xoff int, x, w []byte, bs int, c []byte, cs int, o *Output) {
	kc4 := alignUp(kc, c4KR)
	wb := c4WeightBytes(kc, ks)
	for i := 0; i < mr; i++ {
		e := ind[i*ks : (i+1)*ks]
		ci := c[i*cs:]
		for nb := 0; nb*c4NR < nc; nb++ {
			blk := w[nb*bs : nb*bs+bs]
			wts := blk[12*c4NR : 12*c4NR+wb]
			var acc [4]int32
			c4Init(&acc, blk)
			for t, off := range e {
				o0 := int(off) + xoff
				c4Dot(x[o0:o0+kc4], wts[t*kc4*c4NR:(t+1)*kc4*c4NR], &acc)
			}
			c4Store(&acc, min(c4NR, nc-nb*c4NR), blk, ci[nb*c4NR:], o)
		}
	}
}

func convU8S8_1x4c4_generic_gemm(mr, nc, kc int, a []byte, as int, w []byte, bs int, c []byte, cs int, o *Output) {
	kc4 := alignUp(kc, c4KR)
	wb := c4WeightBytes(kc, 1)
	for i := 0; i < mr; i++ {
		row := a[i*as : i*as+kc4]
		ci := c[i*cs:]
		for nb := 0; nb*c4NR < nc; nb++ {
			blk := w[nb*bs : nb*bs+bs]
			var acc [4]int32
			c4Init(&acc, blk)
			c4Dot(row, blk[12*c4NR:12*c4NR+wb], &acc)
			c4Store(&acc, min(c4NR, nc-nb*c4NR), blk, ci[nb*c4NR:], o)
		}
	}
}
