//go:build !purego

package qkernel

import (
	"encoding/binary"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/piresnet/piresnet/quant"
	"golang.org/x/sys/cpu"
)

// arm64Kernels returns the available arm64 kernels of the table.
func arm64Kernels(t *testing.T) []*ConvKernel {
	var ks []*ConvKernel
	for _, k := range ConvKernels {
		if k.ISA != isaNeon && k.ISA != isaNeonDot {
			continue
		}
		if !k.Available {
			t.Logf("%s: not available on this CPU", k.Name)
			continue
		}
		ks = append(ks, k)
	}
	if len(ks) == 0 {
		t.Fatal("no arm64 kernel runs on this CPU: every arm64 core has Advanced SIMD")
	}
	return ks
}

// TestArm64Tier checks what the CPU features select. QKERNEL_WANT_ISA, set
// by the test matrix (README), names the tier the emulated CPU must get:
// "neon" under qemu -cpu cortex-a72 (no dot product: neondot must refuse
// to run), "neondot" under -cpu cortex-a76.
func TestArm64Tier(t *testing.T) {
	t.Logf("cpu.ARM64: ASIMD %v, ASIMDDP %v", cpu.ARM64.HasASIMD, cpu.ARM64.HasASIMDDP)
	auto, err := Select("auto")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("auto selects %s", auto.Name)
	if _, err := Select(isaNeon); err != nil {
		t.Errorf("Select(neon): %v", err)
	}
	dot, dotErr := Select(isaNeonDot)
	if cpu.ARM64.HasASIMDDP != (dotErr == nil) {
		t.Errorf("ASIMDDP %v but Select(neondot) = %v, %v", cpu.ARM64.HasASIMDDP, dot, dotErr)
	}
	switch want := os.Getenv("QKERNEL_WANT_ISA"); want {
	case "":
	case isaNeon:
		if auto.ISA != isaNeon || dotErr == nil {
			t.Errorf("want tier neon only: auto = %s, Select(neondot) error %v", auto.Name, dotErr)
		}
	case isaNeonDot:
		if auto.ISA != isaNeonDot {
			t.Errorf("want tier neondot: auto = %s", auto.Name)
		}
	default:
		t.Fatalf("QKERNEL_WANT_ISA=%q: want neon or neondot", want)
	}
}

// TestArm64RaggedSweep walks every input-channel count around the steps of
// the kernels (4, 8, 16), channel counts around NR, pixel counts from 1 to
// past the tile, in both IGEMM (3x3, stride 2, padding) and GEMM form.
func TestArm64RaggedSweep(t *testing.T) {
	r := newRand(t)
	kcs := []int{1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 20, 23, 24, 25, 31, 32, 33, 40, 47, 48, 63, 64, 65, 129}
	ncs := []int{1, 3, 4, 5, 8, 15, 16, 17, 20, 33}
	if testing.Short() {
		kcs = []int{1, 3, 4, 7, 8, 12, 15, 16, 17, 24, 33, 65}
		ncs = []int{1, 4, 5, 16, 17, 33}
	}
	for _, k := range arm64Kernels(t) {
		for _, kc := range kcs {
			for _, nc := range ncs {
				for _, pointwise := range []bool{false, true} {
					g := ConvGeom{N: 1, H: 1 + r.IntN(4), W: 1 + r.IntN(6), C: kc, SH: 1, SW: 1, DH: 1, DW: 1, KH: 1, KW: 1, Groups: 1, OC: nc}
					if !pointwise {
						g.KH, g.KW, g.SH, g.SW, g.PadT, g.PadL = 3, 3, 2, 1, 1, 1
						g.OH = (g.H+2-3)/2 + 1
						g.OW = g.W
					} else {
						g.OH, g.OW = g.H, g.W
					}
					c := &convCase{g: g, xZero: int32(r.IntN(256)), o: randOutput(r)}
					c.x = randU8(r, g.N*g.H*g.W*g.C)
					c.w = randS8(r, g.OC*g.KS()*g.KC())
					c.bias = make([]int32, g.OC)
					for i := range c.bias {
						c.bias[i] = int32(r.IntN(1<<17)) - 1<<16
					}
					kk := float64(g.KS() * kc)
					for range g.OC {
						c.req = append(c.req, randMultiplier(t, r, 0.3/(kk*128), 30/(kk*128)))
					}
					want := make([]uint8, g.Pixels()*g.OC)
					ConvRef(&c.g, c.x, c.xZero, c.w, c.bias, c.req, c.o, want)
					if got := c.run(t, r, k, false); !slices.Equal(got, want) {
						t.Fatalf("%s: %s: igemm differs from ConvRef at %s", k.Name, c, firstDiff(got, want))
					}
					if pointwise {
						if got := c.run(t, r, k, true); !slices.Equal(got, want) {
							t.Fatalf("%s: %s: gemm differs from ConvRef at %s", k.Name, c, firstDiff(got, want))
						}
					}
				}
			}
		}
	}
}

