package qkernel

import "github.com/piresnet/piresnet/quant"

// Reference pooling kernels: naive loops over every output element and
// every tap, the oracles of pool_generic.go. Never optimized.

// MaxPoolRef is max pooling: the largest input value among the window's
// taps inside the input.
func MaxPoolRef(g *PoolGeom, x, y []uint8) {
	for n := 0; n < g.N; n++ {
		for oy := 0; oy < g.OH; oy++ {
			for ox := 0; ox < g.OW; ox++ {
				for c := 0; c < g.C; c++ {
					best := -1
					for ky := 0; ky < g.KH; ky++ {
						for kx := 0; kx < g.KW; kx++ {
							iy, ix := oy*g.SH-g.PadT+ky*g.DH, ox*g.SW-g.PadL+kx*g.DW
							if iy < 0 || iy >= g.H || ix < 0 || ix >= g.W {
								continue
							}
							best = max(best, int(x[((n*g.H+iy)*g.W+ix)*g.C+c]))
						}
					}
					y[((n*g.OH+oy)*g.OW+ox)*g.C+c] = uint8(best)
				}
			}
		}
	}
}

// AvgPoolRef is average pooling: acc = Σ (x − xZero) over the taps inside
// the input, y = quant.Requantize(acc, mults[d], o) with d the window's
// divisor (PoolGeom.Divisor) and mults[d] = x_scale / (y_scale · d).
func AvgPoolRef(g *PoolGeom, x []uint8, xZero int32, countPad bool, mults []quant.Multiplier, o Output, y []uint8) {
	for n := 0; n < g.N; n++ {
		for oy := 0; oy < g.OH; oy++ {
			for ox := 0; ox < g.OW; ox++ {
				d := g.Divisor(oy, ox, countPad)
				for c := 0; c < g.C; c++ {
					var acc int32
					for ky := 0; ky < g.KH; ky++ {
						for kx := 0; kx < g.KW; kx++ {
							iy, ix := oy*g.SH-g.PadT+ky*g.DH, ox*g.SW-g.PadL+kx*g.DW
							if iy < 0 || iy >= g.H || ix < 0 || ix >= g.W {
								continue
							}
							acc += int32(x[((n*g.H+iy)*g.W+ix)*g.C+c]) - xZero
						}
					}
					y[((n*g.OH+oy)*g.OW+ox)*g.C+c] = uint8(quant.Requantize(acc, mults[d], o.ZeroPoint, o.Qmin(), o.Qmax()))
				}
			}
		}
	}
}

// AdaptiveGeom is adaptive (and, with OH = OW = 1, global) pooling of an
// NHWC tensor N×H×W×C to N×OH×OW×C over the windows of AdaptiveWindow.
type AdaptiveGeom struct {
	N, H, W, C, OH, OW int
}

// Cells is OH·OW.
func (g *AdaptiveGeom) Cells() int { return g.OH * g.OW }

// Count is the number of input pixels in window cell (oy, ox).
func (g *AdaptiveGeom) Count(oy, ox int) int {
	y0, y1 := AdaptiveWindow(oy, g.H, g.OH)
	x0, x1 := AdaptiveWindow(ox, g.W, g.OW)
	return (y1 - y0) * (x1 - x0)
}

// AdaptiveAvgPoolRef is adaptive average pooling: acc = Σ (x − xZero) over
// the window, y = quant.Requantize(acc, mults[oy·OW+ox], o) with the
// cell's multiplier x_scale / (y_scale · Count).
func AdaptiveAvgPoolRef(g *AdaptiveGeom, x []uint8, xZero int32, mults []quant.Multiplier, o Output, y []uint8) {
	for n := 0; n < g.N; n++ {
		for oy := 0; oy < g.OH; oy++ {
			y0, y1 := AdaptiveWindow(oy, g.H, g.OH)
			for ox := 0; ox < g.OW; ox++ {
				x0, x1 := AdaptiveWindow(ox, g.W, g.OW)
				for c := 0; c < g.C; c++ {
					var acc int32
					for iy := y0; iy < y1; iy++ {
						for ix := x0; ix < x1; ix++ {
							acc += int32(x[((n*g.H+iy)*g.W+ix)*g.C+c]) - xZero
						}
					}
					m := mults[oy*g.OW+ox]
					y[((n*g.OH+oy)*g.OW+ox)*g.C+c] = uint8(quant.Requantize(acc, m, o.ZeroPoint, o.Qmin(), o.Qmax()))
				}
			}
		}
	}
}

// AdaptiveMaxPoolRef is adaptive max pooling.
func AdaptiveMaxPoolRef(g *AdaptiveGeom, x, y []uint8) {
	for n := 0; n < g.N; n++ {
		for oy := 0; oy < g.OH; oy++ {
			y0, y1 := AdaptiveWindow(oy, g.H, g.OH)
			for ox := 0; ox < g.OW; ox++ {
				x0, x1 := AdaptiveWindow(ox, g.W, g.OW)
				for c := 0; c < g.C; c++ {
					best := 0
					for iy := y0; iy < y1; iy++ {
						for ix := x0; ix < x1; ix++ {
							best = max(best, int(x[((n*g.H+iy)*g.W+ix)*g.C+c]))
						}
					}
					y[((n*g.OH+oy)*g.OW+ox)*g.C+c] = uint8(best)
				}
			}
		}
	}
}
