package qkernel

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// FuzzConvKernelTable diffs every kernel of the table that runs on this CPU
// (generic, and the SIMD kernels of the architecture) against ConvRef on a
// convolution decoded from the fuzzer's bytes (sizes, window, zero points,
// output range, and a seed for the data).
func FuzzConvKernelTable(f *testing.F) {
	f.Add(uint64(1), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(uint64(2), []byte{17, 5, 3, 2, 2, 1, 1, 1, 0, 128, 3, 200})
	f.Add(uint64(3), []byte{63, 33, 7, 1, 1, 0, 0, 2, 1, 255, 0, 0})
	f.Add(uint64(4), []byte{15, 16, 4, 3, 3, 1, 0, 0, 2, 7, 1, 64})
	f.Fuzz(func(t *testing.T, seed uint64, b []byte) {
		at := func(i, mod int) int {
			if i < len(b) {
				return int(b[i]) % mod
			}
			return 0
		}
		var g ConvGeom
		g.N, g.DH, g.DW = 1, 1, 1
		g.Groups = 1 + at(8, 3)
		g.C = g.Groups * (1 + at(0, 70))
		g.OC = g.Groups * (1 + at(1, 40))
		g.KH, g.KW = 1+at(2, 3), 1+at(3, 3)
		g.SH, g.SW = 1+at(4, 2), 1+at(5, 2)
		g.PadT, g.PadL = min(at(6, 3), g.KH-1), min(at(7, 3), g.KW-1)
		r := rand.New(rand.NewPCG(seed, 7))
		g.H, g.W = g.KH+r.IntN(5), g.KW+r.IntN(6)
		g.OH = (g.H+2*g.PadT-g.KH)/g.SH + 1
		g.OW = (g.W+2*g.PadL-g.KW)/g.SW + 1
		if err := g.Check(); err != nil {
			t.Fatal(err)
		}
		c := &convCase{g: g, xZero: int32(at(9, 256))}
		zp := int32(at(11, 256))
		switch at(10, 3) {
		case 0:
			c.o = NewOutput(zp, 0, 255)
		case 1:
			c.o = NewOutput(zp, zp, 255)
		default:
			c.o = NewOutput(zp, min(zp, 20), max(zp, 230))
		}
		c.x = randU8(r, g.N*g.H*g.W*g.C)
		c.w = randS8(r, g.OC*g.KS()*g.KC())
		if r.IntN(3) == 0 {
			for i := range c.w {
				c.w[i] = pick[int8](r, -128, -128, 127, -127)
			}
		}
		c.bias = make([]int32, g.OC)
		for i := range c.bias {
			c.bias[i] = int32(r.Uint32())
		}
		kk := float64(g.KS() * g.KC() * 128)
		for range g.OC {
			c.req = append(c.req, randMultiplier(t, r, 0.3/kk, 300/kk))
		}
		want := make([]uint8, g.Pixels()*g.OC)
		ConvRef(&c.g, c.x, c.xZero, c.w, c.bias, c.req, c.o, want)
		for _, k := range ConvKernels {
			if !k.Available {
				continue
			}
			if got := c.run(t, r, k, false); !slices.Equal(got, want) {
				t.Fatalf("%s: %s: igemm differs from ConvRef at %s", k.Name, c, firstDiff(got, want))
			}
			if g.Pointwise() {
				if got := c.run(t, r, k, true); !slices.Equal(got, want) {
					t.Fatalf("%s: %s: gemm differs from ConvRef at %s", k.Name, c, firstDiff(got, want))
				}
			}
		}
	})
}
