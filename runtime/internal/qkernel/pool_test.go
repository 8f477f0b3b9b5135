package qkernel

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/piresnet/piresnet/quant"
)

// randPoolGeom returns a random pooling geometry, ceil_mode included (the
// last window may hang over the end padding), with every window covering
// at least one input pixel.
func randPoolGeom(r *rand.Rand) *PoolGeom {
	for {
		g := &PoolGeom{N: 1 + r.IntN(2), C: pick(r, channelCounts...)}
		g.KH, g.KW = 1+r.IntN(4), 1+r.IntN(4)
		g.SH, g.SW = 1+r.IntN(3), 1+r.IntN(3)
		g.DH, g.DW = 1, 1
		if r.IntN(4) == 0 {
			g.DH, g.DW = 1+r.IntN(2), 1+r.IntN(2)
		}
		g.PadT, g.PadB = r.IntN(g.KH), r.IntN(g.KH)
		g.PadL, g.PadR = r.IntN(g.KW), r.IntN(g.KW)
		g.H, g.W = 1+r.IntN(9), 1+r.IntN(9)
		ceil := r.IntN(2) == 0
		out := func(in, pb, pe, k, d, s int) int {
			span := in + pb + pe - ((k-1)*d + 1)
			if span < 0 {
				return 0
			}
			if ceil {
				o := (span+s-1)/s + 1
				if (o-1)*s >= in+pb {
					o--
				}
				return o
			}
			return span/s + 1
		}
		g.OH = out(g.H, g.PadT, g.PadB, g.KH, g.DH, g.SH)
		g.OW = out(g.W, g.PadL, g.PadR, g.KW, g.DW, g.SW)
		if g.Check() == nil {
			return g
		}
	}
}

func TestMaxPoolMatchesRef(t *testing.T) {
	r := newRand(t)
	for i := 0; i < 500; i++ {
		g := randPoolGeom(r)
		x := randU8(r, g.N*g.H*g.W*g.C)
		want := make([]uint8, g.N*g.OH*g.OW*g.C)
		MaxPoolRef(g, x, want)
		got := make([]uint8, len(want))
		px := g.N * g.OH * g.OW
		for p0 := 0; p0 < px; {
			p1 := min(px, p0+1+r.IntN(5))
			MaxPool(g, x, got, p0, p1)
			p0 = p1
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%+v: MaxPool differs from MaxPoolRef at %s", *g, firstDiff(got, want))
		}
	}
}

func TestAvgPoolMatchesRef(t *testing.T) {
	r := newRand(t)
	for i := 0; i < 500; i++ {
		g := randPoolGeom(r)
		countPad := r.IntN(2) == 0
		xZero := int32(r.IntN(256))
		o := randOutput(r)
		ratio := 0.2 + 3*r.Float64() // x_scale / y_scale
		mults := make([]quant.Multiplier, g.KH*g.KW+1)
		reqs := make([]Requant, len(mults))
		for d := 1; d < len(mults); d++ {
			m, err := quant.QuantizeMultiplier(ratio / float64(d))
			if err != nil {
				t.Fatal(err)
			}
			mults[d], reqs[d] = m, NewRequant(m)
		}
		x := randU8(r, g.N*g.H*g.W*g.C)
		want := make([]uint8, g.N*g.OH*g.OW*g.C)
		AvgPoolRef(g, x, xZero, countPad, mults, o, want)
		got := make([]uint8, len(want))
		acc := make([]int32, g.C)
		px := g.N * g.OH * g.OW
		for p0 := 0; p0 < px; {
			p1 := min(px, p0+1+r.IntN(5))
			AvgPool(g, x, xZero, countPad, reqs, &o, got, p0, p1, acc)
			p0 = p1
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%+v countPad %v: AvgPool differs from AvgPoolRef at %s", *g, countPad, firstDiff(got, want))
		}
	}
}

func TestAdaptivePoolsMatchRef(t *testing.T) {
	r := newRand(t)
	for i := 0; i < 400; i++ {
		g := &AdaptiveGeom{N: 1 + r.IntN(2), H: 1 + r.IntN(12), W: 1 + r.IntN(12), C: pick(r, channelCounts...)}
		g.OH, g.OW = 1, 1
		if i%2 == 1 {
			g.OH, g.OW = 1+r.IntN(g.H), 1+r.IntN(g.W)
			if r.IntN(3) == 0 { // more outputs than inputs: overlapping windows
				g.OH, g.OW = g.H+r.IntN(3), g.W+r.IntN(3)
			}
		}
		xZero := int32(r.IntN(256))
		o := randOutput(r)
		ratio := 0.2 + 3*r.Float64()
		mults := make([]quant.Multiplier, g.Cells())
		reqs := make([]Requant, g.Cells())
		for oy := 0; oy < g.OH; oy++ {
			for ox := 0; ox < g.OW; ox++ {
				m, err := quant.QuantizeMultiplier(ratio / float64(g.Count(oy, ox)))
				if err != nil {
					t.Fatal(err)
				}
				mults[oy*g.OW+ox], reqs[oy*g.OW+ox] = m, NewRequant(m)
			}
		}
		x := randU8(r, g.N*g.H*g.W*g.C)
		want := make([]uint8, g.N*g.Cells()*g.C)
		got := make([]uint8, len(want))
		acc := make([]int32, g.C)
		AdaptiveAvgPoolRef(g, x, xZero, mults, o, want)
		for c0 := 0; c0 < g.C; {
			c1 := min(g.C, c0+1+r.IntN(9))
			AdaptiveAvgPool(g, x, xZero, reqs, &o, got, c0, c1, acc)
			c0 = c1
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%+v: AdaptiveAvgPool differs from AdaptiveAvgPoolRef at %s", *g, firstDiff(got, want))
		}
		AdaptiveMaxPoolRef(g, x, want)
		for c0 := 0; c0 < g.C; {
			c1 := min(g.C, c0+1+r.IntN(9))
			AdaptiveMaxPool(g, x, got, c0, c1)
			c0 = c1
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%+v: AdaptiveMaxPool differs from AdaptiveMaxPoolRef at %s", *g, firstDiff(got, want))
		}
	}
}

// The adaptive windows are torch's: they cover the input, in order, and
// global pooling takes everything.
func TestAdaptiveWindow(t *testing.T) {
	for n := 1; n < 30; n++ {
		for m := 1; m < 2*n+2; m++ {
			prevStart := 0
			for i := 0; i < m; i++ {
				s, e := AdaptiveWindow(i, n, m)
				if s < prevStart || e <= s || e > n {
					t.Fatalf("n %d m %d: window %d is [%d, %d)", n, m, i, s, e)
				}
				prevStart = s
			}
			if s, _ := AdaptiveWindow(0, n, m); s != 0 {
				t.Fatalf("n %d m %d: first window starts at %d", n, m, s)
			}
			if _, e := AdaptiveWindow(m-1, n, m); e != n {
				t.Fatalf("n %d m %d: last window ends at %d", n, m, e)
			}
		}
	}
}