// TestArm64NeonPairPaths drives both inner loops of the widening kernel:
// symmetric weights ([−127, 127], the fast path that sums two products in
// int16) with every activation 0 and every weight −127 — the largest pair
// sums, 2·128·127 = 32512 — and weights with w[k] = w[k+8] = −128 in the
// same group of 16, which must take the exact path: with zero activations
// the int16 pair sum would be 32768 and wrap.
func TestArm64NeonPairPaths(t *testing.T) {
	var k *ConvKernel
	for _, kk := range ConvKernels {
		if kk.ISA == isaNeon {
			k = kk
		}
	}
	if !k.Available {
		t.Fatal("neon kernel not available on an arm64 CPU")
	}
	r := newRand(t)
	flagged := map[uint32]int{}
	for _, kc := range []int{16, 17, 24, 32, 40, 64, 100} {
		for variant := 0; variant < 4; variant++ {
			g := ConvGeom{N: 1, H: 3, W: 5, C: kc, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PadT: 1, PadL: 1, OH: 3, OW: 5, Groups: 1, OC: 7}
			c := &convCase{g: g, xZero: int32(r.IntN(256)), o: randOutput(r)}
			c.x = make([]uint8, g.N*g.H*g.W*g.C) // all 0: x − 128 = −128
			c.w = make([]int8, g.OC*g.KS()*g.KC())
			for i := range c.w {
				switch variant {
				case 0: // extreme symmetric weights
					c.w[i] = -127
				case 1: // random symmetric weights, random activations
					c.w[i] = int8(r.IntN(255) - 127)
				case 2, 3: // paired −128s in some channels
					c.w[i] = -128
				}
			}
			if variant == 1 {
				c.x = randU8(r, len(c.x))
			}
			if variant == 3 {
				// Only channel 0 holds a −128 pair; the others are
				// symmetric, so blocks differ.
				per := g.KS() * g.KC()
				for i := per; i < len(c.w); i++ {
					c.w[i] = int8(r.IntN(255) - 127)
				}
			}
			per := float64(g.KS() * kc * 128 * 128)
			for range g.OC {
				c.req = append(c.req, randMultiplier(t, r, 20/per, 200/per))
			}
			pc, err := Pack(k, c.weights())
			if err != nil {
				t.Fatal(err)
			}
			for b := 0; b < pc.Blocks; b++ {
				f := binary.LittleEndian.Uint32(pc.Data[b*pc.BlockSize+k.HeaderBytes()+mlalFlagOff:])
				flagged[f]++
				wantFlag := uint32(0)
				if variant == 2 || (variant == 3 && b == 0 && kc >= 16) {
					wantFlag = 1
				}
				if f != wantFlag {
					t.Fatalf("kc %d variant %d block %d: exact-path flag %d, want %d", kc, variant, b, f, wantFlag)
				}
			}
			want := make([]uint8, g.Pixels()*g.OC)
			ConvRef(&c.g, c.x, c.xZero, c.w, c.bias, c.req, c.o, want)
			if got := c.run(t, r, k, false); !slices.Equal(got, want) {
				t.Fatalf("kc %d variant %d: differs from ConvRef at %s", kc, variant, firstDiff(got, want))
			}
		}
	}
	if flagged[0] == 0 || flagged[1] == 0 {
		t.Fatalf("paths not both exercised: %v", flagged)
	}
}

