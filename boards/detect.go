package boards

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
)

// Result is what Detect found. "Not a Raspberry Pi" is a result (Pi false,
// a generic host profile), not a failure; what could not be read is listed
// in Notes.
type Result struct {
	Pi       bool      `json:"pi"`
	Model    string    `json:"model,omitempty"`    // device-tree model, cpuinfo Model, or the CPU's model name
	Revision *Revision `json:"revision,omitempty"` // nil when no revision code was found
	Profile  Profile   `json:"profile"`
	// Exact is false when the profile was chosen by a fallback (an unknown
	// board type, a model string without revision code, a guessed host).
	Exact   bool     `json:"exact"`
	CPU     CPUInfo  `json:"cpu"`
	Threads int      `json:"threads"` // default worker threads on this machine
	Kernels string   `json:"kernels"` // kernel family of the recommended binary on this CPU
	Notes   []string `json:"notes,omitempty"`
}

// CPUInfo is what /proc/cpuinfo says about the CPU.
type CPUInfo struct {
	Arch        string   `json:"arch,omitempty"`        // "arm64", "arm" or "amd64": what the running kernel reports
	ARMVersion  int      `json:"arm_version,omitempty"` // 6, 7 or 8 (the "CPU architecture" line, or the model name for ARMv6)
	Cores       int      `json:"cores"`                 // "processor" entries (online cores)
	ModelName   string   `json:"model_name,omitempty"`
	Hardware    string   `json:"hardware,omitempty"`
	Implementer uint32   `json:"implementer,omitempty"`
	Part        uint32   `json:"part,omitempty"`
	Core        string   `json:"core,omitempty"`        // "Cortex-A72" from implementer and part
	Revision    string   `json:"revision,omitempty"`    // the "Revision" line of Raspberry Pi kernels
	BoardModel  string   `json:"board_model,omitempty"` // the "Model" line of Raspberry Pi kernels
	Flags       []string `json:"flags,omitempty"`       // "Features" (ARM) or "flags" (x86) of the first core
	Features    Features `json:"features"`
}

// Paths read by Detect, relative to the root of the file system it gets.
const (
	PathModel    = "proc/device-tree/model"
	PathRevision = "proc/device-tree/system/linux,revision"
	PathCPUInfo  = "proc/cpuinfo"
)

// maxFile bounds what Detect reads from any one file.
const maxFile = 1 << 20

