package quant_test

import (
	"fmt"

	"github.com/piresnet/piresnet/quant"
)

// A convolution output channel: the multiplier is made once when the model
// is compiled; the board then requantizes accumulators with integers only,
// and agrees with ONNX Runtime's real arithmetic.
func ExampleRequantize() {
	xScale, wScale, yScale := float32(0.02), float32(0.0015), float32(0.05)
	m, err := quant.RequantMultiplier(xScale, wScale, yScale)
	if err != nil {
		panic(err)
	}
	fmt.Println(m)
	for _, acc := range []int32{-30000, -700, 0, 1234, 5000, 100000} {
		fixed := quant.Requantize(acc, m, 128, 0, 255)
		real := quant.RequantizeReal(acc, quant.RequantScale(xScale, wScale, yScale), 128, 0, 255)
		fmt.Println(acc, fixed, real)
	}
	// Output:
	// 1319413888·2^(-10-31) (0.00059999997)
	// -30000 110 110
	// -700 128 128
	// 0 128 128
	// 1234 129 129
	// 5000 131 131
	// 100000 188 188
}

// ONNX QuantizeLinear rounds half to even and saturates.
func ExampleQuantizeU8() {
	for _, x := range []float32{0, 3, 5, -254, 1000} {
		fmt.Print(quant.QuantizeU8(x, 2, 128), " ")
	}
	fmt.Println()
	// Output: 128 130 130 1 255
}

// Scales for a post-ReLU activation and for per-channel weights.
func ExampleChooseAsymmetric() {
	scale, zp, err := quant.ChooseAsymmetric(0, 6.375, quant.Uint8)
	fmt.Println(scale, zp, err)
	scale, zp, err = quant.ChooseAsymmetric(-1, 3, quant.Int8)
	fmt.Println(scale, zp, err)
	scales, err := quant.ChooseSymmetricPerChannel([]float32{0.5, -1.27, 0.01, 0.254}, 2)
	fmt.Println(scales, err)
	// Output:
	// 0.025 0 <nil>
	// 0.015686275 -64 <nil>
	// [0.01 0.002] <nil>
}

// A residual connection in integers.
func ExampleAddParams() {
	p, err := quant.NewAddParams(0.05, 128, 0.02, 100, 0.06, 10, quant.Uint8)
	if err != nil {
		panic(err)
	}
	// (200−128)·0.05 + (150−100)·0.02 = 4.6 → 4.6/0.06 = 76.67 → 77 + 10
	fmt.Println(p.Add(200, 150))
	p.Qmin = max(p.Qmin, p.OutZero) // fused ReLU
	fmt.Println(p.Add(0, 0))
	// Output:
	// 87
	// 10
}

// Global average pooling over a 7×7 map: the sum of (x − zpIn) is
// requantized with 1/49 folded into the multiplier.
func ExampleAveragePoolMultiplier() {
	m, err := quant.AveragePoolMultiplier(0.04, 0.02, 49)
	if err != nil {
		panic(err)
	}
	sum := int32(49*3 + 20) // mean 3.41 input steps above the zero point
	fmt.Println(quant.Requantize(sum, m, 0, 0, 255))
	// Output: 7
}

// Calibrating one activation tensor with each method.
func ExampleMethod_Range() {
	h, _ := quant.NewHistogram(quant.DefaultBins)
	batch := make([]float32, 10000)
	for i := range batch {
		batch[i] = float32(i%100) / 10 // 0 … 9.9, uniform
	}
	batch[0] = 500 // one outlier
	h.Add(batch)
	for _, m := range []quant.Method{quant.MinMax, quant.Percentile(99.9)} {
		lo, hi, _ := m.Range(h)
		fmt.Printf("%v: [%g, %.2f]\n", m, lo, hi)
	}
	// The 99.9th percentile is 9.9; the histogram resolves it to within one
	// bin, here 500/2048 = 0.24 wide.
	fmt.Printf("bin width %.3f\n", h.BinWidth())
	// Output:
	// minmax: [0, 500.00]
	// percentile:99.9: [0, 10.00]
	// bin width 0.244
}

// Two large neighbours (1.0 and 1.0) would be 127 and 127 with 8-bit
// weights, 254 > PairSumLimit: any scale that keeps them above 64 must move
// them, so the channel takes absmax/64 and its small weights keep their
// 7-bit steps (a real layer has a few such pairs per thousand weights and
// keeps nearly all of its 8-bit scale).
func ExampleQuantizePairSafe() {
	w := []float32{1.0, 1.0, 0.1, -0.2} // one output channel, 4 input channels, 1×1
	q, scales, moved, err := quant.QuantizePairSafe(w, 1, 4, 1, 1)
	if err != nil {
		panic(err)
	}
	fmt.Println(q, scales[0]*64, moved)
	// Output: [64 64 6 -13] 1 0
}