// TestArm64Epilogue checks both NEON requantizations (the 64-bit one and,
// for blocks whose shifts are all ≥ 32, SQDMULH + SRSHL) against
// requantize and quant.Requantize on accumulators across the whole int32
// range (wrapping included), shifts from 1 to 62 and multipliers from 0 to
// 2^31 − 1 — beyond the [2^30, 2^31) that quant.QuantizeMultiplier makes,
// since the kernel contract allows any non-negative multiplier — and every
// output range. A 1×1 convolution with one input channel, weight 1 and
// input zero point 0 makes acc = bias + x.
func TestArm64Epilogue(t *testing.T) {
	r := newRand(t)
	rounds := 80
	if testing.Short() {
		rounds = 24
	}
	for _, k := range arm64Kernels(t) {
		fastOff := k.HeaderBytes() + mlalFastOff
		if k.ISA == isaNeonDot {
			fastOff = k.HeaderBytes() + dotFastOff
		}
		paths := map[uint32]int{}
		for round := 0; round < rounds; round++ {
			nc := 1 + r.IntN(40)
			px := 1 + r.IntN(9)
			allFast := round%2 == 0
			w := &ConvWeights{Groups: 1, NC: nc, KC: 1, KS: 1, W: make([]int8, nc), Bias: make([]int32, nc)}
			for j := range nc {
				w.W[j] = 1
				w.Bias[j] = pick(r, math.MinInt32, math.MaxInt32, math.MaxInt32-100, math.MinInt32+100, 0, -1,
					int32(r.Uint32()), int32(r.Uint32())>>r.IntN(31), -int32(r.IntN(1<<20)))
				s := int32(pick(r, 1, 2, 30, 31, 32, 33, 61, 62, 1+r.IntN(62)))
				if allFast {
					s = int32(pick(r, 32, 33, 40, 61, 62, 32+r.IntN(31)))
				}
				m := int32(pick(r, 0, 1, 1<<30, math.MaxInt32, int(r.Uint32()>>1), int(r.Uint32()>>(1+r.IntN(31)))))
				w.Req = append(w.Req, Requant{Mult: m, Shift: s})
			}
			o := randOutput(r)
			x := randU8(r, px)
			if r.IntN(2) == 0 {
				for i := range x {
					x[i] = pick[uint8](r, 0, 255)
				}
			}
			pc, err := Pack(k, w)
			if err != nil {
				t.Fatal(err)
			}
			for b := 0; b < pc.Blocks; b++ {
				paths[binary.LittleEndian.Uint32(pc.Data[b*pc.BlockSize+fastOff:])]++
			}
			arena := make([]byte, px+XSlack)
			copy(arena, x)
			ys := nc + r.IntN(3)
			y := make([]byte, px*ys+8)
			for i := range y {
				y[i] = guard
			}
			pc.RunGEMM(0, 0, px, 0, nc, arena, 0, 1, y, 0, ys, &o)
			for p := 0; p < px; p++ {
				for j := 0; j < nc; j++ {
					acc := w.Bias[j] + int32(x[p])
					want := Requantize(acc, w.Req[j], &o)
					ref := uint8(quant.Requantize(acc, quant.Multiplier{M: w.Req[j].Mult, Shift: int(31 - w.Req[j].Shift)}, o.ZeroPoint, o.Qmin(), o.Qmax()))
					if want != ref {
						t.Fatalf("Requantize(%d, %+v) = %d, quant.Requantize = %d", acc, w.Req[j], want, ref)
					}
					if got := y[p*ys+j]; got != want {
						t.Fatalf("%s: acc %d mult %d shift %d output %+v: got %d, want %d", k.Name, acc, w.Req[j].Mult, w.Req[j].Shift, o, got, want)
					}
				}
				for j := nc; j < ys; j++ {
					if y[p*ys+j] != guard {
						t.Fatalf("%s: wrote past the row (pixel %d column %d)", k.Name, p, j)
					}
				}
			}
		}
		if paths[0] == 0 || paths[1] == 0 {
			t.Fatalf("%s: blocks by epilogue (0: 64-bit, 1: 32-bit): %v, want both", k.Name, paths)
		}
		t.Logf("%s: blocks by epilogue (0: 64-bit, 1: 32-bit): %v", k.Name, paths)
	}
}
