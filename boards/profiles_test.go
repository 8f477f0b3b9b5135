package boards

import "testing"

// The table's kernel family must be what KernelFamily picks for the
// profile's own binary and CPU, so that the two never drift apart.
func TestProfilesConsistent(t *testing.T) {
	seen := map[string]bool{}
	types := map[[2]int]string{}
	for _, p := range Profiles() {
		if seen[p.ID] {
			t.Errorf("duplicate profile %q", p.ID)
		}
		seen[p.ID] = true
		if p.GOARCH == "arm" && p.GOARM != 6 && p.GOARM != 7 {
			t.Errorf("%s: GOARCH=arm needs GOARM 6 or 7, has %d", p.ID, p.GOARM)
		}
		if p.GOARCH != "arm" && p.GOARM != 0 {
			t.Errorf("%s: GOARM set for %s", p.ID, p.GOARCH)
		}
		if p.DotProduct && !p.NEON {
			t.Errorf("%s: dot product without NEON", p.ID)
		}
		if p.InputH <= 0 || p.InputW <= 0 {
			t.Errorf("%s: no suggested input size", p.ID)
		}
		if p.IsPi() {
			if p.Cores <= 0 || p.Threads <= 0 || p.Threads > p.Cores {
				t.Errorf("%s: cores %d threads %d", p.ID, p.Cores, p.Threads)
			}
			if want := KernelFamily(p.GOARCH, Features{NEON: p.NEON, DotProduct: p.DotProduct}); p.Kernels != want {
				t.Errorf("%s: table says kernels %q, KernelFamily says %q", p.ID, p.Kernels, want)
			}
			for _, ty := range p.Types {
				k := [2]int{int(ty), p.Processor}
				if other, dup := types[k]; dup {
					t.Errorf("board type %#x processor %d in both %s and %s", ty, p.Processor, other, p.ID)
				}
				types[k] = p.ID
			}
		}
	}
	// Published facts the table must carry (FACTS: Pi 3, 4 and Zero 2 W
	// have no dot product; Pi 5 has SDOT; ARMv6 has no NEON).
	for id, want := range map[string]struct {
		core string
		dot  bool
		neon bool
		arch string
	}{
		"pi-zero":    {"ARM1176JZF-S", false, false, "linux/arm GOARM=6"},
		"pi-zero-2w": {"Cortex-A53", false, true, "linux/arm64"},
		"pi3":        {"Cortex-A53", false, true, "linux/arm64"},
		"pi4":        {"Cortex-A72", false, true, "linux/arm64"},
		"pi400":      {"Cortex-A72", false, true, "linux/arm64"},
		"cm4":        {"Cortex-A72", false, true, "linux/arm64"},
		"pi5":        {"Cortex-A76", true, true, "linux/arm64"},
	} {
		p, ok := ByID(id)
		if !ok {
			t.Errorf("no profile %q", id)
			continue
		}
		if p.Core != want.core || p.DotProduct != want.dot || p.NEON != want.neon || p.Target() != want.arch {
			t.Errorf("%s: %s dot=%v neon=%v %s; want %s dot=%v neon=%v %s", id, p.Core, p.DotProduct, p.NEON, p.Target(),
				want.core, want.dot, want.neon, want.arch)
		}
	}
}

func TestKernelFamily(t *testing.T) {
	cases := []struct {
		goarch string
		f      Features
		want   string
	}{
		{"arm", Features{NEON: true}, "generic"},
		{"arm64", Features{}, "generic"},
		{"arm64", Features{NEON: true}, "neon"},
		{"arm64", Features{NEON: true, DotProduct: true}, "neondot"},
		{"amd64", Features{}, "generic"},
		{"amd64", Features{AVX2: true}, "avx2"},
		{"amd64", Features{AVX2: true, AVX512VNNI: true}, "avx512vnni"},
		{"riscv64", Features{}, "generic"},
	}
	for _, c := range cases {
		if got := KernelFamily(c.goarch, c.f); got != c.want {
			t.Errorf("KernelFamily(%s, %+v) = %q, want %q", c.goarch, c.f, got, c.want)
		}
	}
}
