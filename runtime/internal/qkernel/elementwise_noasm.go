//go:build !amd64 || purego

package qkernel

// No SIMD elementwise kernels on this architecture or build.

func maxRowArch(out, in []uint8) int { return 0 }

func maxTapsArch(out, x []uint8, off []int64) int { return 0 }

func addArch(t *AddTables, a, b, y []uint8) int { return 0 }

func quantizeArch(y []byte, ys int, x []float32, scale float32, zp int32) int { return 0 }

func elementwiseISA() string { return ISAGeneric }
