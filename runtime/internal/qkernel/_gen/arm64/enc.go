package main

import "fmt"

// v is a SIMD&FP register number, V0 … V31.
type v uint32

// inst is one encoded A64 instruction and its mnemonic in the Arm
// Architecture Reference Manual's syntax (what llvm-mc and objdump print).
type inst struct {
	enc  uint32
	text string
}

// Encodings follow the Arm ARM (DDI 0487), "Advanced SIMD three
// different", "three same", "two-register misc" and "vector x indexed
// element" classes; enc_test.go checks each against llvm-mc.

func three(base uint32, d, n, m v) uint32 { return base | uint32(m)<<16 | uint32(n)<<5 | uint32(d) }
func two(base uint32, d, n v) uint32      { return base | uint32(n)<<5 | uint32(d) }

// sdotLane is SDOT Vd.4S, Vn.16B, Vm.4B[lane]: for each 32-bit lane e of
// d, d[e] += Σ_{r<4} n[4e+r]·m[4·lane+r], signed 8-bit products (FEAT_DotProd).
func sdotLane(d, n, m v, lane int) inst {
	if lane < 0 || lane > 3 {
		panic("sdot lane")
	}
	enc := three(0x4f80e000, d, n, m) | uint32(lane&1)<<21 | uint32(lane>>1)<<11
	return inst{enc, fmt.Sprintf("sdot v%d.4s, v%d.16b, v%d.4b[%d]", d, n, m, lane)}
}

// smull8 is SMULL Vd.8H, Vn.8B, Vm.8B (low halves, signed 8×8 → 16).
func smull8(d, n, m v) inst {
	return inst{three(0x0e20c000, d, n, m), fmt.Sprintf("smull v%d.8h, v%d.8b, v%d.8b", d, n, m)}
}

// smull28 is SMULL2 Vd.8H, Vn.16B, Vm.16B (high halves).
func smull28(d, n, m v) inst {
	return inst{three(0x4e20c000, d, n, m), fmt.Sprintf("smull2 v%d.8h, v%d.16b, v%d.16b", d, n, m)}
}

// smlal28 is SMLAL2 Vd.8H, Vn.16B, Vm.16B: d += high-half products (16-bit,
// wrapping).
func smlal28(d, n, m v) inst {
	return inst{three(0x4e208000, d, n, m), fmt.Sprintf("smlal2 v%d.8h, v%d.16b, v%d.16b", d, n, m)}
}

// sadalp is SADALP Vd.4S, Vn.8H: d[e] += n[2e] + n[2e+1] (signed, widened).
func sadalp(d, n v) inst {
	return inst{two(0x4e606800, d, n), fmt.Sprintf("sadalp v%d.4s, v%d.8h", d, n)}
}

// smull2s is SMULL Vd.2D, Vn.2S, Vm.2S (lanes 0, 1: signed 32×32 → 64).
func smull2s(d, n, m v) inst {
	return inst{three(0x0ea0c000, d, n, m), fmt.Sprintf("smull v%d.2d, v%d.2s, v%d.2s", d, n, m)}
}

// smull24s is SMULL2 Vd.2D, Vn.4S, Vm.4S (lanes 2, 3).
func smull24s(d, n, m v) inst {
	return inst{three(0x4ea0c000, d, n, m), fmt.Sprintf("smull2 v%d.2d, v%d.4s, v%d.4s", d, n, m)}
}

// srshl2d is SRSHL Vd.2D, Vn.2D, Vm.2D: shift each lane of n by the signed
// low byte of the same lane of m, rounding when shifting right:
// (x + 2^(s−1)) >> s for a shift of −s, computed without overflow.
func srshl2d(d, n, m v) inst {
	return inst{three(0x4ee05400, d, n, m), fmt.Sprintf("srshl v%d.2d, v%d.2d, v%d.2d", d, n, m)}
}

