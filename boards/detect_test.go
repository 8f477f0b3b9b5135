package boards

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// The trees under testdata are written by testdata/make_trees.sh, which
// states where each one comes from.
func TestDetectTrees(t *testing.T) {
	cases := []struct {
		tree     string
		pi       bool
		model    string
		code     uint32 // 0: none expected
		profile  string
		exact    bool
		arch     string // what the running kernel reports
		core     string
		cores    int
		threads  int
		kernels  string
		memoryMB int
	}{
		{"pi-zero-w", true, "Raspberry Pi Zero W Rev 1.1", 0x9000c1, "pi-zero", true, "arm", "ARM1176JZF-S", 1, 1, "generic", 512},
		{"pi3bplus", true, "Raspberry Pi 3 Model B Plus Rev 1.3", 0xa020d3, "pi3", true, "arm", "Cortex-A53", 4, 4, "neon", 1024},
		{"pi4b", true, "Raspberry Pi 4 Model B Rev 1.4", 0xc03114, "pi4", true, "arm64", "Cortex-A72", 4, 4, "neon", 4096},
		{"pi5", true, "Raspberry Pi 5 Model B Rev 1.0", 0xd04170, "pi5", true, "arm64", "Cortex-A76", 4, 4, "neondot", 8192},
		{"pi-zero-2w", true, "Raspberry Pi Zero 2 W Rev 1.0", 0x902120, "pi-zero-2w", true, "arm64", "Cortex-A53", 4, 4, "neon", 512},
		{"graviton2", false, "", 0, "generic-arm64", true, "arm64", "Neoverse-N1", 2, 2, "neondot", 0},
		{"x86-host", false, "AMD EPYC", 0, "generic-amd64", true, "amd64", "", 2, 2, "avx2", 0},
	}
	for _, c := range cases {
		t.Run(c.tree, func(t *testing.T) {
			r := Detect(os.DirFS(filepath.Join("testdata", c.tree)), "riscv64")
			if r.Pi != c.pi || r.Model != c.model || r.Profile.ID != c.profile || r.Exact != c.exact {
				t.Errorf("got pi=%v model=%q profile=%q exact=%v; want %v %q %q %v (notes %q)",
					r.Pi, r.Model, r.Profile.ID, r.Exact, c.pi, c.model, c.profile, c.exact, r.Notes)
			}
			if c.code == 0 && r.Revision != nil {
				t.Errorf("revision %v on a non-Pi", r.Revision)
			}
			if c.code != 0 {
				if r.Revision == nil {
					t.Fatalf("no revision (notes %q)", r.Notes)
				}
				if r.Revision.Code != c.code || r.Revision.MemoryMB != c.memoryMB {
					t.Errorf("revision %v, want code %x with %d MB", r.Revision, c.code, c.memoryMB)
				}
			}
			if r.CPU.Arch != c.arch || r.CPU.Core != c.core || r.CPU.Cores != c.cores {
				t.Errorf("cpu arch=%q core=%q cores=%d; want %q %q %d", r.CPU.Arch, r.CPU.Core, r.CPU.Cores, c.arch, c.core, c.cores)
			}
			if r.Threads != c.threads || r.Kernels != c.kernels {
				t.Errorf("threads=%d kernels=%q; want %d %q", r.Threads, r.Kernels, c.threads, c.kernels)
			}
			if c.pi && c.tree != "pi3bplus" && len(r.Notes) != 0 {
				t.Errorf("unexpected notes: %q", r.Notes)
			}
		})
	}
}

func TestDetectCPUFeatures(t *testing.T) {
	pi5 := Detect(os.DirFS("testdata/pi5"), "arm64")
	if f := pi5.CPU.Features; !f.NEON || !f.DotProduct {
		t.Errorf("pi5 features %+v", f)
	}
	p3 := Detect(os.DirFS("testdata/pi3bplus"), "arm")
	if f := p3.CPU.Features; !f.NEON || f.DotProduct || p3.CPU.ARMVersion != 7 {
		t.Errorf("pi3bplus (32-bit kernel) features %+v ARMv%d", f, p3.CPU.ARMVersion)
	}
	z := Detect(os.DirFS("testdata/pi-zero-w"), "arm")
	if f := z.CPU.Features; f.NEON || z.CPU.ARMVersion != 6 {
		t.Errorf("pi-zero-w features %+v ARMv%d", f, z.CPU.ARMVersion)
	}
	x := Detect(os.DirFS("testdata/x86-host"), "amd64")
	if f := x.CPU.Features; !f.AVX2 || f.AVX512VNNI {
		t.Errorf("x86-host (flags have avx2, no avx512) features %+v", f)
	}
}

