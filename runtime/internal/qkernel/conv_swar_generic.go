package qkernel

import (
	"encoding/binary"
	"unsafe"
)

// convU8S8_2x6c1_swar64: uint8 activations × int8 weights, 2 output pixels
// × 6 output channels per tile, in portable Go with SWAR (SIMD within a
// register) arithmetic on 64-bit words.
//
// Three weights of one input channel for three output channels share an
// int64 as 21-bit lanes, W = w0 + w1·2^21 + w2·2^42 (signed arithmetic), so
// one 64-bit multiply by an activation x computes three products:
// x·W = x·w0 + x·w1·2^21 + x·w2·2^42 exactly. Summing such products keeps
// three lane sums L0 + L1·2^21 + L2·2^42 as long as every |Lj| < 2^20: with
// |x·w| ≤ 255·128 = 32640, that holds for 32 products (32·32640 =
// 1 044 480 < 2^20 = 1 048 576). After at most 32 steps the lanes are
// taken apart exactly (sign-extend the low 21 bits, subtract, shift; twice)
// and added to int32 accumulators. Each step is 4 multiplies and 4 adds for
// 2×6 = 12 multiply-accumulates, against 12 and 12 in scalar code; on arm64
// a multiply-add is one instruction.
//
// Packing (one block of 6 output channels; after the common 72-byte
// header): for tap t in [0, KS), input channel k in [0, KC): two
// native-endian int64 words, channels 0–2 then 3–5, at offset
// (t·KC + k)·16. No padding of KC. Weights take 16/6 ≈ 2.7 bytes each.
//
// On 32-bit targets 64-bit multiplies are several instructions: the table
// prefers convU8S8_1x4c4_generic there.

const (
	swarMR    = 2
	swarNR    = 6
	swarSteps = 32 // products per lane before a flush
)

func swarWeightBytes(kc, ks int) int { return kc * ks * 16 }

func swarWord(w0, w1, w2 int8) uint64 {
	return uint64(int64(w0) + int64(w1)<<21 + int64(w2)<<42)
}

func swarPack(dst []byte, w *ConvWeights, g, n0 int) {
	wt := func(n, t, k int) int8 {
		if n0+n >= w.NC {
			return 0
		}
		return w.at(g, n0+n, t, k)
	}
	ne := binary.NativeEndian // read as int64 by swarSeg
	for t := 0; t < w.KS; t++ {
		for k := 0; k < w.KC; k++ {
			o := (t*w.KC + k) * 16
			ne.PutUint64(dst[o:], swarWord(wt(0, t, k), wt(1, t, k), wt(2, t, k)))
			ne.PutUint64(dst[o+8:], swarWord(wt(3, t, k), wt(4, t, k), wt(5, t, k)))
		}
	}
}

// swarSeg runs len(r0) ≤ swarSteps steps of the 2×6 tile: rows r0 and r1
// (one input channel each per step) against words wt (16 bytes per step).
// The loop walks raw pointers: Go's bounds-check elimination and register
// allocator otherwise spill half the accumulators; the lengths are checked
// once, before it.
func swarSeg(r0, r1, wt []byte, c00, c01, c10, c11 int64) (int64, int64, int64, int64) {
	n := len(r0)
	if n == 0 {
		return c00, c01, c10, c11
	}
	_ = r1[n-1]
	_ = wt[16*n-1]
	// r0 and r1 are rows of the same arena (or the same row), so p0 + d1
	// stays inside that one allocation.
	p0 := unsafe.Pointer(unsafe.SliceData(r0))
	d1 := uintptr(unsafe.Pointer(unsafe.SliceData(r1))) - uintptr(p0)
	pw := unsafe.Pointer(unsafe.SliceData(wt))
	end := unsafe.Add(p0, n)
	for p0 != end {
		x0 := int64(*(*uint8)(p0))
		x1 := int64(*(*uint8)(unsafe.Add(p0, d1)))
		wp := (*[2]int64)(pw) // 8-byte aligned: blocks are 64-aligned, the header 72 bytes
		w0 := wp[0]
		c00 += x0 * w0
		c10 += x1 * w0
		w1 := wp[1]
		c01 += x0 * w1
		c11 += x1 * w1
		p0 = unsafe.Add(p0, 1)
		pw = unsafe.Add(pw, 16)
	}
	return c00, c01, c10, c11
}

