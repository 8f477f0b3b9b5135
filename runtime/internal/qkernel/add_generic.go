package qkernel

// Add computes y = a + b (AddParams) over equal-length slices in int32
// arithmetic, the zero points folded into one constant.
func Add(p *AddParams, a, b, y []uint8) {
	a = a[:len(y)]
	b = b[:len(y)]
	am, bm := p.AMult, p.BMult
	bias := int32(1)<<(p.Shift-1) - p.AZero*am - p.BZero*bm
	sh := p.Shift
	lo, hi, zp := p.Out.Lo, p.Out.Hi, p.Out.ZeroPoint
	for i := range y {
		v := (bias + int32(a[i])*am + int32(b[i])*bm) >> sh
		v = min(max(v, lo), hi)
		y[i] = uint8(v + zp)
	}
}