// Detect identifies the board from a /proc tree: fsys is the root file
// system (os.DirFS("/") on the board, a captured tree in tests). goarch is
// only a fallback for the host profile when /proc/cpuinfo cannot tell.
//
// The Raspberry Pi revision code comes from the device tree, else from
// the cpuinfo "Revision" line of a Raspberry Pi kernel; a device-tree
// model "Raspberry Pi …" without code is matched by name.
func Detect(fsys fs.FS, goarch string) Result {
	var res Result
	note := func(format string, args ...any) { res.Notes = append(res.Notes, fmt.Sprintf(format, args...)) }

	if b, err := readFile(fsys, PathCPUInfo); err != nil {
		note("%s: %v", PathCPUInfo, shortErr(err))
	} else {
		res.CPU = ParseCPUInfo(b)
	}
	if b, err := readFile(fsys, PathModel); err == nil {
		res.Model = cleanString(b)
	} else if !isNotExist(err) {
		note("%s: %v", PathModel, shortErr(err))
	}

	// The revision code.
	var code uint32
	haveCode := false
	if b, err := readFile(fsys, PathRevision); err == nil {
		if len(b) == 4 {
			code, haveCode = binary.BigEndian.Uint32(b), true
		} else {
			note("%s: %d bytes, want 4", PathRevision, len(b))
		}
	} else if !isNotExist(err) {
		note("%s: %v", PathRevision, shortErr(err))
	}
	piKernel := strings.HasPrefix(res.Model, "Raspberry Pi") ||
		strings.HasPrefix(res.CPU.Hardware, "BCM2") ||
		strings.HasPrefix(res.CPU.BoardModel, "Raspberry Pi")
	if !haveCode && piKernel && res.CPU.Revision != "" {
		if v, err := strconv.ParseUint(res.CPU.Revision, 16, 32); err == nil {
			code, haveCode = uint32(v), true
		} else {
			note("%s: Revision %q is not hexadecimal", PathCPUInfo, res.CPU.Revision)
		}
	}
	if res.Model == "" && piKernel {
		res.Model = res.CPU.BoardModel
	}

	if haveCode {
		if rev, err := ParseRevision(code); err != nil {
			note("%v", err)
		} else {
			res.Revision = &rev
			p, ok := ForRevision(rev)
			if p.ID != "" {
				res.Pi, res.Profile, res.Exact = true, p, ok
				if !ok {
					note("board type %s (%s) is not in the table; using the %s profile", rev.TypeName(), rev.ProcessorName(), p.ID)
				}
			} else {
				note("revision %x: processor %s is not in the table", code, rev.ProcessorName())
			}
		}
	}
	if !res.Pi && strings.HasPrefix(res.Model, "Raspberry Pi") {
		if p, ok := byModelName(res.Model); ok {
			res.Pi, res.Profile = true, p
			note("no revision code; profile chosen from the model name")
		}
	}
	if !res.Pi {
		res.Profile, res.Exact = hostProfile(res.CPU, goarch)
		if res.Model == "" {
			res.Model = res.CPU.ModelName
		}
	}

	// Threads and kernels on this machine.
	p := res.Profile
	res.Threads = p.Threads
	if res.Threads == 0 || res.CPU.Cores > 0 && res.CPU.Cores < res.Threads {
		// Generic hosts use every core; a Pi booted with maxcpus=N
		// has fewer online cores than its profile.
		res.Threads = max(res.CPU.Cores, 1)
	}
	if p.IsPi() {
		res.Kernels = p.Kernels
	} else {
		res.Kernels = KernelFamily(p.GOARCH, res.CPU.Features)
	}
	return res
}

// hostProfile picks the generic profile for the CPU that cpuinfo
// describes, else for goarch.
func hostProfile(c CPUInfo, goarch string) (Profile, bool) {
	arch, exact := c.Arch, true
	if arch == "" {
		arch, exact = goarch, false
	}
	id := "generic-" + arch
	if arch == "arm" && c.ARMVersion == 6 {
		p, _ := ByID("generic-arm")
		p.GOARM, p.ISA, p.InputH, p.InputW = 6, "ARMv6", 112, 112
		return p, exact
	}
	if p, ok := ByID(id); ok {
		return p, exact
	}
	return Profile{ID: "generic-" + arch, Name: "unknown " + arch + " host", Processor: -1, GOARCH: arch, Kernels: KernelsGeneric, InputH: 224, InputW: 224}, false
}

// modelNames maps device-tree model prefixes to profiles, longest first.
var modelNames = []struct{ prefix, id string }{
	{"Raspberry Pi Zero 2", "pi-zero-2w"},
	{"Raspberry Pi Zero", "pi-zero"},
	{"Raspberry Pi Compute Module 5", "cm5"},
	{"Raspberry Pi Compute Module 4", "cm4"},
	{"Raspberry Pi Compute Module 3", "cm3"},
	{"Raspberry Pi Compute Module", "pi1"},
	{"Raspberry Pi 500", "pi500"},
	{"Raspberry Pi 400", "pi400"},
	{"Raspberry Pi 5", "pi5"},
	{"Raspberry Pi 4", "pi4"},
	{"Raspberry Pi 3", "pi3"},
	{"Raspberry Pi 2", "pi2"},
	{"Raspberry Pi Model", "pi1"},
}

func byModelName(model string) (Profile, bool) {
	for _, m := range modelNames {
		if strings.HasPrefix(model, m.prefix) {
			return ByID(m.id)
		}
	}
	return Profile{}, false
}