// sqxtn2d is SQXTN Vd.2S, Vn.2D (signed saturating narrow; clears the
// upper half of d).
func sqxtn2d(d, n v) inst {
	return inst{two(0x0ea14800, d, n), fmt.Sprintf("sqxtn v%d.2s, v%d.2d", d, n)}
}

// sqxtn22d is SQXTN2 Vd.4S, Vn.2D (into the upper half of d).
func sqxtn22d(d, n v) inst {
	return inst{two(0x4ea14800, d, n), fmt.Sprintf("sqxtn2 v%d.4s, v%d.2d", d, n)}
}

// sqxtn4s is SQXTN Vd.4H, Vn.4S.
func sqxtn4s(d, n v) inst {
	return inst{two(0x0e614800, d, n), fmt.Sprintf("sqxtn v%d.4h, v%d.4s", d, n)}
}

// sqxtn24s is SQXTN2 Vd.8H, Vn.4S.
func sqxtn24s(d, n v) inst {
	return inst{two(0x4e614800, d, n), fmt.Sprintf("sqxtn2 v%d.8h, v%d.4s", d, n)}
}

// sqadd8h is SQADD Vd.8H, Vn.8H, Vm.8H (signed saturating).
func sqadd8h(d, n, m v) inst {
	return inst{three(0x4e600c00, d, n, m), fmt.Sprintf("sqadd v%d.8h, v%d.8h, v%d.8h", d, n, m)}
}

// sqxtun8h is SQXTUN Vd.8B, Vn.8H (signed to unsigned saturating narrow).
func sqxtun8h(d, n v) inst {
	return inst{two(0x2e212800, d, n), fmt.Sprintf("sqxtun v%d.8b, v%d.8h", d, n)}
}

// sqxtun28h is SQXTUN2 Vd.16B, Vn.8H.
func sqxtun28h(d, n v) inst {
	return inst{two(0x6e212800, d, n), fmt.Sprintf("sqxtun2 v%d.16b, v%d.8h", d, n)}
}

// umax16b and umin16b are UMAX/UMIN Vd.16B, Vn.16B, Vm.16B.
func umax16b(d, n, m v) inst {
	return inst{three(0x6e206400, d, n, m), fmt.Sprintf("umax v%d.16b, v%d.16b, v%d.16b", d, n, m)}
}

func umin16b(d, n, m v) inst {
	return inst{three(0x6e206c00, d, n, m), fmt.Sprintf("umin v%d.16b, v%d.16b, v%d.16b", d, n, m)}
}

// addp4s is ADDP Vd.4S, Vn.4S, Vm.4S: d = [n0+n1, n2+n3, m0+m1, m2+m3].
func addp4s(d, n, m v) inst {
	return inst{three(0x4ea0bc00, d, n, m), fmt.Sprintf("addp v%d.4s, v%d.4s, v%d.4s", d, n, m)}
}

// add4s is ADD Vd.4S, Vn.4S, Vm.4S (wrapping).
func add4s(d, n, m v) inst {
	return inst{three(0x4ea08400, d, n, m), fmt.Sprintf("add v%d.4s, v%d.4s, v%d.4s", d, n, m)}
}

// sqdmulh4s is SQDMULH Vd.4S, Vn.4S, Vm.4S: (2·n·m) >> 32 = ⌊n·m / 2^31⌋,
// saturating only for n = m = −2^31.
func sqdmulh4s(d, n, m v) inst {
	return inst{three(0x4ea0b400, d, n, m), fmt.Sprintf("sqdmulh v%d.4s, v%d.4s, v%d.4s", d, n, m)}
}

// srshl4s is SRSHL Vd.4S, Vn.4S, Vm.4S (srshl2d on 32-bit lanes).
func srshl4s(d, n, m v) inst {
	return inst{three(0x4ea05400, d, n, m), fmt.Sprintf("srshl v%d.4s, v%d.4s, v%d.4s", d, n, m)}
}
