//go:build !amd64 || purego

package ref

// float32Kernels are the float32 micro-kernels this CPU runs: none beyond
// the portable one on this architecture (or with the purego tag).
var float32Kernels []gemmKernel[float32]
