package ref

// gemmRef is the oracle of the GEMM kernels: the plain triple loop
// C[i][j] (+)= sum over p of A[i][p]*B[p][j], summed in order p = 0..k-1.
// b is read through the same packer interface as the fast path so that
// packers are checked too (with one-column panels).
func gemmRef[T number](m, n, k int, a matrix[T], b matrix[T], c []T, ldc int, accumulate bool) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s T
			for p := 0; p < k; p++ {
				s += T(a.at(i, p) * b.at(p, j))
			}
			if accumulate {
				c[i*ldc+j] += s
			} else {
				c[i*ldc+j] = s
			}
		}
	}
}
