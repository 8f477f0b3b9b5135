package qkernel

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/piresnet/piresnet/quant"
)

// edgeCase is a convolution aimed at the SIMD kernels' edges: tiles of
// 1 … MR pixels, channel counts around NR and its multiples, KC not a
// multiple of 4, every requantization branch (multipliers ≥ 0.5, huge
// and zero ones, shifts below 32), guard bands (convCase.run).
func edgeCase(r *rand.Rand, k *ConvKernel, pointwise bool) *convCase {
	c := randConvCase(r, pointwise)
	g := &c.g
	// Channel counts straddling NR.
	if r.IntN(2) == 0 {
		nc := pick(r, 1, k.NR-1, k.NR, k.NR+1, 2*k.NR-3, 2*k.NR, 3*k.NR+5)
		nc = max(nc, 1)
		g.OC = g.Groups * nc
	}
	if r.IntN(3) == 0 {
		g.C = g.Groups * pick(r, 1, 2, 3, 5, 7, 9, 13, 21, 47, 64, 129)
	}
	c.x = randU8(r, g.N*g.H*g.W*g.C)
	c.w = randS8(r, g.OC*g.KS()*g.KC())
	if c.bias != nil {
		c.bias = c.bias[:0]
		for range g.OC {
			c.bias = append(c.bias, int32(r.IntN(1<<17))-1<<16)
		}
	}
	k2 := float64(g.KS() * g.KC())
	c.req = c.req[:0]
	for range g.OC {
		var m quant.Multiplier
		switch r.IntN(8) {
		case 0: // large: shifts below 32, saturating
			m = randMultiplier(nil, r, 0.5, 1e6)
		case 1:
			m = quant.Multiplier{}
		case 2: // tiny: rounds to 0 or ±1
			m = randMultiplier(nil, r, 1e-9, 1e-6)
		default:
			m = randMultiplier(nil, r, 0.3/(k2*128), 30/(k2*128))
		}
		c.req = append(c.req, m)
	}
	return c
}

// weightKernels are kernels outside the table that are exact only for
// weights that pass their pair check (on amd64, the VPMADDUBSW kernel):
// FuzzConvKernels runs them on the case's weights halved to 7 bits.
var weightKernels []*ConvKernel

// FuzzConvKernels diffs every kernel of the table that runs on this CPU
// (generic, and the SIMD kernels of the architecture) against ConvRef on a
// convolution whose shape the fuzzer picks (channels, window, strides,
// dilation, padding, groups, input size) and whose data (including extreme
// weights and any int32 bias), zero points, output range and
// requantization come from seed.
func FuzzConvKernels(f *testing.F) {
	f.Add(uint64(1), uint8(3), uint8(64), uint8(3), uint8(3), uint8(1), uint8(1), uint8(0), uint8(0x11), uint8(1), uint8(9), uint8(9))
	f.Add(uint64(2), uint8(17), uint8(33), uint8(1), uint8(1), uint8(1), uint8(1), uint8(0), uint8(0), uint8(2), uint8(1), uint8(20))
	f.Add(uint64(3), uint8(5), uint8(7), uint8(7), uint8(7), uint8(2), uint8(2), uint8(1), uint8(0x33), uint8(1), uint8(12), uint8(12))
	f.Fuzz(func(t *testing.T, seed uint64, c, oc, kh, kw, s, d, pad, grp, n, h, w uint8) {
		var g ConvGeom
		g.Groups = 1 + int(grp)%4
		g.C = g.Groups * (1 + int(c)%80)
		g.OC = g.Groups * (1 + int(oc)%80)
		g.KH, g.KW = 1+int(kh)%7, 1+int(kw)%7
		g.SH, g.SW = 1+int(s)%3, 1+int(s>>4)%3
		g.DH, g.DW = 1+int(d)%2, 1+int(d>>4)%2
		g.PadT, g.PadL = int(pad)%3, int(pad>>2)%3
		padB, padR := int(pad>>4)%3, int(pad>>6)%3
		g.N = 1 + int(n)%2
		g.H, g.W = 1+int(h)%24, 1+int(w)%24
		g.OH = (g.H+g.PadT+padB-((g.KH-1)*g.DH+1))/g.SH + 1
		g.OW = (g.W+g.PadL+padR-((g.KW-1)*g.DW+1))/g.SW + 1
		if g.H+g.PadT+padB < (g.KH-1)*g.DH+1 || g.W+g.PadL+padR < (g.KW-1)*g.DW+1 || g.Check() != nil {
			return
		}
		r := rand.New(rand.NewPCG(seed, 7))
		cs := edgeCase(r, ConvKernels[0], g.Pointwise())
		cs.g = g
		cs.x = randU8(r, g.N*g.H*g.W*g.C)
		cs.w = randS8(r, g.OC*g.KS()*g.KC())
		if r.IntN(3) == 0 { // extreme weights: (-128, -128) pairs saturate int16 pair sums
			for i := range cs.w {
				cs.w[i] = pick[int8](r, -128, -128, 127, -127)
			}
		}
		cs.bias = nil
		switch r.IntN(4) {
		case 0, 1:
			for range g.OC {
				cs.bias = append(cs.bias, int32(r.IntN(1<<17))-1<<16)
			}
		case 2: // any int32
			for range g.OC {
				cs.bias = append(cs.bias, int32(r.Uint32()))
			}
		}
		cs.req = cs.req[:0]
		k2 := float64(g.KS() * g.KC())
		for range g.OC {
			m := randMultiplier(t, r, 0.3/(k2*128), 30/(k2*128))
			if r.IntN(6) == 0 {
				m = randMultiplier(t, r, 0.5, 1e5)
			}
			cs.req = append(cs.req, m)
		}
		want := make([]uint8, g.Pixels()*g.OC)
		check := func(kernels []*ConvKernel, what string) {
			ConvRef(&cs.g, cs.x, cs.xZero, cs.w, cs.bias, cs.req, cs.o, want)
			for _, k := range kernels {
				if !k.Available {
					continue
				}
				if got := cs.run(t, r, k, false); !slices.Equal(got, want) {
					t.Fatalf("%s: %s: igemm%s differs from ConvRef at %s", k.Name, cs, what, firstDiff(got, want))
				}
				if g.Pointwise() {
					if got := cs.run(t, r, k, true); !slices.Equal(got, want) {
						t.Fatalf("%s: %s: gemm%s differs from ConvRef at %s", k.Name, cs, what, firstDiff(got, want))
					}
				}
			}
		}
		check(ConvKernels, "")
		if len(weightKernels) == 0 {
			return
		}
		for i := range cs.w {
			cs.w[i] >>= 1 // 7 bits: every pair fits
		}
		check(weightKernels, " (7-bit weights)")
	})
}
