package qkernel

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/piresnet/piresnet/quant"
)

// convCase is one randomized convolution with everything the kernels and
// the reference need.
type convCase struct {
	g     ConvGeom
	xZero int32
	x     []uint8
	w     []int8
	bias  []int32
	req   []quant.Multiplier
	o     Output
}

func (c *convCase) String() string {
	g := c.g
	return fmt.Sprintf("N%d %dx%dx%d -> %dx%dx%d k%dx%d s%dx%d d%dx%d pad%d,%d groups %d xzp %d",
		g.N, g.H, g.W, g.C, g.OH, g.OW, g.OC, g.KH, g.KW, g.SH, g.SW, g.DH, g.DW, g.PadT, g.PadL, g.Groups, c.xZero)
}

// awkward channel counts: primes, around the tile sizes, and real ones.
var channelCounts = []int{1, 2, 3, 4, 5, 6, 7, 8, 11, 13, 16, 17, 23, 31, 32, 37, 64, 67}

func randConvCase(r *rand.Rand, pointwise bool) *convCase {
	var g ConvGeom
	g.N = 1 + r.IntN(2)
	g.Groups = pick(r, 1, 1, 1, 2, 3, 4)
	g.C = g.Groups * pick(r, channelCounts...)
	g.OC = g.Groups * pick(r, channelCounts...)
	g.SH, g.SW, g.DH, g.DW = 1, 1, 1, 1
	g.KH, g.KW = 1, 1
	var padB, padR int
	if !pointwise {
		g.KH, g.KW = 1+r.IntN(5), 1+r.IntN(5)
		if r.IntN(3) == 0 {
			g.KW = g.KH
		}
		g.SH, g.SW = 1+r.IntN(3), 1+r.IntN(3)
		if r.IntN(4) == 0 {
			g.DH, g.DW = 1+r.IntN(2), 1+r.IntN(2)
		}
		g.PadT, g.PadL, padB, padR = r.IntN(3), r.IntN(3), r.IntN(3), r.IntN(3)
	}
	g.H = max(1, (g.KH-1)*g.DH+1-g.PadT-padB) + r.IntN(8)
	g.W = max(1, (g.KW-1)*g.DW+1-g.PadL-padR) + r.IntN(9)
	g.OH = (g.H+g.PadT+padB-((g.KH-1)*g.DH+1))/g.SH + 1
	g.OW = (g.W+g.PadL+padR-((g.KW-1)*g.DW+1))/g.SW + 1
	c := &convCase{g: g, xZero: int32(r.IntN(256)), o: randOutput(r)}
	c.x = randU8(r, g.N*g.H*g.W*g.C)
	c.w = randS8(r, g.OC*g.KS()*g.KC())
	if r.IntN(4) != 0 {
		c.bias = make([]int32, g.OC)
		for i := range c.bias {
			c.bias[i] = int32(r.IntN(1<<17)) - 1<<16
		}
	}
	// Realistic scales: x_scale·w_scale/y_scale around 1e-4 … 1e-2, with
	// larger ones now and then.
	k := float64(g.KS() * g.KC())
	for range g.OC {
		c.req = append(c.req, randMultiplier(nil, r, 0.3/(k*128), 30/(k*128)))
	}
	return c
}

func (c *convCase) weights() *ConvWeights {
	g := c.g
	w := &ConvWeights{Groups: g.Groups, NC: g.NC(), KC: g.KC(), KS: g.KS(), W: c.w, Bias: c.bias, XZero: c.xZero}
	for _, m := range c.req {
		w.Req = append(w.Req, NewRequant(m))
	}
	return w
}

const guard = 0xA5

// run computes the case with kernel k the way the runtime does, in tiles
// of random sizes over pixels and channel blocks, into an output with a
// random row stride and guard bytes around every row.
func (c *convCase) run(t *testing.T, r *rand.Rand, k *ConvKernel, gemm bool) []uint8 {
	g := c.g
	pc, err := Pack(k, c.weights())
	if err != nil {
		t.Fatal(err)
	}
	// Arena: guard, input at a random offset, zero row, slack.
	xOff := r.IntN(40)
	zeroOff := xOff + len(c.x) + r.IntN(8)
	arena := make([]byte, zeroOff+g.C+XSlack)
	for i := range arena {
		arena[i] = byte(r.Uint32()) // garbage outside the tensor must not matter
	}
	copy(arena[xOff:], c.x)
	for i := 0; i < g.C+XSlack; i++ {
		arena[zeroOff+i] = byte(c.xZero)
	}
	var ind []int32
	if !gemm {
		ind = make([]int32, g.IndirectionLen())
		g.BuildIndirection(ind, xOff, zeroOff)
	}
	// Output: rows of stride ys ≥ OC with guard bytes, at offset yOff.
	ys := g.OC + r.IntN(5)
	yOff := r.IntN(7)
	y := make([]byte, yOff+g.Pixels()*ys+8)
	for i := range y {
		y[i] = guard
	}
	px, nc := g.Pixels(), g.NC()
	for grp := 0; grp < g.Groups; grp++ {
		for p0 := 0; p0 < px; {
			p1 := min(px, p0+1+r.IntN(2*k.MR+3))
			for n0 := 0; n0 < nc; {
				n1 := min(nc, n0+k.NR*(1+r.IntN(3)))
				if gemm {
					pc.RunGEMM(grp, p0, p1, n0, n1, arena, xOff, g.C, y, yOff, ys, &c.o)
				} else {
					pc.RunIGEMM(grp, p0, p1, n0, n1, ind, arena, y, yOff, ys, &c.o)
				}
				n0 = n1
			}
			p0 = p1
		}
	}
	// Guards untouched, then gather the tensor.
	out := make([]uint8, px*g.OC)
	for p := 0; p < px; p++ {
		copy(out[p*g.OC:], y[yOff+p*ys:yOff+p*ys+g.OC])
	}
	for i, v := range y {
		p := (i - yOff) / ys
		col := (i - yOff) % ys
		inside := i >= yOff && p < px && col < g.OC
		if !inside && v != guard {
			t.Fatalf("%s: kernel %s wrote byte %d outside the output (row %d col %d)", c, k.Name, i, p, col)
		}
	}
	return out
}

