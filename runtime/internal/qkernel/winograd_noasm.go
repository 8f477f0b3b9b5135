//go:build !amd64 || purego

package qkernel

// No Winograd kernels on this architecture or build: winogradISA stays "",
// so NewWinograd returns nil and these are never called.

func winogradInput(x *byte, off *int64, c16 int, dst *byte, vs int) {
	panic("qkernel: no Winograd kernels")
}

func winogradGemm(a *byte, as int, kp int, w *byte, c *byte, cs int, groups int) {
	panic("qkernel: no Winograd kernels")
}

func winogradOutput(m *byte, blk *byte, y0, y1, y2, y3 *byte, oc *int32) {
	panic("qkernel: no Winograd kernels")
}