// armParts names ARM Ltd (implementer 0x41) cores by MIDR part number.
var armParts = map[uint32]string{
	0xb76: "ARM1176JZF-S", 0xc07: "Cortex-A7", 0xc08: "Cortex-A8", 0xc09: "Cortex-A9",
	0xc0f: "Cortex-A15", 0xd03: "Cortex-A53", 0xd04: "Cortex-A35", 0xd05: "Cortex-A55",
	0xd07: "Cortex-A57", 0xd08: "Cortex-A72", 0xd09: "Cortex-A73", 0xd0a: "Cortex-A75",
	0xd0b: "Cortex-A76", 0xd0c: "Neoverse-N1", 0xd0d: "Cortex-A77", 0xd40: "Neoverse-V1",
	0xd41: "Cortex-A78", 0xd44: "Cortex-X1", 0xd46: "Cortex-A510", 0xd47: "Cortex-A710",
	0xd48: "Cortex-X2", 0xd49: "Neoverse-N2", 0xd4f: "Neoverse-V2",
}

// ParseCPUInfo reads the text of /proc/cpuinfo (the ARM and x86 formats).
// Per-core fields come from the first core; Cores counts the "processor"
// entries.
func ParseCPUInfo(b []byte) CPUInfo {
	var c CPUInfo
	var archLine, features, flags string
	first := true
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), maxFile)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "processor" {
			// "processor : 0" starts a core; old ARM kernels also had
			// "Processor : ARMv6-compatible …" as a model line.
			if _, err := strconv.Atoi(v); err == nil {
				c.Cores++
				if c.Cores > 1 {
					first = false
				}
				continue
			}
			k = "model name"
		}
		if k == "Processor" {
			k = "model name"
		}
		set := func(dst *string) {
			if first || *dst == "" {
				*dst = v
			}
		}
		switch k {
		case "model name":
			set(&c.ModelName)
		case "Hardware":
			c.Hardware = v
		case "Revision":
			c.Revision = v
		case "Model":
			c.BoardModel = v
		case "CPU architecture":
			set(&archLine)
		case "CPU implementer":
			if c.Implementer == 0 {
				c.Implementer = parseHex(v)
			}
		case "CPU part":
			if c.Part == 0 {
				c.Part = parseHex(v)
			}
		case "Features":
			set(&features)
		case "flags":
			set(&flags)
		}
	}
	has := func(list []string, want ...string) bool {
		for _, w := range want {
			found := false
			for _, f := range list {
				if f == w {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	}
	switch {
	case flags != "":
		c.Arch = "amd64"
		c.Flags = strings.Fields(flags)
		if !has(c.Flags, "lm") {
			c.Arch = "386"
		}
		c.Features.AVX2 = has(c.Flags, "avx2")
		c.Features.AVX512VNNI = has(c.Flags, "avx512f", "avx512bw", "avx512vl", "avx512_vnni")
	case features != "" || archLine != "":
		c.Flags = strings.Fields(features)
		c.ARMVersion, _ = strconv.Atoi(strings.Fields(archLine + " 0")[0])
		if has(c.Flags, "asimd") {
			c.Arch = "arm64"
			c.Features.NEON = true
			c.Features.DotProduct = has(c.Flags, "asimddp")
		} else {
			c.Arch = "arm"
			c.Features.NEON = has(c.Flags, "neon")
		}
		if c.Implementer == 0x41 {
			c.Core = armParts[c.Part]
		}
		// ARM1176 kernels report "CPU architecture: 7" (the CPUID scheme).
		if c.Part == 0xb76 || strings.Contains(c.ModelName, "ARMv6") {
			c.ARMVersion = 6
		}
	}
	return c
}

func parseHex(s string) uint32 {
	v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(s), "0x"), 16, 32)
	if err != nil {
		return 0
	}
	return uint32(v)
}

func readFile(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxFile))
}

// cleanString trims device-tree strings: NUL terminated, sometimes with
// trailing whitespace.
func cleanString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimSpace(string(b))
}

func isNotExist(err error) bool { return err != nil && errors.Is(err, fs.ErrNotExist) }

// shortErr drops the path that fs errors repeat.
func shortErr(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}
