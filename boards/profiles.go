package boards

import "strconv"

// Kernel families: the int8 kernel set the runtime picks for an
// architecture and CPU features. The names follow runtime's kernel table
// (runtime owns the list; KernelFamily mirrors its choice).
const (
	KernelsGeneric    = "generic"    // portable Go (every target; the only one on GOARCH=arm)
	KernelsNEON       = "neon"       // arm64 Advanced SIMD, widening SMLAL/SADALP
	KernelsNEONDot    = "neondot"    // arm64 SDOT (ARMv8.2 dot product)
	KernelsAVX2       = "avx2"       // amd64 AVX2
	KernelsAVX512VNNI = "avx512vnni" // amd64 AVX-512 VNNI (VPDPBUSD)
)

// Features are the CPU features that decide the kernel family.
type Features struct {
	NEON       bool // Advanced SIMD (arm: "neon", arm64: "asimd")
	DotProduct bool // arm64 "asimddp" (SDOT/UDOT)
	AVX2       bool
	AVX512VNNI bool // avx512f, avx512bw, avx512vl and avx512_vnni together
}

// KernelFamily is the kernel family a binary built for goarch picks on a
// CPU with features f. GOARCH=arm binaries always use the portable Go
// kernels: Go's arm assembler has no NEON, and GOARM=6 targets have none.
func KernelFamily(goarch string, f Features) string {
	switch goarch {
	case "arm64":
		if f.DotProduct {
			return KernelsNEONDot
		}
		if f.NEON {
			return KernelsNEON
		}
	case "amd64":
		if f.AVX512VNNI {
			return KernelsAVX512VNNI
		}
		if f.AVX2 {
			return KernelsAVX2
		}
	}
	return KernelsGeneric
}

// Profile is what the project knows about one kind of board or host: the
// CPU, the binary to install, and the defaults edge uses there.
type Profile struct {
	ID         string  `json:"id"`      // stable key: "pi4", "pi-zero-2w", "generic-amd64"
	Name       string  `json:"name"`    // "Raspberry Pi 4 Model B"
	Types      []uint8 `json:"-"`       // revision-code board types it covers (Pi only)
	Processor  int     `json:"-"`       // revision-code processor (Pi only; -1 for hosts)
	SoC        string  `json:"soc"`     // "BCM2711"
	Core       string  `json:"core"`    // "Cortex-A72"
	ISA        string  `json:"isa"`     // "ARMv8-A"
	Cores      int     `json:"cores"`   // 0 for generic hosts: counted at detection
	NEON       bool    `json:"neon"`    // Advanced SIMD
	DotProduct bool    `json:"dotprod"` // SDOT/UDOT
	GOARCH     string  `json:"goarch"`  // the binary to install
	GOARM      int     `json:"goarm"`   // with GOARCH=arm: 6 or 7
	Threads    int     `json:"threads"` // default worker threads (0: one per core)
	InputH     int     `json:"input_h"` // suggested input height for a ResNet-18
	InputW     int     `json:"input_w"` // suggested input width
	Kernels    string  `json:"kernels"` // kernel family of the recommended binary
	Note       string  `json:"note,omitempty"`
}

// IsPi reports whether p is a Raspberry Pi profile (not a generic host).
func (p Profile) IsPi() bool { return p.Processor >= 0 }

// Target is the build target of the recommended binary, as GOOS/GOARCH
// plus GOARM: "linux/arm64", "linux/arm GOARM=6".
func (p Profile) Target() string {
	if p.GOARCH == "arm" {
		return "linux/arm GOARM=" + strconv.Itoa(p.GOARM)
	}
	return "linux/" + p.GOARCH
}