// A 3B+ on an old kernel has no linux,revision: the code comes from the
// cpuinfo Revision line.
func TestDetectCPUInfoRevisionFallback(t *testing.T) {
	r := Detect(os.DirFS("testdata/pi3bplus"), "arm")
	if r.Revision == nil || r.Revision.Code != 0xa020d3 {
		t.Fatalf("revision %v", r.Revision)
	}
}

func TestDetectDegraded(t *testing.T) {
	// Nothing at all: a result, not a failure, with the reason in Notes.
	r := Detect(fstest.MapFS{}, "amd64")
	if r.Pi || r.Profile.ID != "generic-amd64" || r.Exact || r.Threads != 1 || len(r.Notes) == 0 {
		t.Errorf("empty tree: %+v", r)
	}
	// A model string but no code: matched by name.
	r = Detect(fstest.MapFS{"proc/device-tree/model": {Data: []byte("Raspberry Pi 5 Model B Rev 1.0\x00")}}, "arm64")
	if !r.Pi || r.Profile.ID != "pi5" || r.Exact || r.Kernels != "neondot" {
		t.Errorf("model only: %+v", r)
	}
	// A non-Pi ARM board whose kernel prints a Revision line: not a Pi.
	r = Detect(fstest.MapFS{"proc/cpuinfo": {Data: []byte("processor\t: 0\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU part\t: 0xd08\n\nHardware\t: Rockchip RK3399\nRevision\t: 0000\n")}}, "arm64")
	if r.Pi || r.Profile.ID != "generic-arm64" || r.Kernels != "neon" {
		t.Errorf("rk3399: %+v", r)
	}
	// A truncated revision cell.
	r = Detect(fstest.MapFS{
		"proc/device-tree/model":                 {Data: []byte("Raspberry Pi 4 Model B Rev 1.1\x00")},
		"proc/device-tree/system/linux,revision": {Data: []byte{0xc0, 0x31}},
	}, "arm64")
	if !r.Pi || r.Profile.ID != "pi4" || !strings.Contains(strings.Join(r.Notes, ";"), "2 bytes") {
		t.Errorf("short revision: %+v", r)
	}
	// An ARMv6 host that is not a Pi: the GOARM=6 binary.
	r = Detect(fstest.MapFS{"proc/cpuinfo": {Data: []byte("processor\t: 0\nmodel name\t: ARMv6-compatible processor rev 7 (v6l)\nFeatures\t: half thumb fastmult vfp edsp java tls\nCPU implementer\t: 0x41\nCPU architecture: 7\nCPU part\t: 0xb76\n")}}, "arm")
	if r.Pi || r.Profile.GOARM != 6 || r.Profile.Target() != "linux/arm GOARM=6" {
		t.Errorf("armv6 host: %+v", r.Profile)
	}
}

// A Pi booted with maxcpus=1 runs one thread.
func TestDetectOnlineCores(t *testing.T) {
	r := Detect(fstest.MapFS{
		"proc/device-tree/system/linux,revision": {Data: []byte{0x00, 0xc0, 0x31, 0x14}},
		"proc/cpuinfo":                           {Data: []byte("processor\t: 0\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU part\t: 0xd08\n")},
	}, "arm64")
	if r.Profile.ID != "pi4" || r.Threads != 1 {
		t.Errorf("maxcpus=1: profile %s threads %d", r.Profile.ID, r.Threads)
	}
}

func FuzzDetect(f *testing.F) {
	for _, tree := range []string{"pi-zero-w", "pi3bplus", "pi4b", "pi5", "x86-host"} {
		b, err := os.ReadFile(filepath.Join("testdata", tree, "proc/cpuinfo"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, []byte("Raspberry Pi\x00"), []byte{0, 0xc0, 0x31, 0x14})
	}
	f.Fuzz(func(t *testing.T, cpuinfo, model, rev []byte) {
		r := Detect(fstest.MapFS{
			"proc/cpuinfo":                           {Data: cpuinfo},
			"proc/device-tree/model":                 {Data: model},
			"proc/device-tree/system/linux,revision": {Data: rev},
		}, "arm64")
		if r.Profile.ID == "" || r.Threads < 1 || r.Kernels == "" {
			t.Fatalf("incomplete result %+v", r)
		}
	})
}
