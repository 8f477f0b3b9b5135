package qkernel

import "fmt"

// PoolGeom is a pooling window over an NHWC uint8 tensor N×H×W×C giving
// N×OH×OW×C. Window (oy, ox) covers input rows oy·SH − PadT + ky·DH for ky
// in [0, KH) (columns likewise); rows outside [0, H) are padding. PadB and
// PadR matter only to average pooling with count_include_pad: taps in
// [−PadT, H+PadB) count, taps beyond (those of a ceil_mode window past the
// end padding) never do, as in torch and ONNX's reference.
type PoolGeom struct {
	N, H, W, C             int
	KH, KW, SH, SW, DH, DW int
	PadT, PadL, PadB, PadR int
	OH, OW                 int
}

// Check reports an inconsistent geometry, or one with a window that covers
// no input pixel (its result would not be defined by the input).
func (g *PoolGeom) Check() error {
	if g.N < 1 || g.H < 1 || g.W < 1 || g.C < 1 || g.OH < 1 || g.OW < 1 || g.KH < 1 || g.KW < 1 ||
		g.SH < 1 || g.SW < 1 || g.DH < 1 || g.DW < 1 || g.PadT < 0 || g.PadL < 0 || g.PadB < 0 || g.PadR < 0 {
		return fmt.Errorf("qkernel: pool geometry %+v is invalid", *g)
	}
	for oy := 0; oy < g.OH; oy++ {
		if n, _ := g.rowSpan(oy); n == 0 {
			return fmt.Errorf("qkernel: pool window row %d covers no input", oy)
		}
	}
	for ox := 0; ox < g.OW; ox++ {
		if n, _ := g.colSpan(ox); n == 0 {
			return fmt.Errorf("qkernel: pool window column %d covers no input", ox)
		}
	}
	return nil
}

// rowSpan and colSpan return the taps of window row oy (column ox) inside
// the input and inside the padded input.
func (g *PoolGeom) rowSpan(oy int) (inside, padded int) {
	return countTaps(oy*g.SH-g.PadT, g.KH, g.DH, g.H, g.PadT, g.PadB)
}

func (g *PoolGeom) colSpan(ox int) (inside, padded int) {
	return countTaps(ox*g.SW-g.PadL, g.KW, g.DW, g.W, g.PadL, g.PadR)
}

func countTaps(i0, k, d, n, pb, pe int) (inside, padded int) {
	for t := 0; t < k; t++ {
		i := i0 + t*d
		if i >= 0 && i < n {
			inside++
		}
		if i >= -pb && i < n+pe {
			padded++
		}
	}
	return
}

// Divisor is the number an average pooling window (oy, ox) divides by:
// its taps inside the input, or with countPad inside the padded input.
func (g *PoolGeom) Divisor(oy, ox int, countPad bool) int {
	ri, rp := g.rowSpan(oy)
	ci, cp := g.colSpan(ox)
	if countPad {
		return rp * cp
	}
	return ri * ci
}

// AdaptiveWindow returns the input range [start, end) that adaptive
// pooling of n inputs to m outputs gives output i: [⌊i·n/m⌋, ⌈(i+1)·n/m⌉)
// (torch's AdaptiveAvgPool2d and AdaptiveMaxPool2d). Global pooling is
// m = 1.
func AdaptiveWindow(i, n, m int) (start, end int) {
	return i * n / m, ((i+1)*n + m - 1) / m
}
