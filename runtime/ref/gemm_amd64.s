//go:build !purego

#include "textflag.h"

// func gemmF32Kernel6x16AVX2Asm(kc int, a, b, c *float32, ldc int)
// Y0..Y11: the 6x16 accumulators (row i in Y(2i), Y(2i+1));
// Y12, Y13: the 16 values of B of one step; Y14: a broadcast value of A;
// Y15: a product.
TEXT ·gemmF32Kernel6x16AVX2Asm(SB), NOSPLIT, $0-40
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8 // ldc in bytes

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

loop:
	VMOVUPS (DI), Y12
	VMOVUPS 32(DI), Y13

#define ROW(off, lo, hi) \
	VBROADCASTSS off(SI), Y14 \
	VMULPS       Y12, Y14, Y15 \
	VADDPS       Y15, lo, lo \
	VMULPS       Y13, Y14, Y15 \
	VADDPS       Y15, hi, hi

	ROW(0, Y0, Y1)
	ROW(4, Y2, Y3)
	ROW(8, Y4, Y5)
	ROW(12, Y6, Y7)
	ROW(16, Y8, Y9)
	ROW(20, Y10, Y11)

	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  loop

#define STORE(lo, hi) \
	VADDPS  (DX), lo, lo \
	VMOVUPS lo, (DX) \
	VADDPS  32(DX), hi, hi \
	VMOVUPS hi, 32(DX) \
	ADDQ    R8, DX

	STORE(Y0, Y1)
	STORE(Y2, Y3)
	STORE(Y4, Y5)
	STORE(Y6, Y7)
	STORE(Y8, Y9)
	STORE(Y10, Y11)

	VZEROUPPER
	RET
