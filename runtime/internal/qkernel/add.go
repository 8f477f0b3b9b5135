package qkernel

import "github.com/piresnet/piresnet/quant"

// AddTables run quant.AddParams (TensorFlow Lite's integer Add: each input
// minus its zero point, shifted left by 20 and rescaled to a common scale
// with one rounding, the sum requantized to the output) over uint8
// tensors. Each rescaled input depends on one 8-bit value only, so it is a
// 256-entry table made at load; the kernel adds two table entries and
// requantizes the sum.
type AddTables struct {
	A, B [256]int32
	Out  Requant
	O    Output
	simd addSIMD
}

// NewAddTables tabulates p for uint8 inputs (zero points in [0, 255]).
func NewAddTables(p *quant.AddParams) *AddTables {
	t := &AddTables{Out: NewRequant(p.OutMul), O: NewOutput(p.OutZero, p.Qmin, p.Qmax)}
	for q := range 256 {
		t.A[q] = quant.MultiplyByQuantizedMultiplierSingleRounding((int32(q)-p.AZero)<<quant.AddLeftShift, p.AMul)
		t.B[q] = quant.MultiplyByQuantizedMultiplierSingleRounding((int32(q)-p.BZero)<<quant.AddLeftShift, p.BMul)
	}
	t.simd = newAddSIMD(p, t)
	return t
}
