//go:build !purego

package qkernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/piresnet/piresnet/quant"
)

// The SIMD epilogue's form of every multiplier the kernels accept (Mult ≥
// 0 unnormalized included, Shift 1 … 62) computes requantize exactly, on
// extreme and random accumulators.
func TestEpilogueForMatchesRequantize(t *testing.T) {
	r := newRand(t)
	accs := []int32{0, 1, -1, 2, -2, 255, -256, 1 << 20, -(1 << 20), math.MaxInt32, math.MinInt32, math.MinInt32 + 1, math.MaxInt32 - 1}
	mults := []int32{0, 1, 2, 3, 1 << 29, 1<<30 - 1, 1 << 30, 1<<30 + 1, math.MaxInt32, math.MaxInt32 - 1}
	per := 400
	if testing.Short() {
		per = 60
	}
	check := func(acc int32, m, s int32, o *Output) {
		got := epilogueFor(m, s).apply(acc, o)
		want := requantize(acc, int64(m), uint(s), o)
		if got != want {
			t.Fatalf("acc %d, mult %d, shift %d, output %+v: epilogue %d, requantize %d (%+v)", acc, m, s, *o, got, want, epilogueFor(m, s))
		}
	}
	for s := int32(1); s <= 62; s++ {
		for _, m := range mults {
			for _, acc := range accs {
				for _, o := range []Output{NewOutput(0, 0, 255), NewOutput(255, 0, 255), NewOutput(128, 0, 255), NewOutput(3, 3, 200)} {
					check(acc, m, s, &o)
				}
			}
		}
		for i := 0; i < per; i++ {
			m := int32(r.Uint32() >> 1)
			if i%2 == 0 {
				m = int32(1<<30 + r.IntN(1<<30))
			}
			acc := int32(r.Uint32()) >> r.IntN(32)
			o := randOutput(r)
			check(acc, m, s, &o)
			// Near the rounding and clamping edges: accumulators whose
			// result is around ±255 or a tie.
			if m > 0 {
				for _, target := range []float64{0.5, -0.5, 255.5, -255.5, 256, -256, 127.5} {
					a := target * math.Ldexp(1, int(s)) / float64(m)
					if math.Abs(a) < 1<<31-2 {
						for d := int32(-1); d <= 1; d++ {
							check(int32(a)+d, m, s, &o)
						}
					}
				}
			}
		}
	}
}

func TestAMD64KernelsMatchRef(t *testing.T) {
	r := newRand(t)
	cases := 600
	if testing.Short() {
		cases = 80
	}
	ran := 0
	for _, k := range amd64Kernels {
		if !k.Available {
			t.Logf("%s: not available on this CPU (AVX2 %v, AVX-512 VNNI %v)", k.Name, x86Features.avx2, x86Features.avx512vnni)
			continue
		}
		ran++
		t.Run(k.Name, func(t *testing.T) {
			for i := 0; i < cases; i++ {
				pointwise := i%3 == 0
				c := edgeCase(r, k, pointwise)
				want := make([]uint8, c.g.Pixels()*c.g.OC)
				ConvRef(&c.g, c.x, c.xZero, c.w, c.bias, c.req, c.o, want)
				if got := c.run(t, r, k, false); !slices.Equal(got, want) {
					t.Fatalf("%s: igemm differs from ConvRef at %s", c, firstDiff(got, want))
				}
				if pointwise {
					if got := c.run(t, r, k, true); !slices.Equal(got, want) {
						t.Fatalf("%s: gemm differs from ConvRef at %s", c, firstDiff(got, want))
					}
				}
			}
		})
	}
	if ran == 0 && x86Features.avx2 {
		t.Fatal("AVX2 is present but no amd64 kernel ran")
	}
}

// Every tile height 1 … MR and channel count 1 … 3·NR+1 through the
// kernel functions directly, with the output at an odd offset and stride,
// the rows of the indirection buffer pointing anywhere in the arena.
func TestAMD64KernelsTiles(t *testing.T) {
	r := newRand(t)
	for _, k := range amd64Kernels {
		if !k.Available {
			continue
		}
		ncs := []int{1, 2, 3, k.NR - 1, k.NR, k.NR + 1, 2*k.NR + 7, 3*k.NR + 1}
		if testing.Short() {
			ncs = []int{1, k.NR - 1, k.NR + 1, 2*k.NR + 7}
		}
		for mr := 1; mr <= k.MR; mr++ {
			for _, nc := range ncs {
				for _, kc := range []int{1, 3, 4, 5, 8, 13, 64, 67} {
					ks := 1 + r.IntN(4)
					tileCase(t, r, k, mr, max(nc, 1), kc, ks)
				}
			}
		}
	}
}

