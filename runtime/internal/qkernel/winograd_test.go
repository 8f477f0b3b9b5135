package qkernel

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/piresnet/piresnet/quant"
)

// winogradCase is a random 3×3 stride-1 convolution the Winograd path
// takes: odd and even output sizes (partial tiles), pads 0 … 2, batch 1 or
// 2, input channels not a multiple of 16, every requantization branch.
func winogradCase(r *rand.Rand) *convCase {
	var g ConvGeom
	g.N = 1 + r.IntN(2)
	g.Groups = 1
	g.KH, g.KW, g.SH, g.SW, g.DH, g.DW = 3, 3, 1, 1, 1, 1
	g.C = pick(r, 1, 3, 8, 15, 16, 17, 33, 64, 100)
	g.OC = 16 * (1 + r.IntN(3))
	g.PadT, g.PadL = r.IntN(3), r.IntN(3)
	padB, padR := r.IntN(3), r.IntN(3)
	g.H = max(1, 3-g.PadT-padB) + r.IntN(9)
	g.W = max(1, 3-g.PadL-padR) + r.IntN(9)
	g.OH = g.H + g.PadT + padB - 2
	g.OW = g.W + g.PadL + padR - 2
	c := &convCase{g: g, xZero: int32(r.IntN(256)), o: randOutput(r)}
	c.x = randU8(r, g.N*g.H*g.W*g.C)
	c.w = randS8(r, g.OC*9*g.C)
	if r.IntN(4) != 0 {
		c.bias = make([]int32, g.OC)
		for i := range c.bias {
			c.bias[i] = int32(r.IntN(1<<17)) - 1<<16
		}
	}
	k := float64(9 * g.C)
	for range g.OC {
		var m quant.Multiplier
		switch r.IntN(8) {
		case 0:
			m = randMultiplier(nil, r, 0.5, 1e6)
		case 1:
			m = quant.Multiplier{}
		default:
			m = randMultiplier(nil, r, 0.3/(k*128), 30/(k*128))
		}
		c.req = append(c.req, m)
	}
	return c
}

// runWinograd computes c through Winograd in random tile ranges, into an
// output with guard bytes around it.
func (c *convCase) runWinograd(t *testing.T, r *rand.Rand, wg *Winograd) []uint8 {
	g := c.g
	xOff := r.IntN(40)
	zeroOff := xOff + len(c.x) + r.IntN(8)
	arena := make([]byte, zeroOff+g.C+XSlack)
	for i := range arena {
		arena[i] = byte(r.Uint32())
	}
	copy(arena[xOff:], c.x)
	for i := 0; i < g.C+XSlack; i++ {
		arena[zeroOff+i] = byte(c.xZero)
	}
	yOff := r.IntN(7)
	y := make([]byte, yOff+g.Pixels()*g.OC+8)
	for i := range y {
		y[i] = guard
	}
	scratch := make([]byte, wg.ScratchBytes())
	tiles := wg.Tiles(&g)
	for t0 := 0; t0 < tiles; {
		t1 := min(tiles, t0+1+r.IntN(2*wg.ChunkTiles()))
		// The channels in one range or in random ranges of whole blocks.
		for n0 := 0; n0 < g.OC; {
			n1 := g.OC
			if r.IntN(2) == 0 {
				n1 = min(g.OC, n0+16*(1+r.IntN(3)))
			}
			wg.Run(&g, t0, t1, n0, n1, arena, xOff, zeroOff, y, yOff, g.OC, &c.o, scratch)
			n0 = n1
		}
		t0 = t1
	}
	for i, v := range y {
		if (i < yOff || i >= yOff+g.Pixels()*g.OC) && v != guard {
			t.Fatalf("%s: Winograd wrote byte %d outside the output", c, i)
		}
	}
	return y[yOff : yOff+g.Pixels()*g.OC]
}

func TestWinogradMatchesRef(t *testing.T) {
	if winogradISA == "" {
		t.Logf("no Winograd kernels on this CPU or build")
		return
	}
	k, err := Select(winogradISA)
	if err != nil {
		t.Fatal(err)
	}
	r := newRand(t)
	n := 300
	if testing.Short() {
		n = 50
	}
	for i := 0; i < n; i++ {
		c := winogradCase(r)
		wg, err := NewWinograd(k, c.weights())
		if err != nil || wg == nil {
			t.Fatalf("%s: NewWinograd = %v, %v", c, wg, err)
		}
		want := make([]uint8, c.g.Pixels()*c.g.OC)
		ConvRef(&c.g, c.x, c.xZero, c.w, c.bias, c.req, c.o, want)
		if got := c.runWinograd(t, r, wg); !slices.Equal(got, want) {
			t.Fatalf("%s: Winograd differs from ConvRef at %s", c, firstDiff(got, want))
		}
	}
}

// The extreme sums: every input 255 or 0 against weights ±128/127 over many
// channels, where the transformed products are largest.
func TestWinogradExtremes(t *testing.T) {
	if winogradISA == "" {
		t.Logf("no Winograd kernels on this CPU or build")
		return
	}
	k, _ := Select(winogradISA)
	r := newRand(t)
	for _, C := range []int{16, 255, 512, 1024} {
		g := ConvGeom{N: 1, H: 5, W: 6, C: C, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PadT: 1, PadL: 1, OH: 5, OW: 6, Groups: 1, OC: 16}
		c := &convCase{g: g, xZero: int32(r.IntN(256)), o: NewOutput(128, 0, 255)}
		c.x = make([]uint8, g.N*g.H*g.W*g.C)
		for i := range c.x {
			c.x[i] = pick[uint8](r, 0, 255)
		}
		c.w = make([]int8, g.OC*9*C)
		for i := range c.w {
			c.w[i] = pick[int8](r, -128, 127, -128)
		}
		per := float64(9 * C * 32640)
		for range g.OC {
			c.req = append(c.req, randMultiplier(t, r, 20/per, 200/per))
		}
		wg, _ := NewWinograd(k, c.weights())
		want := make([]uint8, g.Pixels()*g.OC)
		ConvRef(&c.g, c.x, c.xZero, c.w, c.bias, c.req, c.o, want)
		if got := c.runWinograd(t, r, wg); !slices.Equal(got, want) {
			t.Fatalf("C=%d: Winograd differs from ConvRef at %s", C, firstDiff(got, want))
		}
	}
}
