package ref

// microKernel2x4 adds the product of a packed 2 x kc strip of A and a
// packed kc x 4 strip of B to the 2 x 4 tile at c (leading dimension ldc).
// It computes, with the sums held in registers:
//
//	for i := 0; i < 2; i++ {
//		for j := 0; j < 4; j++ {
//			var s T
//			for p := 0; p < kc; p++ {
//				s += T(a[p*2+i] * b[p*4+j])
//			}
//			c[i*ldc+j] += s
//		}
//	}
//
// Each product is converted to T before it is added, which forbids the
// compiler to fuse the multiply-add (Go fuses x*y + z into an FMA on arm64
// but not on amd64): results are the same on every architecture.
//
// The tile is 2x4: the Go compiler keeps 8 accumulators, the 2 values of A
// and a temporary in the 16 SSE registers of amd64 with few spills; larger
// tiles measured no faster (scalar code is bound by instruction count, not
// by loads). It is the portable kernel of every element type, and the only
// one for float64 and int32.
func microKernel2x4[T number](kc int, a, b, c []T, ldc int) {
	a = a[:kc*2]
	b = b[:kc*4]
	var c00, c01, c02, c03, c10, c11, c12, c13 T
	for p := 0; p < kc; p++ {
		ap := a[p*2 : p*2+2 : p*2+2]
		bp := b[p*4 : p*4+4 : p*4+4]
		a0, a1 := ap[0], ap[1]
		b0 := bp[0]
		c00 += T(a0 * b0)
		c10 += T(a1 * b0)
		b1 := bp[1]
		c01 += T(a0 * b1)
		c11 += T(a1 * b1)
		b2 := bp[2]
		c02 += T(a0 * b2)
		c12 += T(a1 * b2)
		b3 := bp[3]
		c03 += T(a0 * b3)
		c13 += T(a1 * b3)
	}
	r0 := c[0:4:4]
	r0[0] += c00
	r0[1] += c01
	r0[2] += c02
	r0[3] += c03
	r1 := c[ldc : ldc+4 : ldc+4]
	r1[0] += c10
	r1[1] += c11
	r1[2] += c12
	r1[3] += c13
}