func tileCase(t *testing.T, r *rand.Rand, k *ConvKernel, mr, nc, kc, ks int) {
	w := &ConvWeights{Groups: 1, NC: nc, KC: kc, KS: ks, W: randS8(r, nc*ks*kc), XZero: int32(r.IntN(256))}
	w.Bias = make([]int32, nc)
	for i := range w.Bias {
		w.Bias[i] = int32(r.IntN(1<<20)) - 1<<19
	}
	for range nc {
		m := randMultiplier(t, r, 1e-5, 1e-2)
		if r.IntN(5) == 0 {
			m = randMultiplier(t, r, 0.5, 1e5)
		}
		w.Req = append(w.Req, NewRequant(m))
	}
	o := randOutput(r)
	pc, err := Pack(k, w)
	if err != nil {
		t.Fatal(err)
	}
	arena := randU8(r, 300+kc*8+XSlack)
	ind := make([]int32, mr*ks)
	for i := range ind {
		ind[i] = int32(r.IntN(300 + kc*7))
	}
	cs := nc + r.IntN(9)
	off := 1 + r.IntN(7)
	c := make([]byte, off+mr*cs+16)
	for i := range c {
		c[i] = guard
	}
	k.IGEMM(mr, nc, kc, ks, ind, 0, arena, pc.Data, pc.BlockSize, c[off:], cs, &o)
	for i := 0; i < mr; i++ {
		for n := 0; n < nc; n++ {
			acc := w.Bias[n]
			for tp := 0; tp < ks; tp++ {
				for kk := 0; kk < kc; kk++ {
					acc += (int32(arena[int(ind[i*ks+tp])+kk]) - w.XZero) * int32(w.at(0, n, tp, kk))
				}
			}
			want := Requantize(acc, w.Req[n], &o)
			if got := c[off+i*cs+n]; got != want {
				t.Fatalf("%s mr=%d nc=%d kc=%d ks=%d: pixel %d channel %d: got %d, want %d", k.Name, mr, nc, kc, ks, i, n, got, want)
			}
		}
	}
	for i, v := range c {
		p, col := (i-off)/cs, (i-off)%cs
		if (i < off || p >= mr || col >= nc) && v != guard {
			t.Fatalf("%s mr=%d nc=%d kc=%d ks=%d: wrote byte %d outside the tile", k.Name, mr, nc, kc, ks, i)
		}
	}
}

func TestSelectAMD64Tiers(t *testing.T) {
	for _, tier := range []string{isaAVX2, isaAVX512VNNI} {
		k, err := Select(tier)
		avail := tier == isaAVX2 && x86Features.avx2 || tier == isaAVX512VNNI && x86Features.avx512vnni
		if avail != (err == nil) {
			t.Errorf("Select(%q) = %v, %v; available %v", tier, k, err, avail)
		}
		if err == nil && k.ISA != tier {
			t.Errorf("Select(%q) = %s", tier, k.Name)
		}
	}
	auto, err := Select("auto")
	if err != nil {
		t.Fatal(err)
	}
	want := ISAGeneric
	switch {
	case x86Features.avx512vnni:
		want = isaAVX512VNNI
	case x86Features.avx2:
		want = isaAVX2
	}
	if auto.ISA != want {
		t.Errorf("Select(auto) = %s, want the %s tier", auto.Name, want)
	}
}

