package qkernel

import "github.com/piresnet/piresnet/quant"

// ConvRef is the reference quantized convolution: NHWC uint8 input x with
// zero point xZero, int8 weights w in [OC][KH][KW][KC] order, int32 bias
// (nil for none), one quant.Multiplier per output channel, output stage o.
// It computes every output the direct way,
//
//	acc = bias[oc] + Σ over taps inside the input, Σ_k (x − xZero)·w
//	y = quant.Requantize(acc, req[oc], o.ZeroPoint, o.Qmin(), o.Qmax())
//
// in int32 arithmetic (wrapping, as ONNX's integer convolution): padding
// contributes nothing. It is the oracle of every convolution kernel and is
// never optimized.
func ConvRef(g *ConvGeom, x []uint8, xZero int32, w []int8, bias []int32, req []quant.Multiplier, o Output, y []uint8) {
	kc, nc := g.KC(), g.NC()
	for n := 0; n < g.N; n++ {
		for oy := 0; oy < g.OH; oy++ {
			for ox := 0; ox < g.OW; ox++ {
				for oc := 0; oc < g.OC; oc++ {
					grp := oc / nc
					var acc int32
					if bias != nil {
						acc = bias[oc]
					}
					for ky := 0; ky < g.KH; ky++ {
						iy := oy*g.SH - g.PadT + ky*g.DH
						if iy < 0 || iy >= g.H {
							continue
						}
						for kx := 0; kx < g.KW; kx++ {
							ix := ox*g.SW - g.PadL + kx*g.DW
							if ix < 0 || ix >= g.W {
								continue
							}
							for k := 0; k < kc; k++ {
								xv := int32(x[((n*g.H+iy)*g.W+ix)*g.C+grp*kc+k]) - xZero
								wv := int32(w[((oc*g.KH+ky)*g.KW+kx)*kc+k])
								acc += xv * wv
							}
						}
					}
					y[((n*g.OH+oy)*g.OW+ox)*g.OC+oc] = uint8(quant.Requantize(acc, req[oc], o.ZeroPoint, o.Qmin(), o.Qmax()))
				}
			}
		}
	}
}
