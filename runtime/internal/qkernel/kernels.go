package qkernel

import (
	"fmt"
	"math/bits"
	"strings"
)

// ConvKernels is the table of convolution microkernels: it feeds dispatch
// (Select), the bit-exact comparison tests against ConvRef, the benchmarks
// and the kernel listing of `edge info`. Adding a kernel is one entry here;
// architecture files (conv_amd64.go, conv_arm64.go) append theirs from init
// with Available set from golang.org/x/sys/cpu, and the purego build tag
// leaves them out. Order is preference order within a tier.
var ConvKernels = []*ConvKernel{
	{
		Name: "convU8S8_2x6c1_swar64", ISA: ISAGeneric, MR: swarMR, NR: swarNR, KR: 1,
		Available:   true,
		WeightBytes: swarWeightBytes, PackWeights: swarPack,
		IGEMM: convU8S8_2x6c1_swar64_igemm, GEMM: convU8S8_2x6c1_swar64_gemm,
	},
	{
		Name: "convU8S8_1x4c4_generic", ISA: ISAGeneric, MR: 1, NR: c4NR, KR: c4KR,
		Available:   true,
		WeightBytes: c4WeightBytes, PackWeights: c4Pack,
		IGEMM: convU8S8_1x4c4_generic_igemm, GEMM: convU8S8_1x4c4_generic_gemm,
	},
}

// Kernel tiers (Options.Kernels in package runtime).
const (
	ISAAuto    = "auto"
	ISAGeneric = "generic"
)

// Select returns the convolution kernel for a kernel choice: "auto" (the
// best kernel this CPU runs), a tier name ("generic", later "avx2",
// "avx512vnni", "neon", "neondot") or a kernel's full name.
//
// Among generic kernels, 64-bit targets take the SWAR kernel and 32-bit
// targets (where a 64-bit multiply is several instructions) the scalar c4
// kernel.
func Select(choice string) (*ConvKernel, error) {
	if choice == "" {
		choice = ISAAuto
	}
	for _, k := range ConvKernels {
		if k.Name == choice {
			if !k.Available {
				return nil, fmt.Errorf("qkernel: kernel %s does not run on this CPU", k.Name)
			}
			return k, nil
		}
	}
	tier := choice
	if tier == ISAAuto {
		for _, k := range ConvKernels {
			if k.Available && k.ISA != ISAGeneric {
				return k, nil
			}
		}
		tier = ISAGeneric
	}
	if tier == ISAGeneric {
		if bits.UintSize == 64 {
			return ConvKernels[0], nil
		}
		return ConvKernels[1], nil
	}
	var tiers []string
	seen := map[string]bool{}
	for _, k := range ConvKernels {
		if k.ISA == tier {
			if k.Available {
				return k, nil
			}
			return nil, fmt.Errorf("qkernel: kernels %q do not run on this CPU", tier)
		}
		if k.Available && !seen[k.ISA] {
			seen[k.ISA] = true
			tiers = append(tiers, k.ISA)
		}
	}
	return nil, fmt.Errorf("qkernel: unknown kernel choice %q (auto, %s, or a kernel name)", choice, strings.Join(tiers, ", "))
}
