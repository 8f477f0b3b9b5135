//go:build !purego

package qkernel

import (
	"math"
	"unsafe"
)

// maxRowArch sets out[i] = max(out[i], in[i]) over the largest multiple of
// 32 bytes of out with AVX2 and returns how many bytes it did (0 without
// AVX2); maxRow does the rest.
func maxRowArch(out, in []uint8) int {
	n := len(out) / 32
	if !x86Features.avx2 || n == 0 {
		return 0
	}
	in = in[:len(out)]
	maxU8_avx2(&out[0], &in[0], n)
	return 32 * n
}

// maxTapsArch sets out[i] to the maximum of x[off[t] + i] over the taps,
// over the largest multiple of 32 bytes of out, with AVX2, and returns how
// many bytes it did (0 without AVX2). Every x[off[t] : off[t]+len(out)]
// must lie inside x.
func maxTapsArch(out, x []uint8, off []int64) int {
	n := len(out) / 32
	if !x86Features.avx2 || n == 0 || len(off) == 0 {
		return 0
	}
	for _, o := range off {
		_ = x[o : o+int64(len(out))]
	}
	maxTapsU8_avx2(&out[0], &x[0], &off[0], len(off), n)
	return 32 * n
}

// addArch computes Add over the largest multiple of 32 elements of y with
// AVX2 (addSIMD) and returns how many it did (0 without AVX2, or when the
// tables have no exact arithmetic form).
func addArch(t *AddTables, a, b, y []uint8) int {
	n := len(y) / 32
	if !x86Features.avx2 || n == 0 || !t.simd.ok {
		return 0
	}
	a, b = a[:len(y)], b[:len(y)]
	oc := outConsts(&t.O)
	addU8_avx2(&a[0], &b[0], &y[0], n, &t.simd.epi[0], &oc[0])
	return 32 * n
}

// quantizeArch runs QuantizeU8 over the largest multiple of 8 values with
// AVX2 and returns how many it did.
func quantizeArch(y []byte, ys int, x []float32, scale float32, zp int32) int {
	n := len(x) / 8
	if !x86Features.avx2 || n == 0 || zp < 0 || zp > 255 {
		return 0
	}
	var k [32]uint32
	for i := 0; i < 8; i++ {
		k[i] = math.Float32bits(scale)
		k[8+i] = math.Float32bits(float32(0 - zp))
		k[16+i] = math.Float32bits(float32(255 - zp))
		k[24+i] = uint32(zp)
	}
	quantizeF32_avx2(&y[0], ys, &x[0], n, (*float32)(unsafe.Pointer(&k[0])))
	return 8 * n
}

func elementwiseISA() string {
	if x86Features.avx2 {
		return isaAVX2
	}
	return ISAGeneric
}
