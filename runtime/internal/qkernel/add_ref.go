package qkernel

// AddRef is the reference quantized addition, element by element in int64
// arithmetic (the definition in AddParams; it never overflows for any
// uint8 inputs and valid parameters). Never optimized.
func AddRef(p *AddParams, a, b, y []uint8) {
	for i := range y {
		acc := (int64(a[i])-int64(p.AZero))*int64(p.AMult) + (int64(b[i])-int64(p.BZero))*int64(p.BMult)
		v := (acc + int64(1)<<(p.Shift-1)) >> p.Shift
		v = min(max(v, int64(p.Out.Lo)), int64(p.Out.Hi))
		y[i] = uint8(v + int64(p.Out.ZeroPoint))
	}
}
