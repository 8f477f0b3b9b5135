package ref

import (
	"math"
	"math/rand"
	"slices"
	"testing"
)

// The blocked GEMM must be bit-exact to gemmRef for every element type, on
// ragged shapes (K through primes and across gemmKC, M and N not multiples
// of the tile), transposed operands, accumulation, and the row and column
// splits of runGemms, without writing outside its output.
func TestGemmMatchesRef(t *testing.T) {
	seed := int64(20240607)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	ms := []int{1, 2, 3, 5, 17, 130}
	ns := []int{1, 3, 4, 7, 13, 515}
	ks := []int{0, 1, 2, 3, 7, 31, 255, 256, 257, 521}
	if testing.Short() {
		ms, ns, ks = []int{1, 3, 17}, []int{1, 7, 515}, []int{1, 7, 257}
	}
	for _, m := range ms {
		for _, n := range ns {
			for _, k := range ks {
				for variant := 0; variant < 4; variant++ {
					ta, tb, acc := variant&1 != 0, variant&2 != 0, (m+n+k)%2 == 0
					checkGemm(t, rng, m, n, k, ta, tb, acc, func() float32 { return float32(rng.NormFloat64()) })
					checkGemm(t, rng, m, n, k, ta, tb, acc, func() int32 { return int32(rng.Intn(511) - 255) })
					if m*n*k < 1<<16 {
						checkGemm(t, rng, m, n, k, ta, tb, acc, rng.NormFloat64)
					}
				}
			}
		}
	}
}

func checkGemm[T number](t *testing.T, rng *rand.Rand, m, n, k int, ta, tb, acc bool, gen func() T) {
	t.Helper()
	const guard = 7
	a := make([]T, m*k+3)
	b := make([]T, k*n+5)
	for i := range a {
		a[i] = gen()
	}
	for i := range b {
		b[i] = gen()
	}
	// Operands start at an offset; transposed views read columns.
	av := matrix[T]{a, 3, k, 1}
	if ta {
		av = matrix[T]{a, 3, 1, m}
	}
	bv := matrix[T]{b, 5, n, 1}
	if tb {
		bv = matrix[T]{b, 5, 1, k}
	}
	ldc := n + 2
	c := make([]T, guard+m*ldc+guard)
	for i := range c {
		c[i] = gen()
	}
	want := slices.Clone(c)
	gemmRef(m, n, k, av, bv, want[guard:], ldc, acc)
	// Columns n..ldc-1 of each row are outside the product too.
	got := slices.Clone(c)
	runGemms([]gemmTask[T]{{m: m, n: n, k: k, a: av, b: densePacker[T]{bv}, c: got[guard:], ldc: ldc, accumulate: acc}})
	for i := range got {
		if !sameBits(got[i], want[i]) {
			t.Fatalf("%T m=%d n=%d k=%d transA=%v transB=%v accumulate=%v: element %d is %v, want %v", got[i], m, n, k, ta, tb, acc, i, got[i], want[i])
		}
	}
	// Every kernel of the table, on one goroutine over the whole matrix.
	for _, kern := range gemmKernels[T]() {
		got2 := slices.Clone(c)
		gemmRange(0, m, 0, n, packWholeA(av, m, k, kern.mr), densePacker[T]{bv}, got2[guard:], ldc, acc, newGemmBuffers(kern))
		if !slices.EqualFunc(got2, want, sameBits[T]) {
			t.Fatalf("%T kernel %s m=%d n=%d k=%d transA=%v transB=%v: differs from gemmRef", got[0], kern.name, m, n, k, ta, tb)
		}
	}
}

func sameBits[T number](x, y T) bool {
	switch v := any(x).(type) {
	case float32:
		return math.Float32bits(v) == math.Float32bits(any(y).(float32))
	case float64:
		return math.Float64bits(v) == math.Float64bits(any(y).(float64))
	}
	return x == y
}

