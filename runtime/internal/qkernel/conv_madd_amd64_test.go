//go:build !purego

package qkernel

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// The VPMADDUBSW kernel is not in the kernel table (it is exact only for
// some weights) nor in the emulator's tests (it runs natively on every
// AVX2 machine, and the emulator exists for the AVX-512 kernels); it is
// tested here and in FuzzConvKernels (weightKernels) on weights that pass
// maddPairsFit.
func init() { weightKernels = append(weightKernels, maddKernel) }

// maddWeights draws weights that pass maddPairsFit: 7-bit values, or pairs
// at exactly |w0| + |w1| = 128 (including −128 beside 0), or a mix.
func maddWeights(r *rand.Rand, w []int8, kc int) {
	mode := r.IntN(3)
	for i := range w {
		w[i] = int8(r.IntN(128) - 64)
	}
	if mode == 0 {
		return
	}
	for row := 0; row < len(w)/kc; row++ {
		for k := row * kc; k < (row+1)*kc; k += 2 {
			if mode == 2 && r.IntN(2) == 0 {
				continue
			}
			a := r.IntN(129) // |w0|
			b := 128 - a     // |w1|
			if k+1 == (row+1)*kc {
				a = 128 // lone last channel: its pair is a zero pad
			}
			w0, w1 := -a, -b
			if r.IntN(2) == 0 && a < 128 {
				w0 = a
			}
			if r.IntN(2) == 0 && b < 128 {
				w1 = b
			}
			w[k] = int8(w0)
			if k+1 < (row+1)*kc {
				w[k+1] = int8(w1)
			}
		}
	}
}

func TestMaddKernelMatchesRef(t *testing.T) {
	if !maddKernel.Available {
		t.Skip("no AVX2")
	}
	r := newRand(t)
	cases := 600
	if testing.Short() {
		cases = 100
	}
	for i := 0; i < cases; i++ {
		pointwise := i%3 == 0
		c := edgeCase(r, maddKernel, pointwise)
		if i%5 == 0 { // widths from 1
			g := &c.g
			g.W, g.PadL, g.DW = 1, 0, 1
			g.KW = 1
			g.OW = 1
			c.x = randU8(r, g.N*g.H*g.W*g.C)
			c.w = randS8(r, g.OC*g.KS()*g.KC())
		}
		maddWeights(r, c.w, c.g.KC())
		if !maddPairsFit(c.weights()) {
			t.Fatalf("%s: maddWeights drew weights that do not fit", c)
		}
		want := make([]uint8, c.g.Pixels()*c.g.OC)
		ConvRef(&c.g, c.x, c.xZero, c.w, c.bias, c.req, c.o, want)
		if got := c.run(t, r, maddKernel, false); !slices.Equal(got, want) {
			t.Fatalf("%s: igemm differs from ConvRef at %s", c, firstDiff(got, want))
		}
		if c.g.Pointwise() {
			if got := c.run(t, r, maddKernel, true); !slices.Equal(got, want) {
				t.Fatalf("%s: gemm differs from ConvRef at %s", c, firstDiff(got, want))
			}
		}
	}
}

// Long reductions with every product at its extreme: x = 255 and pairs
// (−128, 0), (−64, −64), (64, −64): the int32 sums, not the int16 pairs, are
// what grows.
func TestMaddKernelLongK(t *testing.T) {
	if !maddKernel.Available {
		t.Skip("no AVX2")
	}
	r := newRand(t)
	for _, kc := range []int{1, 2, 3, 5, 31, 64, 257, 1024} {
		g := ConvGeom{N: 1, H: 3, W: 5, C: kc, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PadT: 1, PadL: 1, OH: 3, OW: 5, Groups: 1, OC: 37}
		c := &convCase{g: g, xZero: int32(r.IntN(256)), o: randOutput(r)}
		c.x = make([]uint8, g.N*g.H*g.W*g.C)
		for i := range c.x {
			c.x[i] = pick[uint8](r, 0, 255, 255, uint8(r.Uint32()))
		}
		c.w = make([]int8, g.OC*g.KS()*kc)
		p := pick(r, [2]int8{-128, 0}, [2]int8{-64, -64}, [2]int8{64, -64}, [2]int8{63, 63})
		for i := range c.w {
			c.w[i] = p[(i%kc)%2]
		}
		for range g.OC {
			c.req = append(c.req, randMultiplier(t, r, 1e-7, 1e-5))
		}
		if !maddPairsFit(c.weights()) {
			t.Fatalf("kc %d: weights %v do not fit", kc, p)
		}
		want := make([]uint8, g.Pixels()*g.OC)
		ConvRef(&c.g, c.x, c.xZero, c.w, c.bias, c.req, c.o, want)
		if got := c.run(t, r, maddKernel, false); !slices.Equal(got, want) {
			t.Fatalf("%s pairs %v: igemm differs from ConvRef at %s", c, p, firstDiff(got, want))
		}
	}
}