// Suggested input sizes aim at a few classified frames per second with a
// ResNet-18 on the board's cores; published int8 figures at 224x224 (ncnn,
// 4 threads): Pi 5 17 ms, Pi 4 84 ms, Zero 2 W 196 ms. The ARMv6 boards run
// the portable kernels on one 1 GHz core without SIMD, hence 112x112.
var profiles = []Profile{
	{
		ID: "pi1", Name: "Raspberry Pi 1 (A, B, A+, B+) / Compute Module 1",
		Types: []uint8{TypeA, TypeB, TypeAPlus, TypeBPlus, TypeAlpha, TypeCM1}, Processor: BCM2835,
		SoC: "BCM2835", Core: "ARM1176JZF-S", ISA: "ARMv6", Cores: 1,
		GOARCH: "arm", GOARM: 6, Threads: 1, InputH: 112, InputW: 112, Kernels: KernelsGeneric,
		Note: "no NEON: portable Go kernels only",
	},
	{
		ID: "pi-zero", Name: "Raspberry Pi Zero / Zero W",
		Types: []uint8{TypeZero, TypeZeroW}, Processor: BCM2835,
		SoC: "BCM2835", Core: "ARM1176JZF-S", ISA: "ARMv6", Cores: 1,
		GOARCH: "arm", GOARM: 6, Threads: 1, InputH: 112, InputW: 112, Kernels: KernelsGeneric,
		Note: "no NEON: portable Go kernels only",
	},
	{
		ID: "pi2", Name: "Raspberry Pi 2 Model B",
		Types: []uint8{Type2B}, Processor: BCM2836,
		SoC: "BCM2836", Core: "Cortex-A7", ISA: "ARMv7-A", Cores: 4, NEON: true,
		GOARCH: "arm", GOARM: 7, Threads: 4, InputH: 128, InputW: 128, Kernels: KernelsGeneric,
		Note: "32-bit only: portable Go kernels",
	},
	{
		ID: "pi2-v1.2", Name: "Raspberry Pi 2 Model B v1.2",
		Types: []uint8{Type2B}, Processor: BCM2837,
		SoC: "BCM2837", Core: "Cortex-A53", ISA: "ARMv8-A", Cores: 4, NEON: true,
		GOARCH: "arm64", Threads: 4, InputH: 160, InputW: 160, Kernels: KernelsNEON,
		Note: "on a 32-bit OS use the linux/arm GOARM=7 binary (portable kernels)",
	},
	{
		ID: "pi-zero-2w", Name: "Raspberry Pi Zero 2 W",
		Types: []uint8{TypeZero2W}, Processor: BCM2837,
		SoC: "RP3A0 (BCM2710A1)", Core: "Cortex-A53", ISA: "ARMv8-A", Cores: 4, NEON: true,
		GOARCH: "arm64", Threads: 4, InputH: 160, InputW: 160, Kernels: KernelsNEON,
		Note: "512 MB RAM; on a 32-bit OS use the linux/arm GOARM=7 binary (portable kernels)",
	},
	{
		ID: "pi3", Name: "Raspberry Pi 3 Model B / B+ / A+",
		Types: []uint8{Type3B, Type3BPlus, Type3APlus}, Processor: BCM2837,
		SoC: "BCM2837", Core: "Cortex-A53", ISA: "ARMv8-A", Cores: 4, NEON: true,
		GOARCH: "arm64", Threads: 4, InputH: 160, InputW: 160, Kernels: KernelsNEON,
		Note: "on a 32-bit OS use the linux/arm GOARM=7 binary (portable kernels)",
	},
	{
		ID: "cm3", Name: "Raspberry Pi Compute Module 3 / 3+",
		Types: []uint8{TypeCM3, TypeCM3Plus}, Processor: BCM2837,
		SoC: "BCM2837", Core: "Cortex-A53", ISA: "ARMv8-A", Cores: 4, NEON: true,
		GOARCH: "arm64", Threads: 4, InputH: 160, InputW: 160, Kernels: KernelsNEON,
	},
	{
		ID: "pi4", Name: "Raspberry Pi 4 Model B",
		Types: []uint8{Type4B}, Processor: BCM2711,
		SoC: "BCM2711", Core: "Cortex-A72", ISA: "ARMv8-A", Cores: 4, NEON: true,
		GOARCH: "arm64", Threads: 4, InputH: 224, InputW: 224, Kernels: KernelsNEON,
	},
	{
		ID: "pi400", Name: "Raspberry Pi 400",
		Types: []uint8{Type400}, Processor: BCM2711,
		SoC: "BCM2711", Core: "Cortex-A72", ISA: "ARMv8-A", Cores: 4, NEON: true,
		GOARCH: "arm64", Threads: 4, InputH: 224, InputW: 224, Kernels: KernelsNEON,
	},
	{
		ID: "cm4", Name: "Raspberry Pi Compute Module 4 / 4S",
		Types: []uint8{TypeCM4, TypeCM4S}, Processor: BCM2711,
		SoC: "BCM2711", Core: "Cortex-A72", ISA: "ARMv8-A", Cores: 4, NEON: true,
		GOARCH: "arm64", Threads: 4, InputH: 224, InputW: 224, Kernels: KernelsNEON,
	},
	{
		ID: "pi5", Name: "Raspberry Pi 5",
		Types: []uint8{Type5}, Processor: BCM2712,
		SoC: "BCM2712", Core: "Cortex-A76", ISA: "ARMv8.2-A", Cores: 4, NEON: true, DotProduct: true,
		GOARCH: "arm64", Threads: 4, InputH: 224, InputW: 224, Kernels: KernelsNEONDot,
	},
	{
		ID: "pi500", Name: "Raspberry Pi 500",
		Types: []uint8{Type500}, Processor: BCM2712,
		SoC: "BCM2712", Core: "Cortex-A76", ISA: "ARMv8.2-A", Cores: 4, NEON: true, DotProduct: true,
		GOARCH: "arm64", Threads: 4, InputH: 224, InputW: 224, Kernels: KernelsNEONDot,
	},
	{
		ID: "cm5", Name: "Raspberry Pi Compute Module 5 / 5 Lite",
		Types: []uint8{TypeCM5, TypeCM5Lite}, Processor: BCM2712,
		SoC: "BCM2712", Core: "Cortex-A76", ISA: "ARMv8.2-A", Cores: 4, NEON: true, DotProduct: true,
		GOARCH: "arm64", Threads: 4, InputH: 224, InputW: 224, Kernels: KernelsNEONDot,
	},
	{
		ID: "generic-arm64", Name: "generic arm64 Linux host", Processor: -1,
		ISA: "ARMv8-A", NEON: true, GOARCH: "arm64", InputH: 224, InputW: 224, Kernels: KernelsNEON,
		Note: "cores and dot product from /proc/cpuinfo",
	},
	{
		ID: "generic-arm", Name: "generic 32-bit ARM Linux host", Processor: -1,
		ISA: "ARMv7-A", GOARCH: "arm", GOARM: 7, InputH: 160, InputW: 160, Kernels: KernelsGeneric,
		Note: "ARMv6 CPUs need the GOARM=6 binary",
	},
	{
		ID: "generic-amd64", Name: "generic amd64 Linux host", Processor: -1,
		ISA: "x86-64", GOARCH: "amd64", InputH: 224, InputW: 224, Kernels: KernelsAVX2,
		Note: "kernels from CPU flags: avx512vnni, avx2 or generic",
	},
}

// Profiles returns a copy of the table, Raspberry Pi boards first (oldest
// first), then the generic hosts.
func Profiles() []Profile {
	out := make([]Profile, len(profiles))
	copy(out, profiles)
	return out
}

// ByID returns the profile with the given ID.
func ByID(id string) (Profile, bool) {
	for _, p := range profiles {
		if p.ID == id {
			return p, true
		}
	}
	return Profile{}, false
}

// ForRevision returns the Raspberry Pi profile for a decoded revision code:
// the board type and processor must both match (a Pi 2 exists with two
// SoCs). A board type the table does not know gets the profile of another
// board with the same processor, and ok false.
func ForRevision(r Revision) (p Profile, ok bool) {
	for _, p := range profiles {
		if p.Processor != int(r.Processor) {
			continue
		}
		for _, t := range p.Types {
			if t == r.Type {
				return p, true
			}
		}
	}
	for _, p := range profiles {
		if p.Processor == int(r.Processor) {
			return p, false
		}
	}
	return Profile{}, false
}
