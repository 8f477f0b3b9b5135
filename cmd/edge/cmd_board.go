package main

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"
	"golang.org/x/sys/cpu"
	"periph.io/x/host/v3/rpi"

	"github.com/piresnet/piresnet/boards"
	"github.com/piresnet/piresnet/internal/cli"
	"github.com/piresnet/piresnet/runtime"
)

func init() {
	var (
		jsonOut bool
		root    string
		list    bool
	)
	app.Register(&cli.Command{
		Name:    "board",
		Summary: "show the detected board, its profile and the kernels edge will use",
		Usage:   "[flags]",
		Flags: func(fs *pflag.FlagSet) {
			fs.BoolVar(&jsonOut, "json", false, "print one JSON object")
			fs.StringVar(&root, "root", "/", "read /proc from this directory (a captured tree)")
			fs.BoolVar(&list, "list", false, "print the table of known boards instead")
		},
		Run: func(fs *pflag.FlagSet, args []string, stdout, stderr io.Writer) error {
			if len(args) > 0 {
				return cli.Usage("unexpected argument %q", args[0])
			}
			if list {
				return printProfiles(stdout, jsonOut)
			}
			st, err := os.Stat(root)
			if err != nil || !st.IsDir() {
				return cli.Usage("--root %s: not a directory", root)
			}
			rep := boardReport(os.DirFS(root), root == "/")
			if jsonOut {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			printBoard(stdout, rep)
			return nil
		},
	})
}

// binaryInfo is what the running binary is and what its CPU offers.
type binaryInfo struct {
	Target   string          `json:"target"` // "linux/arm64", "linux/arm GOARM=6"
	Features boards.Features `json:"features"`
	Flags    []string        `json:"cpu_flags"` // the features that matter, as x/sys/cpu names them
	// Planned is the kernel family this CPU calls for (boards.KernelFamily);
	// Kernels the family the runtime in this build runs: the planned one
	// if the runtime has it, else generic.
	Planned        string   `json:"planned_kernels"`
	Kernels        string   `json:"kernels"`
	RuntimeKernels []string `json:"runtime_kernels"` // runtime.KernelNames()
	Threads        int      `json:"threads"`
}

type boardReportT struct {
	boards.Result
	Binary     binaryInfo `json:"binary"`
	RPiPresent *bool      `json:"rpi_present,omitempty"` // periph's rpi.Present, on the live system only
	Advice     []string   `json:"advice,omitempty"`
}

// thisBinary reads the CPU features once (golang.org/x/sys/cpu) for the
// binary's own architecture.
func thisBinary() binaryInfo {
	b := binaryInfo{Target: goruntime.GOOS + "/" + goruntime.GOARCH}
	var f boards.Features
	var flags []string
	add := func(name string, ok bool) {
		if ok {
			flags = append(flags, name)
		}
	}
	switch goruntime.GOARCH {
	case "arm64":
		f.NEON, f.DotProduct = cpu.ARM64.HasASIMD, cpu.ARM64.HasASIMDDP
		add("asimd", cpu.ARM64.HasASIMD)
		add("asimddp", cpu.ARM64.HasASIMDDP)
		add("i8mm", cpu.ARM64.HasI8MM)
	case "arm":
		b.Target += " GOARM=" + goarm()
		f.NEON = cpu.ARM.HasNEON
		add("neon", cpu.ARM.HasNEON)
		add("vfpv4", cpu.ARM.HasVFPv4)
	case "amd64":
		f.AVX2 = cpu.X86.HasAVX2
		f.AVX512VNNI = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI
		add("avx2", cpu.X86.HasAVX2)
		add("avx512f", cpu.X86.HasAVX512F)
		add("avx512bw", cpu.X86.HasAVX512BW)
		add("avx512vl", cpu.X86.HasAVX512VL)
		add("avx512vnni", cpu.X86.HasAVX512VNNI)
		add("avxvnni", cpu.X86.HasAVXVNNI)
	}
	b.Features, b.Flags = f, flags
	b.Planned = boards.KernelFamily(goruntime.GOARCH, f)
	b.RuntimeKernels = runtime.KernelNames()
	b.Kernels = boards.KernelsGeneric
	if runtimeHas(b.RuntimeKernels, b.Planned) {
		b.Kernels = b.Planned
	}
	return b
}

// runtimeHas reports whether the runtime's kernel list (entries "name
// (isa, …)", "[not on this CPU]" marking those this CPU cannot run) has a
// kernel of the family that runs here.
func runtimeHas(names []string, family string) bool {
	for _, k := range names {
		if strings.Contains(k, " ("+family+",") && !strings.Contains(k, "[not on this CPU]") {
			return true
		}
	}
	return false
}

// goarm reports the GOARM level the binary was built for ("6", "7"),
// from its build settings.
func goarm() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "GOARM" {
				v, _, _ := strings.Cut(s.Value, ",")
				return v
			}
		}
	}
	return "?"
}