// The im2col packers must feed the GEMM exactly the convolution: compared
// with a direct convolution loop in exact integer arithmetic on random
// 1-D, 2-D and 3-D geometries with groups, strides, dilations and
// asymmetric pads.
func TestConvMatchesDirect(t *testing.T) {
	seed := int64(99)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	iters := 300
	if testing.Short() {
		iters = 60
	}
	for it := 0; it < iters; it++ {
		r := 1 + rng.Intn(3)
		group := 1 + rng.Intn(3)
		cg, mg := 1+rng.Intn(3), 1+rng.Intn(4)
		batch := 1 + rng.Intn(2)
		wa := windowAttrs{autoPad: "NOTSET"}
		in, k := make([]int64, r), make([]int64, r)
		for a := 0; a < r; a++ {
			in[a] = int64(1 + rng.Intn(9))
			k[a] = int64(1 + rng.Intn(3))
			wa.strides = append(wa.strides, int64(1+rng.Intn(3)))
			wa.dilations = append(wa.dilations, int64(1+rng.Intn(2)))
		}
		for a := 0; a < 2*r; a++ {
			wa.pads = append(wa.pads, int64(rng.Intn(3)))
		}
		if rng.Intn(4) == 0 {
			wa.autoPad = []string{"SAME_UPPER", "SAME_LOWER", "VALID"}[rng.Intn(3)]
			wa.pads = nil
		}
		g, err := wa.resolve(in, k, false)
		if err != nil {
			continue // kernel larger than the input
		}
		c, m := cg*group, mg*group
		x := make([]int32, batch*c*g.inSize())
		w := make([]int32, m*cg*g.kSize())
		for i := range x {
			x[i] = int32(rng.Intn(200) - 100)
		}
		for i := range w {
			w[i] = int32(rng.Intn(200) - 100)
		}
		got := make([]int32, batch*m*g.outSize())
		runGemms(convTasks(nil, x, w, got, batch, c, m, group, g, nil))
		want := directConv(x, w, batch, c, m, group, g)
		if !slices.Equal(got, want) {
			t.Fatalf("case %d: in %v k %v attrs %+v group %d: convolution differs from the direct loop", it, in, k, wa, group)
		}
		// The same in float32 (exact: small integers) through the float32
		// kernel, whose strips are wider.
		xf, wf := make([]float32, len(x)), make([]float32, len(w))
		for i, v := range x {
			xf[i] = float32(v)
		}
		for i, v := range w {
			wf[i] = float32(v)
		}
		gotF := make([]float32, len(got))
		runGemms(convTasks(nil, xf, wf, gotF, batch, c, m, group, g, nil))
		// And with the weights packed beforehand, as Conv caches them.
		gotP := make([]float32, len(got))
		packed := packConvWeights(wf, m, group, cg*g.kSize(), kernelFor[float32]())
		runGemms(convTasks(nil, xf, wf, gotP, batch, c, m, group, g, packed))
		if !slices.Equal(gotP, gotF) {
			t.Fatalf("case %d: prepacked weights give a different result", it)
		}
		for i, v := range want {
			if gotF[i] != float32(v) {
				t.Fatalf("case %d: float32 (kernel %s) element %d is %v, want %d", it, kernelFor[float32]().name, i, gotF[i], v)
			}
		}
	}
}

// directConv is the textbook convolution loop.
func directConv(x, w []int32, batch, c, m, group int, g geometry) []int32 {
	r := len(g.in)
	cg, mg := c/group, m/group
	out := make([]int32, batch*m*g.outSize())
	o := make([]int, r)
	t := make([]int, r)
	for n := 0; n < batch; n++ {
		for f := 0; f < m; f++ {
			gi := f / mg
			for j := 0; j < g.outSize(); j++ {
				var s int32
				for ci := 0; ci < cg; ci++ {
					for kk := 0; kk < g.kSize(); kk++ {
						rem, lin, inside := kk, 0, true
						for a := r - 1; a >= 0; a-- {
							t[a] = rem % g.k[a]
							rem /= g.k[a]
						}
						for a := 0; a < r; a++ {
							p := o[a]*g.s[a] - g.pb[a] + t[a]*g.d[a]
							if p < 0 || p >= g.in[a] {
								inside = false
							}
							lin = lin*g.in[a] + p
						}
						if inside {
							s += x[(n*c+gi*cg+ci)*g.inSize()+lin] * w[(f*cg+ci)*g.kSize()+kk]
						}
					}
				}
				out[(n*m+f)*g.outSize()+j] = s
				nextIndex(o, g.out)
			}
		}
	}
	return out
}
