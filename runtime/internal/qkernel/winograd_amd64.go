//go:build !purego

package qkernel

func init() {
	if x86Features.avx2 {
		winogradISA = isaAVX2
	}
}

func winogradInput(x *byte, off *int64, c16 int, dst *byte, vs int) {
	winogradInputF23_avx2(x, off, c16, dst, vs)
}

func winogradGemm(a *byte, as int, kp int, w *byte, c *byte, cs int, groups int) {
	winogradGemm_6x16_avx2(a, as, kp, w, c, cs, groups)
}

func winogradOutput(m *byte, blk *byte, y0, y1, y2, y3 *byte, oc *int32) {
	winogradOutputF23_avx2(m, blk, y0, y1, y2, y3, oc)
}
