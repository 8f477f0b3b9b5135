package quant

import (
	"fmt"
	"math"
)

// SQNR returns the signal-to-quantization-noise ratio of got against the
// float reference ref, in decibels: 10·log10(Σ ref² / Σ (ref − got)²),
// accumulated in float64 (products rounded explicitly, so the same on every
// architecture). It is +Inf when got equals ref, and an error when the
// lengths differ or ref is all zero. About 6 dB per bit: uniform 8-bit
// quantization of a signal filling its range gives roughly 40–50 dB.
func SQNR(ref, got []float32) (float64, error) {
	if len(ref) != len(got) {
		return 0, fmt.Errorf("quant: SQNR of %d values against %d", len(got), len(ref))
	}
	var signal, noise float64
	for i, r := range ref {
		d := float64(r) - float64(got[i])
		signal += float64(float64(r) * float64(r))
		noise += float64(d * d)
	}
	if signal == 0 {
		return 0, fmt.Errorf("quant: SQNR: reference signal is all zero")
	}
	if noise == 0 {
		return math.Inf(1), nil
	}
	return 10 * math.Log10(signal/noise), nil
}

// ClippedFraction returns the share of xs outside [lo, hi] (NaN counts as
// clipped), 0 for an empty slice.
func ClippedFraction(xs []float32, lo, hi float32) float64 {
	if len(xs) == 0 {
		return 0
	}
	n := 0
	for _, x := range xs {
		if !(x >= lo && x <= hi) {
			n++
		}
	}
	return float64(n) / float64(len(xs))
}

// FakeQuantize writes to dst the values of src quantized with scale and zero
// point to qt and dequantized again (ONNX QuantizeLinear followed by
// DequantizeLinear), the values a quantized tensor stands for. dst and src
// may be the same slice; dst must be at least as long as src.
func FakeQuantize(dst, src []float32, scale float32, zp int32, qt QType) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = Dequantize(Quantize(x, scale, zp, qt), scale, zp)
	}
}
