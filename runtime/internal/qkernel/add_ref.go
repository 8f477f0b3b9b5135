package qkernel

import "github.com/piresnet/piresnet/quant"

// AddRef is the reference quantized addition: quant.AddParams.Add for
// every element. Never optimized.
func AddRef(p *quant.AddParams, a, b, y []uint8) {
	for i := range y {
		y[i] = uint8(p.Add(int32(a[i]), int32(b[i])))
	}
}
