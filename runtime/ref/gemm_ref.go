package ref

// gemmRef is the oracle of the GEMM kernels, a plain triple loop with the
// summation order the blocked kernels use: the products of each block of
// gemmKC consecutive p are summed in order p = ..., each product converted
// to T before it is added (no fused multiply-add), and the block sums are
// added to C in block order (C starts at 0, or at its old value when
// accumulate is set). With this order the blocked kernels are bit-exact to
// it for every element type.
func gemmRef[T number](m, n, k int, a matrix[T], b matrix[T], c []T, ldc int, accumulate bool) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var acc T
			if accumulate {
				acc = c[i*ldc+j]
			}
			for p0 := 0; p0 < k; p0 += gemmKC {
				var s T
				for p := p0; p < min(p0+gemmKC, k); p++ {
					s += T(a.at(i, p) * b.at(p, j))
				}
				acc += s
			}
			c[i*ldc+j] = acc
		}
	}
}
