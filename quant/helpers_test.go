package quant

import (
	"flag"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"
)

var seedFlag = flag.Uint64("seed", 0, "seed for the randomized sweeps (0: time-based; every test logs the seed it used)")

// newRand returns a PCG source seeded from -seed or the clock, and logs the
// seed so that a failure can be replayed with go test -run NAME -seed N.
func newRand(t testing.TB) *rand.Rand {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -seed %d)", seed, seed)
	return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
}

// Exact rational references built on math/big, independent of the int64
// tricks in the code under test.

func ratPow2(e int) *big.Rat {
	if e >= 0 {
		return new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), uint(e)))
	}
	return new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Lsh(big.NewInt(1), uint(-e)))
}

// ratFloor returns floor(r).
func ratFloor(r *big.Rat) *big.Int {
	// big.Int.Div is Euclidean division; with the positive denominator a
	// big.Rat keeps, it is floor division.
	return new(big.Int).Div(r.Num(), r.Denom())
}

var ratHalf = big.NewRat(1, 2)

// roundHalfUp returns floor(r + 1/2): nearest, ties toward +∞.
func roundHalfUp(r *big.Rat) *big.Int {
	return ratFloor(new(big.Rat).Add(r, ratHalf))
}

// roundHalfAway returns r rounded to nearest, ties away from zero.
func roundHalfAway(r *big.Rat) *big.Int {
	if r.Sign() >= 0 {
		return roundHalfUp(r)
	}
	return new(big.Int).Neg(roundHalfUp(new(big.Rat).Neg(r)))
}

// roundHalfEven returns r rounded to nearest, ties to even.
func roundHalfEven(r *big.Rat) *big.Int {
	f := ratFloor(r)
	frac := new(big.Rat).Sub(r, new(big.Rat).SetInt(f))
	switch frac.Cmp(ratHalf) {
	case -1:
		return f
	case 1:
		return f.Add(f, big.NewInt(1))
	}
	if f.Bit(0) == 0 {
		return f
	}
	return f.Add(f, big.NewInt(1))
}

// ratInt returns x as a big.Rat.
func ratInt(x int64) *big.Rat { return new(big.Rat).SetInt64(x) }

// interesting32 lists int32 values at the edges of every arithmetic path.
func interesting32() []int32 {
	vals := []int32{0, 1, -1, 2, -2, 3, -3, 127, -128, 255, -255, 1 << 15, -(1 << 15),
		1<<30 - 1, 1 << 30, 1<<30 + 1, -(1 << 30), -(1 << 30) - 1, -(1 << 30) + 1,
		1<<31 - 1, 1<<31 - 2, -1 << 31, -1<<31 + 1, -1<<31 + 2}
	for e := 1; e < 31; e++ {
		p := int32(1) << e
		vals = append(vals, p-1, p+1, -p, -p+1, -p-1, p|p>>1, -(p | p>>1))
	}
	return vals
}