// swarFlush adds the three 21-bit lanes of v to acc[0:3].
func swarFlush(acc *[3]int32, v int64) {
	l0 := v << 43 >> 43
	v = (v - l0) >> 21
	l1 := v << 43 >> 43
	l2 := (v - l1) >> 21
	acc[0] += int32(l0)
	acc[1] += int32(l1)
	acc[2] += int32(l2)
}

// swarTile accumulates one block for rows given by rowOf(i, t) and stores
// the requantized results.
type swarAcc struct {
	a [2][2][3]int32 // [row][word][lane]
}

func (s *swarAcc) flush(c00, c01, c10, c11 int64) {
	swarFlush(&s.a[0][0], c00)
	swarFlush(&s.a[0][1], c01)
	swarFlush(&s.a[1][0], c10)
	swarFlush(&s.a[1][1], c11)
}

func (s *swarAcc) init(blk []byte) {
	for j := 0; j < swarNR; j++ {
		b, _, _ := header(blk, swarNR, j)
		s.a[0][j/3][j%3] = b
		s.a[1][j/3][j%3] = b
	}
}

func (s *swarAcc) store(mr, nc int, blk []byte, c []byte, cs int, o *Output) {
	for i := 0; i < mr; i++ {
		row := c[i*cs : i*cs+nc]
		for j := range row {
			_, m, sh := header(blk, swarNR, j)
			row[j] = requantize(s.a[i][j/3][j%3], m, sh, o)
		}
	}
}

func convU8S8_2x6c1_swar64_igemm(mr, nc, kc, ks int, ind []int32, xoff int, x, w []byte, bs int, c []byte, cs int, o *Output) {
	ind = ind[:mr*ks]
	wb := swarWeightBytes(kc, ks)
	for nb := 0; nb*swarNR < nc; nb++ {
		blk := w[nb*bs : nb*bs+bs]
		wts := blk[12*swarNR : 12*swarNR+wb]
		var s swarAcc
		s.init(blk)
		var c00, c01, c10, c11 int64
		budget := swarSteps
		for t := 0; t < ks; t++ {
			o0 := int(ind[t]) + xoff
			r0 := x[o0 : o0+kc]
			r1 := r0
			if mr > 1 {
				o1 := int(ind[ks+t]) + xoff
				r1 = x[o1 : o1+kc]
			}
			wt := wts[t*kc*16 : (t+1)*kc*16]
			for k := 0; k < kc; {
				n := min(kc-k, budget)
				c00, c01, c10, c11 = swarSeg(r0[k:k+n], r1[k:k+n], wt[16*k:16*(k+n)], c00, c01, c10, c11)
				k += n
				budget -= n
				if budget == 0 {
					s.flush(c00, c01, c10, c11)
					c00, c01, c10, c11 = 0, 0, 0, 0
					budget = swarSteps
				}
			}
		}
		s.flush(c00, c01, c10, c11)
		s.store(mr, min(swarNR, nc-nb*swarNR), blk, c[nb*swarNR:], cs, o)
	}
}

func convU8S8_2x6c1_swar64_gemm(mr, nc, kc int, a []byte, as int, w []byte, bs int, c []byte, cs int, o *Output) {
	wb := swarWeightBytes(kc, 1)
	r0 := a[:kc]
	r1 := r0
	if mr > 1 {
		r1 = a[as : as+kc]
	}
	for nb := 0; nb*swarNR < nc; nb++ {
		blk := w[nb*bs : nb*bs+bs]
		wts := blk[12*swarNR : 12*swarNR+wb]
		var s swarAcc
		s.init(blk)
		for k := 0; k < kc; k += swarSteps {
			n := min(kc-k, swarSteps)
			c00, c01, c10, c11 := swarSeg(r0[k:k+n], r1[k:k+n], wts[16*k:16*(k+n)], 0, 0, 0, 0)
			s.flush(c00, c01, c10, c11)
		}
		s.store(mr, min(swarNR, nc-nb*swarNR), blk, c[nb*swarNR:], cs, o)
	}
}
