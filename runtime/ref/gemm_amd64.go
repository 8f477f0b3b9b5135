//go:build !purego

package ref

import "golang.org/x/sys/cpu"

// float32Kernels are the float32 micro-kernels this CPU runs, fastest first.
var float32Kernels = amd64Kernels()

func amd64Kernels() []gemmKernel[float32] {
	if !cpu.X86.HasAVX2 {
		return nil
	}
	return []gemmKernel[float32]{{name: "avx2_6x16", mr: 6, nr: 16, fn: gemmF32Kernel6x16AVX2}}
}

// gemmF32Kernel6x16AVX2 is the 6x16 float32 micro-kernel in AVX2 (see
// gemmKernel): per step p it broadcasts a[6p+i] and multiplies it with the
// two 8-lane halves of b[16p:16p+16] (VMULPS), then adds the products to
// the accumulators (VADDPS, no FMA), exactly the order of microKernel2x4.
func gemmF32Kernel6x16AVX2(kc int, a, b, c []float32, ldc int) {
	if kc <= 0 {
		return
	}
	_ = a[6*kc-1]
	_ = b[16*kc-1]
	_ = c[5*ldc+15]
	gemmF32Kernel6x16AVX2Asm(kc, &a[0], &b[0], &c[0], ldc)
}

// gemmF32Kernel6x16AVX2Asm computes, for kc > 0:
//
//	for i := 0; i < 6; i++ {
//		for j := 0; j < 16; j++ {
//			var s float32
//			for p := 0; p < kc; p++ {
//				s += float32(a[6*p+i] * b[16*p+j])
//			}
//			c[i*ldc+j] += s
//		}
//	}
//
//go:noescape
func gemmF32Kernel6x16AVX2Asm(kc int, a, b, c *float32, ldc int)