func TestConvKernelsMatchRef(t *testing.T) {
	r := newRand(t)
	cases := 400
	if testing.Short() {
		cases = 60
	}
	for _, k := range ConvKernels {
		if !k.Available {
			t.Logf("%s: not available on this CPU", k.Name)
			continue
		}
		t.Run(k.Name, func(t *testing.T) {
			for i := 0; i < cases; i++ {
				pointwise := i%3 == 0
				c := randConvCase(r, pointwise)
				want := make([]uint8, c.g.Pixels()*c.g.OC)
				ConvRef(&c.g, c.x, c.xZero, c.w, c.bias, c.req, c.o, want)
				got := c.run(t, r, k, false)
				if !slices.Equal(got, want) {
					t.Fatalf("%s: igemm differs from ConvRef at %s", c, firstDiff(got, want))
				}
				if pointwise {
					got = c.run(t, r, k, true)
					if !slices.Equal(got, want) {
						t.Fatalf("%s: gemm differs from ConvRef at %s", c, firstDiff(got, want))
					}
				}
			}
		})
	}
}

// Long reductions exercise the SWAR flush across taps and KC = 1 … 4608.
func TestConvKernelsLongK(t *testing.T) {
	r := newRand(t)
	for _, k := range ConvKernels {
		if !k.Available {
			continue
		}
		for _, kc := range []int{1, 3, 31, 32, 33, 64, 65, 257, 512} {
			g := ConvGeom{N: 1, H: 3, W: 4, C: kc, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PadT: 1, PadL: 1, OH: 3, OW: 4, Groups: 1, OC: 13}
			c := &convCase{g: g, xZero: int32(r.IntN(256)), o: randOutput(r)}
			// Extreme values: every product at −32640 (x = 255, w = −128)
			// or +32385 in whole channels, the worst case for the SWAR
			// lanes, else mixed; multipliers that keep the result in
			// range, so that an error in the sum shows.
			extreme := r.IntN(2) == 0
			c.x = make([]uint8, g.N*g.H*g.W*g.C)
			for i := range c.x {
				c.x[i] = pick[uint8](r, 0, 255, 255, uint8(r.Uint32()))
				if extreme {
					c.x[i] = 255
				}
			}
			c.w = make([]int8, g.OC*g.KS()*g.KC())
			per := g.KS() * g.KC()
			for i := range c.w {
				c.w[i] = pick[int8](r, -128, -128, 127, int8(r.Uint32()))
				if extreme {
					c.w[i] = [3]int8{-128, 127, -128}[(i/per)%3]
				}
			}
			for range g.OC {
				c.req = append(c.req, randMultiplier(t, r, 20/float64(per*32640), 100/float64(per*32640)))
			}
			want := make([]uint8, g.Pixels()*g.OC)
			ConvRef(&c.g, c.x, c.xZero, c.w, c.bias, c.req, c.o, want)
			if got := c.run(t, r, k, false); !slices.Equal(got, want) {
				t.Fatalf("%s: KC %d: differs from ConvRef at %s", k.Name, kc, firstDiff(got, want))
			}
		}
	}
}

func firstDiff(a, b []uint8) string {
	for i := range a {
		if a[i] != b[i] {
			return fmt.Sprintf("element %d: got %d, want %d", i, a[i], b[i])
		}
	}
	return "length"
}

func TestSelect(t *testing.T) {
	for _, c := range []string{"", "auto", "generic"} {
		k, err := Select(c)
		if err != nil || k == nil || !k.Available {
			t.Fatalf("Select(%q) = %v, %v", c, k, err)
		}
	}
	for _, k := range ConvKernels {
		if got, err := Select(k.Name); k.Available && (err != nil || got != k) {
			t.Errorf("Select(%q) = %v, %v", k.Name, got, err)
		}
	}
	if _, err := Select("mmx"); err == nil {
		t.Error(`Select("mmx") succeeded`)
	}
}