func boardReport(root fs.FS, live bool) boardReportT {
	res := boards.Detect(root, goruntime.GOARCH)
	rep := boardReportT{Result: res, Binary: thisBinary()}
	rep.Binary.Threads = res.Threads
	if live {
		p := rpi.Present()
		rep.RPiPresent = &p
		if !p && res.Pi {
			rep.Notes = append(rep.Notes, "periph's rpi.Present() is false (no raspberrypi-firmware driver): GPIO may be unavailable")
		}
	}
	prof := res.Profile
	if prof.GOARCH != "" && !sameTarget(prof, rep.Binary.Target) && live {
		rep.Advice = append(rep.Advice, fmt.Sprintf("this board runs best with the %s binary (%s kernels); this one is %s",
			prof.Target(), res.Kernels, rep.Binary.Target))
	}
	if live && res.CPU.Arch == "arm" && prof.GOARCH == "arm64" {
		rep.Advice = append(rep.Advice, "the kernel is 32-bit: a 64-bit Raspberry Pi OS is needed for the arm64 binary and its NEON kernels")
	}
	return rep
}

func sameTarget(p boards.Profile, target string) bool { return p.Target() == target }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func printBoard(w io.Writer, r boardReportT) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := r.Profile
	model := r.Model
	if model == "" {
		model = "unknown"
	}
	kind := "not a Raspberry Pi"
	if r.Pi {
		kind = "Raspberry Pi"
	}
	fmt.Fprintf(tw, "board:\t%s (%s)\n", model, kind)
	if r.Revision != nil {
		fmt.Fprintf(tw, "revision:\t%s\n", r.Revision)
	}
	exact := ""
	if !r.Exact {
		exact = " (closest match)"
	}
	fmt.Fprintf(tw, "profile:\t%s: %s%s\n", p.ID, p.Name, exact)
	core := p.Core
	if core == "" {
		core = r.CPU.Core
	}
	if core == "" {
		core = r.CPU.ModelName
	}
	cores := p.Cores
	if cores == 0 {
		cores = r.CPU.Cores
	}
	if p.IsPi() {
		fmt.Fprintf(tw, "cpu:\t%d x %s (%s, %s), NEON %s, dot product %s\n", cores, core, p.ISA, p.SoC, yesNo(p.NEON), yesNo(p.DotProduct))
	} else {
		fmt.Fprintf(tw, "cpu:\t%d x %s (%s)\n", cores, core, r.CPU.Arch)
	}
	fmt.Fprintf(tw, "recommended binary:\t%s, %s kernels\n", p.Target(), r.Kernels)
	now := r.Binary.Kernels + " kernels"
	if r.Binary.Planned != r.Binary.Kernels {
		now += fmt.Sprintf(" (%s once the runtime has them)", r.Binary.Planned)
	}
	fmt.Fprintf(tw, "this binary:\t%s, %s (cpu: %s)\n", r.Binary.Target, now, orNone(r.Binary.Flags))
	fmt.Fprintf(tw, "runtime kernels:\t%s\n", strings.Join(r.Binary.RuntimeKernels, "; "))
	fmt.Fprintf(tw, "threads:\t%d\n", r.Threads)
	fmt.Fprintf(tw, "suggested input:\t%dx%d\n", p.InputH, p.InputW)
	if r.RPiPresent != nil {
		fmt.Fprintf(tw, "periph rpi.Present:\t%v\n", *r.RPiPresent)
	}
	if p.Note != "" {
		fmt.Fprintf(tw, "note:\t%s\n", p.Note)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(tw, "note:\t%s\n", n)
	}
	for _, a := range r.Advice {
		fmt.Fprintf(tw, "advice:\t%s\n", a)
	}
	tw.Flush()
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "no SIMD features used"
	}
	return strings.Join(s, " ")
}

func printProfiles(w io.Writer, jsonOut bool) error {
	ps := boards.Profiles()
	if jsonOut {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(ps)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tBOARD\tCPU\tDOT\tBINARY\tTHREADS\tINPUT\tKERNELS")
	for _, p := range ps {
		cpu := p.Core
		if p.Cores > 0 {
			cpu = fmt.Sprintf("%dx %s", p.Cores, p.Core)
		}
		if cpu == "" {
			cpu = "(detected)"
		}
		threads := "cores"
		if p.Threads > 0 {
			threads = fmt.Sprint(p.Threads)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%dx%d\t%s\n", p.ID, p.Name, cpu, yesNo(p.DotProduct), p.Target(), threads, p.InputH, p.InputW, p.Kernels)
	}
	return tw.Flush()
}
