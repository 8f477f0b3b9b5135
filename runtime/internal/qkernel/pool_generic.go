package qkernel

// Portable pooling kernels over NHWC rows: a window is a set of input pixel
// rows of C channels, combined a whole row at a time (the inner loops run
// over channels with their bounds checks hoisted). Each function computes a
// range of output pixels (or channels, for adaptive pooling), the unit the
// worker pool splits.

// MaxPool computes output pixels [p0, p1) (p = (n·OH + oy)·OW + ox) of max
// pooling.
func MaxPool(g *PoolGeom, x, y []uint8, p0, p1 int) {
	C := g.C
	var buf [16]int64 // ResNet's window is 3×3
	offs := buf[:0]
	for p := p0; p < p1; p++ {
		out := y[p*C : (p+1)*C]
		offs = g.windowOffsets(p, offs[:0])
		if len(offs) == 0 {
			continue
		}
		// The SIMD kernel takes the whole window in one call; the channels
		// past its multiple of 32 run here.
		done := maxTapsArch(out, x, offs)
		if done == C {
			continue
		}
		copy(out[done:], x[offs[0]+int64(done):offs[0]+int64(C)])
		for _, o := range offs[1:] {
			maxRow(out[done:], x[o+int64(done):o+int64(C)])
		}
	}
}

// windowOffsets appends to offs the offsets in the input of the first
// channel of every input pixel of output pixel p's window that lies inside
// the input (the padding is skipped), in tap order.
func (g *PoolGeom) windowOffsets(p int, offs []int64) []int64 {
	ox := p % g.OW
	oy := (p / g.OW) % g.OH
	n := p / (g.OW * g.OH)
	for ky := 0; ky < g.KH; ky++ {
		iy := oy*g.SH - g.PadT + ky*g.DH
		if uint(iy) >= uint(g.H) {
			continue
		}
		for kx := 0; kx < g.KW; kx++ {
			ix := ox*g.SW - g.PadL + kx*g.DW
			if uint(ix) < uint(g.W) {
				offs = append(offs, int64(((n*g.H+iy)*g.W+ix)*g.C))
			}
		}
	}
	return offs
}

// maxRow sets out[i] = max(out[i], in[i]): SIMD (maxRowArch) where the
// CPU has it, then the rest here.
func maxRow(out, in []uint8) {
	in = in[:len(out)]
	for i := maxRowArch(out, in); i < len(out); i++ {
		out[i] = max(out[i], in[i])
	}
}

// AvgPool computes output pixels [p0, p1) of average pooling: the sum of
// (x − xZero) over the window's taps inside the input, requantized with
// reqs[d] for the window's divisor d. acc is scratch of at least C int32.
func AvgPool(g *PoolGeom, x []uint8, xZero int32, countPad bool, reqs []Requant, o *Output, y []uint8, p0, p1 int, acc []int32) {
	C := g.C
	acc = acc[:C]
	var buf [16]int64
	offs := buf[:0]
	for p := p0; p < p1; p++ {
		clear(acc)
		offs = g.windowOffsets(p, offs[:0])
		for _, off := range offs {
			sumRow(acc, x[off:off+int64(C)])
		}
		r := reqs[g.Divisor((p/g.OW)%g.OH, p%g.OW, countPad)]
		requantRow(y[p*C:(p+1)*C], acc, int32(len(offs))*xZero, r, o)
	}
}

// sumRow adds in to acc.
func sumRow(acc []int32, in []uint8) {
	in = in[:len(acc)]
	for i, v := range in {
		acc[i] += int32(v)
	}
}

// requantRow writes requantize(acc[i] − bias) to out.
func requantRow(out []uint8, acc []int32, bias int32, r Requant, o *Output) {
	acc = acc[:len(out)]
	m, s := int64(r.Mult), uint(r.Shift)
	for i, a := range acc {
		out[i] = requantize(a-bias, m, s, o)
	}
}

// AdaptiveAvgPool computes channels [c0, c1) of every output cell of
// adaptive average pooling (global pooling when OH = OW = 1), with the
// multiplier reqs[oy·OW+ox] per cell. acc is scratch of at least c1 − c0
// int32.
func AdaptiveAvgPool(g *AdaptiveGeom, x []uint8, xZero int32, reqs []Requant, o *Output, y []uint8, c0, c1 int, acc []int32) {
	C := g.C
	acc = acc[:c1-c0]
	for n := 0; n < g.N; n++ {
		for oy := 0; oy < g.OH; oy++ {
			y0, y1 := AdaptiveWindow(oy, g.H, g.OH)
			for ox := 0; ox < g.OW; ox++ {
				x0, x1 := AdaptiveWindow(ox, g.W, g.OW)
				clear(acc)
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						off := ((n*g.H+iy)*g.W+ix)*C + c0
						sumRow(acc, x[off:off+c1-c0])
					}
				}
				count := int32((y1 - y0) * (x1 - x0))
				off := ((n*g.OH+oy)*g.OW+ox)*C + c0
				requantRow(y[off:off+c1-c0], acc, count*xZero, reqs[oy*g.OW+ox], o)
			}
		}
	}
}

// AdaptiveMaxPool computes channels [c0, c1) of every output cell of
// adaptive max pooling.
func AdaptiveMaxPool(g *AdaptiveGeom, x, y []uint8, c0, c1 int) {
	C := g.C
	for n := 0; n < g.N; n++ {
		for oy := 0; oy < g.OH; oy++ {
			y0, y1 := AdaptiveWindow(oy, g.H, g.OH)
			for ox := 0; ox < g.OW; ox++ {
				x0, x1 := AdaptiveWindow(ox, g.W, g.OW)
				off := ((n*g.OH+oy)*g.OW+ox)*C + c0
				out := y[off : off+c1-c0]
				first := true
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						off := ((n*g.H+iy)*g.W+ix)*C + c0
						in := x[off : off+c1-c0]
						if first {
							copy(out, in)
							first = false
						} else {
							maxRow(out, in)
						}
					}
				}
			}
		}
	}
}
