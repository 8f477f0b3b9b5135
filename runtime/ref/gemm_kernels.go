package ref

// gemmKernel is a micro-kernel: fn adds the product of a packed mr x kc
// strip of A (a[p*mr+i]) and a packed kc x nr strip of B (b[p*nr+j]) to the
// mr x nr tile of C at c (leading dimension ldc), summing the products of
// each element in order p = 0..kc-1, each product rounded to T before it is
// added (no fused multiply-add). Every kernel therefore gives the same bits
// as microKernel2x4 and gemmRef.
type gemmKernel[T number] struct {
	name   string
	mr, nr int
	fn     func(kc int, a, b, c []T, ldc int)
}

// genericKernel is the portable Go kernel.
func genericKernel[T number]() gemmKernel[T] {
	return gemmKernel[T]{name: "generic_2x4", mr: 2, nr: 4, fn: microKernel2x4[T]}
}

// gemmKernels lists the kernels of element type T that run on this CPU,
// the one GEMMs use first. The list feeds the comparison tests and the
// benchmarks; float32 kernels come from gemm_<arch>.go (float32Kernels).
func gemmKernels[T number]() []gemmKernel[T] {
	var ks []gemmKernel[T]
	var zero T
	if _, ok := any(zero).(float32); ok {
		for _, k := range float32Kernels {
			ks = append(ks, any(k).(gemmKernel[T]))
		}
	}
	return append(ks, genericKernel[T]())
}

// kernelFor returns the kernel GEMMs of element type T use.
func kernelFor[T number]() gemmKernel[T] {
	if forceGeneric {
		return genericKernel[T]()
	}
	return gemmKernels[T]()[0]
}

// forceGeneric makes every GEMM use the portable kernel (tests).
var forceGeneric = false
