package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

// benchRow is one NHWC output row: 256 channels × 16 pixels of int32
// accumulators with per-channel multipliers of realistic size.
type benchRow struct {
	acc    []int32
	mults  []Multiplier
	scales []float32
	dst    []uint8
}

func newBenchRow() *benchRow {
	r := rand.New(rand.NewPCG(1, 2))
	const channels, pixels = 256, 16
	b := &benchRow{acc: make([]int32, channels*pixels), mults: make([]Multiplier, channels), scales: make([]float32, channels), dst: make([]uint8, channels*pixels)}
	for c := range channels {
		b.scales[c] = RequantScale(0.02, float32(math.Exp(r.Float64()*4-8)), 0.03)
		m, err := RequantMultiplier(0.02, float32(math.Exp(r.Float64()*4-8)), 0.03)
		if err != nil {
			panic(err)
		}
		b.mults[c] = m
	}
	for i := range b.acc {
		b.acc[i] = int32(r.NormFloat64() * 100 / float64(b.scales[i%channels]))
	}
	return b
}

func reportPerElement(b *testing.B, n int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/elem")
}

// BenchmarkRequantizeRow: the board's fixed-point output stage (single rounding).
func BenchmarkRequantizeRow(b *testing.B) {
	row := newBenchRow()
	nc := len(row.mults)
	for b.Loop() {
		for i, a := range row.acc {
			row.dst[i] = uint8(Requantize(a, row.mults[i%nc], 128, 0, 255))
		}
	}
	reportPerElement(b, len(row.acc))
}

// BenchmarkRequantizeRowTFLiteDoubleRounding: gemmlowp/TFLite rounding, for comparison.
func BenchmarkRequantizeRowTFLiteDoubleRounding(b *testing.B) {
	row := newBenchRow()
	nc := len(row.mults)
	for b.Loop() {
		for i, a := range row.acc {
			v := MultiplyByQuantizedMultiplier(a, row.mults[i%nc]) + 128
			row.dst[i] = uint8(min(max(v, 0), 255))
		}
	}
	reportPerElement(b, len(row.acc))
}

// BenchmarkRequantizeRowReal: ONNX Runtime's float32 requantization, for comparison.
func BenchmarkRequantizeRowReal(b *testing.B) {
	row := newBenchRow()
	nc := len(row.scales)
	for b.Loop() {
		for i, a := range row.acc {
			row.dst[i] = uint8(RequantizeReal(a, row.scales[i%nc], 128, 0, 255))
		}
	}
	reportPerElement(b, len(row.acc))
}

func BenchmarkAdd(b *testing.B) {
	p, err := NewAddParams(0.021, 120, 0.034, 131, 0.041, 127, Uint8)
	if err != nil {
		b.Fatal(err)
	}
	xs := make([]int32, 4096)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range xs {
		xs[i] = int32(r.IntN(256))
	}
	var sink int32
	for b.Loop() {
		for i := 0; i+1 < len(xs); i += 2 {
			sink += p.Add(xs[i], xs[i+1])
		}
	}
	_ = sink
	reportPerElement(b, len(xs)/2)
}

// calibrationHistogram is a post-ReLU-like activation of 2^20 values.
func calibrationHistogram(b *testing.B, signed bool) *Histogram {
	r := rand.New(rand.NewPCG(5, 6))
	h, _ := NewHistogram(DefaultBins)
	xs := make([]float32, 1<<16)
	for range 16 {
		for i := range xs {
			v := r.NormFloat64()
			if !signed {
				v = math.Max(v, 0)
			}
			xs[i] = float32(v)
		}
		h.Add(xs)
	}
	return h
}

func BenchmarkHistogramAdd(b *testing.B) {
	h, _ := NewHistogram(DefaultBins)
	r := rand.New(rand.NewPCG(7, 8))
	xs := make([]float32, 1<<16)
	for i := range xs {
		xs[i] = float32(r.NormFloat64())
	}
	for b.Loop() {
		h.Add(xs)
	}
	reportPerElement(b, len(xs))
}

func benchmarkRange(b *testing.B, m Method, signed bool) {
	h := calibrationHistogram(b, signed)
	for b.Loop() {
		if _, _, err := m.Range(h); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRangeEntropyReLU(b *testing.B)    { benchmarkRange(b, Entropy, false) }
func BenchmarkRangeEntropySigned(b *testing.B)  { benchmarkRange(b, Entropy, true) }
func BenchmarkRangeMSEReLU(b *testing.B)        { benchmarkRange(b, MSE, false) }
func BenchmarkRangeMSESigned(b *testing.B)      { benchmarkRange(b, MSE, true) }
func BenchmarkRangePercentileReLU(b *testing.B) { benchmarkRange(b, Percentile(99.99), false) }