// A layer with one pair over 128 keeps the selected kernel; a layer whose
// pairs all fit gets the VPMADDUBSW kernel; other tiers are left alone.
func TestForWeightsPairCondition(t *testing.T) {
	if !maddKernel.Available {
		t.Skip("no AVX2")
	}
	avx2, err := Select(isaAVX2)
	if err != nil {
		t.Fatal(err)
	}
	r := newRand(t)
	for i := 0; i < 50; i++ {
		c := edgeCase(r, maddKernel, i%2 == 0)
		maddWeights(r, c.w, c.g.KC())
		w := c.weights()
		if got := ForWeights(avx2, w); got != maddKernel {
			t.Fatalf("%s: fitting weights got %s", c, got.Name)
		}
		if got := ForWeights(ConvKernels[0], w); got != ConvKernels[0] {
			t.Fatalf("%s: generic kernel replaced by %s", c, got.Name)
		}
		if c.g.KC() < 2 {
			// a lone channel pairs with a zero pad: any int8 fits
			c.w[r.IntN(len(c.w))] = -128
			if got := ForWeights(avx2, c.weights()); got != maddKernel {
				t.Fatalf("%s: KC=1 weights got %s", c, got.Name)
			}
			continue
		}
		// Break one pair: |w0| + |w1| = 129.
		row := r.IntN(len(c.w) / c.g.KC())
		k := row*c.g.KC() + 2*r.IntN(c.g.KC()/2)
		a := 1 + r.IntN(127)
		c.w[k], c.w[k+1] = int8(a), int8(-(129 - a))
		if r.IntN(2) == 0 {
			c.w[k], c.w[k+1] = c.w[k+1], c.w[k]
		}
		if got := ForWeights(avx2, c.weights()); got != avx2 {
			t.Fatalf("%s: a pair at 129 got %s", c, got.Name)
		}
		want := make([]uint8, c.g.Pixels()*c.g.OC)
		ConvRef(&c.g, c.x, c.xZero, c.w, c.bias, c.req, c.o, want)
		if got := c.run(t, r, ForWeights(avx2, c.weights()), false); !slices.Equal(got, want) {
			t.Fatalf("%s: igemm differs from ConvRef at %s", c, firstDiff(got, want))
		}
	}
	// Pairs are (4q, 4q+1) and (4q+2, 4q+3), per tap: 127 next to 127 across
	// a pair boundary fits.
	w := &ConvWeights{Groups: 1, NC: 1, KC: 4, KS: 2, W: []int8{0, 127, 127, 0, 0, 127, 127, 1}, Req: make([]Requant, 1)}
	for i := range w.Req {
		w.Req[i] = Requant{Mult: 1, Shift: 1}
	}
	if got := ForWeights(avx2, w); got != maddKernel {
		t.Fatalf("pairs across boundaries: got %s", got.Name)
	}
	w.W[7] = 2 // (127, 2) in a pair
	if got := ForWeights(avx2, w); got != avx2 {
		t.Fatalf("pair (127, 2): got %s", got.Name)
	}
}

// ResNet-50-like layers with 7-bit weights (what --reduce-range writes):
// the AVX2 kernels against the VPMADDUBSW kernel that ForWeights picks.
func BenchmarkConvAVX2Madd(b *testing.B) {
	pw := func(hw, c, oc int) ConvGeom {
		return ConvGeom{N: 1, H: hw, W: hw, C: c, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, OH: hw, OW: hw, Groups: 1, OC: oc}
	}
	layers := []struct {
		name string
		g    ConvGeom
	}{
		{"pw56_256x64", pw(56, 256, 64)},
		{"pw56_64x256", pw(56, 64, 256)},
		{"pw14_1024x256", pw(14, 1024, 256)},
		{"pw7_512x2048", pw(7, 512, 2048)},
		{"3x3_14_256", ConvGeom{N: 1, H: 14, W: 14, C: 256, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PadT: 1, PadL: 1, OH: 14, OW: 14, Groups: 1, OC: 256}},
	}
	var kernels []*ConvKernel
	for _, k := range amd64Kernels {
		if k.ISA == isaAVX2 && k.Available {
			kernels = append(kernels, k)
		}
	}
	if maddKernel.Available {
		kernels = append(kernels, maddKernel)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, l := range layers {
		for _, k := range kernels {
			b.Run(l.name+"/"+k.Name, func(b *testing.B) {
				g := l.g
				c := &convCase{g: g, xZero: 3, o: NewOutput(0, 0, 255)}
				c.x = randU8(r, g.N*g.H*g.W*g.C)
				c.w = make([]int8, g.OC*g.KS()*g.KC())
				for i := range c.w {
					c.w[i] = int8(r.IntN(128) - 64)
				}
				for range g.OC {
					c.req = append(c.req, randMultiplier(b, r, 1e-4, 1e-3))
				}
				pc, err := Pack(k, c.weights())
				if err != nil {
					b.Fatal(err)
				}
				zeroOff := len(c.x)
				arena := make([]byte, zeroOff+g.C+XSlack)
				copy(arena, c.x)
				ind := make([]int32, g.IndirectionLen())
				g.BuildIndirection(ind, 0, zeroOff)
				y := make([]byte, g.Pixels()*g.OC)
				for b.Loop() {
					if g.Pointwise() {
						pc.RunGEMM(0, 0, g.Pixels(), 0, g.OC, arena, 0, g.C, y, 0, g.OC, &c.o)
					} else {
						pc.RunIGEMM(0, 0, g.Pixels(), 0, g.OC, ind, arena, y, 0, g.OC, &c.o)
					}
				}
				b.ReportMetric(float64(g.MACs())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
	}
}
