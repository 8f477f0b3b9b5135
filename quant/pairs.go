package quant

import (
	"fmt"
	"math"
)

// PairSumLimit is the largest |w0| + |w1| of two int8 weights that x86's
// VPMADDUBSW (uint8 activations times int8 weights, two neighbouring
// products added into one saturating int16) handles exactly for every
// activation: 255·128 = 32640 ≤ 32767. ONNX Runtime's x86 int8 kernels
// (without VNNI) and the engine's avx2madd kernel add such pairs.
const PairSumLimit = 128

// LimitPairSums makes per-channel int8 weights exact for those kernels
// while keeping the 8-bit range: in every pair of neighbours whose
// magnitudes sum to more than PairSumLimit, it moves one weight a step
// toward zero at a time, the one whose rounding error grows least, until
// the pair fits. Neighbours are, per output channel, in the tap-major order
// kernels read (k = tap·c + input channel): positions 2i and 2i+1 of that
// order; input channels 2i and 2i+1 of each tap; and positions 2i and 2i+1
// of each kernel row (its kw taps' kw·c weights, the order in which the
// engine reads a convolution of few input channels such as a ResNet's
// 7×7 stem over 3 channels). The three coincide when c is even. Typical
// layers have a few such pairs in a thousand; 7-bit weights (ONNX
// Runtime's reduce_range) satisfy the limit by halving every step instead.
//
// q holds the weights quantized from w with scales (one per output channel,
// channel-major ONNX layout: [out][c][taps], taps = kh·kw, 1 for Gemm; kw
// divides taps, 1 for Gemm and 1×1 kernels); it is changed in place.
// LimitPairSums returns how many steps it moved weights by in all (a weight
// moved from 90 to 38 counts 52).
func LimitPairSums(q []int8, w []float32, scales []float32, c, taps, kw int) int {
	per := c * taps
	if per == 0 || kw < 1 || taps%kw != 0 || len(q) != len(w) || len(q) != per*len(scales) {
		panic("quant: LimitPairSums: shapes do not match")
	}
	// pos is the ONNX index, within a channel, of tap-major position k.
	pos := func(k int) int { return (k%c)*taps + k/c }
	var pairs [][2]int
	for k := 0; k+1 < per; k += 2 {
		pairs = append(pairs, [2]int{pos(k), pos(k + 1)})
	}
	if c%2 == 1 {
		for t := 0; t < taps; t++ {
			for ch := 0; ch+1 < c; ch += 2 {
				pairs = append(pairs, [2]int{ch*taps + t, (ch+1)*taps + t})
			}
		}
		if row := kw * c; kw > 1 && row%2 == 1 {
			for r0 := 0; r0 < per; r0 += row {
				for j := 0; j+1 < row; j += 2 {
					pairs = append(pairs, [2]int{pos(r0 + j), pos(r0 + j + 1)})
				}
			}
		}
	}
	moved := 0
	for o, s := range scales {
		base := o * per
		// growth is how much the squared error (in steps) of weight i
		// grows when it moves one step toward zero.
		growth := func(i int) float64 {
			v := float64(w[i]) / float64(s)
			cur := float64(q[i])
			next := cur - math.Copysign(1, cur)
			return (v-next)*(v-next) - (v-cur)*(v-cur)
		}
		for _, p := range pairs {
			a, b := base+p[0], base+p[1]
			for abs8(q[a])+abs8(q[b]) > PairSumLimit {
				i := b
				if growth(a) < growth(b) {
					i = a
				}
				if q[i] > 0 {
					q[i]--
				} else {
					q[i]++
				}
				moved++
			}
		}
	}
	return moved
}

func abs8(v int8) int {
	if v < 0 {
		return -int(v)
	}
	return int(v)
}

// pairSafeCandidates is how many ranges QuantizePairSafe tries per channel,
// from ±127 down to ±64.
const pairSafeCandidates = 16

// QuantizePairSafe quantizes per-channel weights (the layout of
// LimitPairSums) to int8 with every neighbour pair within PairSumLimit,
// choosing each channel's scale among absmax/r for r from 127 down to 64
// (16 steps): the one with the least squared error after LimitPairSums. A
// large channel keeps r = 127 and moves a few weights; a small kernel
// whose weights are all large (a 3×3 convolution of one input channel)
// takes a coarser step instead, down to 7-bit weights' absmax/64, where no
// pair can exceed the limit. It returns the weights, the scales and the
// steps LimitPairSums moved in the chosen quantization.
func QuantizePairSafe(w []float32, channels, c, taps, kw int) ([]int8, []float32, int, error) {
	scales, err := ChooseSymmetricPerChannel(w, channels)
	if err != nil {
		return nil, nil, 0, err
	}
	per := c * taps
	if per*channels != len(w) {
		return nil, nil, 0, fmt.Errorf("quant: %d weights are not %d channels of %d×%d", len(w), channels, c, taps)
	}
	if kw < 1 || taps%kw != 0 {
		return nil, nil, 0, fmt.Errorf("quant: kernel rows of %d taps do not divide %d taps", kw, taps)
	}
	q := make([]int8, len(w))
	moved := 0
	cand := make([]int8, per)
	for o := range channels {
		wc := w[o*per : (o+1)*per]
		var absmax float64
		for _, v := range wc {
			absmax = max(absmax, math.Abs(float64(v)))
		}
		if absmax/WeightQmax < 0x1p-126 {
			continue // all zero: q stays 0, scale 1
		}
		bestErr, bestMoved := math.Inf(1), 0
		for i := range pairSafeCandidates {
			r := WeightQmax - float64(i)*float64(WeightQmax-64)/(pairSafeCandidates-1)
			s := float32(absmax / r)
			for k, v := range wc {
				cand[k] = int8(roundClamp(v/s, 0, WeightQmin, WeightQmax))
			}
			m := LimitPairSums(cand, wc, []float32{s}, c, taps, kw)
			var e float64
			for k, v := range wc {
				d := float64(v) - float64(cand[k])*float64(s)
				e += d * d
			}
			if e < bestErr {
				bestErr, bestMoved = e, m
				scales[o] = s
				copy(q[o*per:], cand)
			}
		}
		moved += bestMoved
	}
	return q, scales, moved, nil
}
