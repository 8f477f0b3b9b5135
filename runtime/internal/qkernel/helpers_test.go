package qkernel

import (
	"flag"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/piresnet/piresnet/quant"
)

var seedFlag = flag.Uint64("seed", 0, "random seed of the randomized kernel tests (0: from the clock)")

// newRand returns a generator and logs its seed so that a failure can be
// replayed with -seed.
func newRand(t testing.TB) *rand.Rand {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -seed %d)", seed, seed)
	return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
}

// randMultiplier returns a multiplier for a realistic requantization scale
// (log-uniform in [lo, hi]).
func randMultiplier(t testing.TB, r *rand.Rand, lo, hi float64) quant.Multiplier {
	v := math.Exp(math.Log(lo) + r.Float64()*(math.Log(hi)-math.Log(lo)))
	m, err := quant.QuantizeMultiplier(v)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// randOutput returns a random output stage: zero point anywhere, and now
// and then a fused ReLU or a narrower clamp.
func randOutput(r *rand.Rand) Output {
	zp := int32(r.IntN(256))
	qmin, qmax := int32(0), int32(255)
	switch r.IntN(4) {
	case 0:
		qmin = zp // ReLU
	case 1:
		qmin, qmax = int32(r.IntN(100)), int32(155+r.IntN(101))
		zp = qmin + int32(r.IntN(int(qmax-qmin+1)))
	}
	return NewOutput(zp, qmin, qmax)
}

func randU8(r *rand.Rand, n int) []uint8 {
	b := make([]uint8, n)
	for i := range b {
		b[i] = uint8(r.Uint32())
	}
	return b
}

func randS8(r *rand.Rand, n int) []int8 {
	b := make([]int8, n)
	for i := range b {
		b[i] = int8(r.Uint32())
	}
	return b
}

// pick returns a random element.
func pick[T any](r *rand.Rand, v ...T) T { return v[r.IntN(len(v))] }
