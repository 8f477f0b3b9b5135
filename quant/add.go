package quant

import (
	"fmt"
	"math"
)

// AddLeftShift is the headroom TensorFlow Lite gives 8-bit inputs of an
// integer Add: both inputs, minus their zero points, are multiplied by 2^20
// before being rescaled to a common scale.
const AddLeftShift = 20

// AddParams holds the compile-time constants of an integer elementwise Add
// of two 8-bit tensors (a ResNet's residual connection), computed as
// TensorFlow Lite's reference Add does:
//
//	a' = (a − AZero) · 2^20 · AMul      AMul = scaleA / (2·max(scaleA, scaleB))
//	b' = (b − BZero) · 2^20 · BMul      BMul = scaleB / (2·max(scaleA, scaleB))
//	out = clamp((a' + b') · OutMul + OutZero, Qmin, Qmax)
//	                                    OutMul = 2·max(scaleA, scaleB) / (2^20 · scaleOut)
//
// Each product is rounded once (MultiplyByQuantizedMultiplierSingleRounding,
// where TFLite's reference rounds twice), so the result is within one step of
// the exact real-arithmetic value ((a−za)·sa + (b−zb)·sb) / so + zo and equal
// to it rounded on all but a tiny share of inputs near ties.
//
// Overflow bounds (TFLite Micro's reference kernel states the same design):
// with a, b and the zero points in the 8-bit range, |a − AZero| ≤ 255, so the
// shifted input is below 255·2^20 < 2^28; AMul and BMul are at most 1/2, so
// each rescaled input is below 2^27 + 1 and their sum below 2^28: no int32
// overflow anywhere. Inputs outside the 8-bit range void this bound.
//
// A fused ReLU is a raised Qmin: set Qmin = max(Qmin, OutZero).
type AddParams struct {
	AZero, BZero, OutZero int32
	AMul, BMul, OutMul    Multiplier
	Qmin, Qmax            int32
}

// NewAddParams computes the Add constants from the float32 scales and zero
// points of the inputs and of the output, for 8-bit tensors of type qt (both
// inputs and the output share it). Multipliers are computed in float64 from
// the float32 scales with multiplications and divisions only (no fused
// multiply-add can apply), so they are the same on every architecture.
func NewAddParams(scaleA float32, zpA int32, scaleB float32, zpB int32, scaleOut float32, zpOut int32, qt QType) (AddParams, error) {
	if qt != Uint8 && qt != Int8 {
		return AddParams{}, fmt.Errorf("quant: Add: invalid QType %d", uint8(qt))
	}
	for _, s := range [...]float32{scaleA, scaleB, scaleOut} {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return AddParams{}, fmt.Errorf("quant: Add: scales %g, %g, %g: each must be positive and finite", scaleA, scaleB, scaleOut)
		}
	}
	for _, zp := range [...]int32{zpA, zpB, zpOut} {
		if zp < qt.Min() || zp > qt.Max() {
			return AddParams{}, fmt.Errorf("quant: Add: zero points %d, %d, %d: each must be in the %v range", zpA, zpB, zpOut, qt)
		}
	}
	twiceMax := 2 * float64(max(scaleA, scaleB))
	p := AddParams{AZero: zpA, BZero: zpB, OutZero: zpOut, Qmin: qt.Min(), Qmax: qt.Max()}
	var err error
	if p.AMul, err = QuantizeMultiplier(float64(scaleA) / twiceMax); err != nil {
		return AddParams{}, err
	}
	if p.BMul, err = QuantizeMultiplier(float64(scaleB) / twiceMax); err != nil {
		return AddParams{}, err
	}
	if p.OutMul, err = QuantizeMultiplier(twiceMax / (float64(1<<AddLeftShift) * float64(scaleOut))); err != nil {
		return AddParams{}, fmt.Errorf("quant: Add: output scale %g too small for input scales %g, %g: %w", scaleOut, scaleA, scaleB, err)
	}
	return p, nil
}

// Add returns the quantized sum of a and b (each in the 8-bit range of the
// QType the parameters were made for). Pure integer arithmetic.
func (p *AddParams) Add(a, b int32) int32 {
	sa := MultiplyByQuantizedMultiplierSingleRounding((a-p.AZero)<<AddLeftShift, p.AMul)
	sb := MultiplyByQuantizedMultiplierSingleRounding((b-p.BZero)<<AddLeftShift, p.BMul)
	return Requantize(sa+sb, p.OutMul, p.OutZero, p.Qmin, p.Qmax)
}