// The SIMD max and add over every length 0 … 100 at unaligned offsets,
// with guard bytes after the output, against the scalar definitions.
func TestElementwiseSIMDTails(t *testing.T) {
	r := newRand(t)
	for n := 0; n <= 100; n++ {
		off := r.IntN(31)
		a, b := randU8(r, off+n), randU8(r, off+n)
		out := make([]byte, off+n+40)
		for i := range out {
			out[i] = guard
		}
		copy(out[off:], a[off:])
		maxRow(out[off:off+n], b[off:])
		for i := 0; i < n; i++ {
			if want := max(a[off+i], b[off+i]); out[off+i] != want {
				t.Fatalf("maxRow n=%d: element %d = %d, want %d", n, i, out[off+i], want)
			}
		}
		o := randOutput(r)
		var at *AddTables
		for at == nil {
			p, err := quant.NewAddParams(float32(r.Float64()+0.01), int32(r.IntN(256)), float32(r.Float64()+0.01), int32(r.IntN(256)),
				float32(r.Float64()+0.01), o.ZeroPoint, quant.Uint8)
			if err == nil {
				p.Qmin, p.Qmax = o.Qmin(), o.Qmax()
				at = NewAddTables(&p)
			}
		}
		if !at.simd.ok {
			t.Fatalf("add tables without their SIMD form: %+v", at.Out)
		}
		for i := range out {
			out[i] = guard
		}
		Add(at, a[off:], b[off:], out[off:off+n])
		for i := 0; i < n; i++ {
			want := Requantize(at.A[a[off+i]]+at.B[b[off+i]], at.Out, &o)
			if out[off+i] != want {
				t.Fatalf("Add n=%d: element %d = %d, want %d", n, i, out[off+i], want)
			}
		}
		for i, v := range out {
			if (i < off || i >= off+n) && v != guard {
				t.Fatalf("n=%d: byte %d outside the output written", n, i)
			}
		}
	}
}

// The AVX2 kernels and the Winograd output carry two copies of their
// epilogue: without the accumulator clamp, pre-shift and output clamp when
// every channel of a block has shl 0 (multipliers below 1/2) and the output
// range is [0, 255], with them otherwise. Each case here selects one copy
// for some blocks and the other for the rest: one channel anywhere with a
// multiplier of 1/2 or more (or one so small that epilogueFor clamps the
// accumulator), or a narrower output range.
func TestAVX2EpilogueCopies(t *testing.T) {
	var kernels []*ConvKernel
	for _, k := range amd64Kernels {
		if k.Available && k.ISA == isaAVX2 {
			kernels = append(kernels, k)
		}
	}
	if maddKernel.Available {
		kernels = append(kernels, maddKernel)
	}
	if len(kernels) == 0 {
		t.Skip("no AVX2")
	}
	wk, _ := Select(isaAVX2)
	r := newRand(t)
	outputs := []Output{NewOutput(0, 0, 255), NewOutput(131, 0, 255), NewOutput(0, 1, 255), NewOutput(7, 7, 255), NewOutput(128, 0, 254), NewOutput(90, 20, 200)}
	for i := 0; i < 120; i++ {
		c := winogradCase(r) // 3x3 stride 1: every kernel and Winograd run it
		c.o = outputs[i%len(outputs)]
		maddWeights(r, c.w, c.g.KC())
		k := float64(9 * c.g.C)
		for j := range c.req {
			c.req[j] = randMultiplier(t, r, 0.3/(k*128), 30/(k*128))
		}
		odd := "none"
		if i%3 != 0 {
			j := r.IntN(len(c.req))
			if i%3 == 1 {
				c.req[j] = randMultiplier(t, r, 0.5, 1e4)
				odd = fmt.Sprintf("channel %d multiplier >= 1/2", j)
			} else {
				c.req[j] = randMultiplier(t, r, 1e-12, 1e-10)
				odd = fmt.Sprintf("channel %d multiplier < 2^-33", j)
			}
		}
		want := make([]uint8, c.g.Pixels()*c.g.OC)
		ConvRef(&c.g, c.x, c.xZero, c.w, c.bias, c.req, c.o, want)
		for _, kern := range kernels {
			if got := c.run(t, r, kern, false); !slices.Equal(got, want) {
				t.Fatalf("%s: %s, output %+v, %s: differs from ConvRef at %s", kern.Name, c, c.o, odd, firstDiff(got, want))
			}
		}
		if wk.ISA != isaAVX2 {
			continue
		}
		wg, err := NewWinograd(wk, c.weights())
		if err != nil || wg == nil {
			t.Fatalf("%s: NewWinograd = %v, %v", c, wg, err)
		}
		if got := c.runWinograd(t, r, wg); !slices.Equal(got, want) {
			t.Fatalf("Winograd: %s, output %+v, %s: differs from ConvRef at %s", c, c.o, odd, firstDiff(got, want))
		}
	}
}
