// Command benchvsort measures this project's runtimes and ONNX Runtime 1.30
// side by side, in one run on one machine, and prints the ratios
// (ours ÷ ONNX Runtime, same file, same thread count): the int8 engine
// through `edge bench` against ORT's int8 on the same QDQ files, and the
// float reference runtime (runtime/ref) against ORT's float on the same
// float ONNX files. scripts/bench-vs-ort.sh builds edge and runs it.
//
// The machine may be shared and noisy: each configuration runs in several
// rounds that alternate between the two runtimes, each round a warm-up
// then N timed runs; a side's figure is the median of all its timed runs.
//
// It also reports the int8 engine's MACs per cycle per core on ResNet-18
// 224x224 with 1 thread, with the core clock under load measured by a
// calibrated loop (a chain of dependent 64-bit multiplies, 3 cycles each
// on current x86 cores, timed in thread CPU time).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/internal/ortrun"
	"github.com/piresnet/piresnet/runtime/ref"
)

type row struct {
	kind, model, size string
	threads           int
	ours, ort         []float64
	oursCPU, ortCPU   []float64
	macs              int64
	kernels           string
}

func main() {
	var (
		edge    = flag.String("edge", "", "edge binary")
		qdqDir  = flag.String("qdq", "testdata/qdq/gen/models", "directory of resnet18_u8.onnx and resnet50_u8.onnx")
		fltDir  = flag.String("float", "testdata/torchvision/gen/models", "directory of resnet18/model.onnx and resnet50/model.onnx")
		runs    = flag.Int("runs", 20, "timed runs per round and side")
		warmup  = flag.Int("warmup", 5, "warm-up runs per round and side")
		rounds  = flag.Int("rounds", 3, "rounds per configuration (alternating sides)")
		kernels = flag.String("kernels", "auto", "edge --kernels")
		noFloat = flag.Bool("no-float", false, "skip the float rows")
		models  = flag.String("models", "resnet18,resnet50", "models")
		sizes   = flag.String("sizes", "224x224,240x320", "int8 input sizes")
		threads = flag.String("threads", "1,2", "thread counts")
	)
	flag.Parse()
	if *edge == "" {
		fail("benchvsort: -edge is required")
	}
	var ths []int
	for _, s := range strings.Split(*threads, ",") {
		t, err := strconv.Atoi(s)
		if err != nil || t < 1 {
			fail("benchvsort: bad -threads " + *threads)
		}
		ths = append(ths, t)
	}
	ghz := clockGHz()
	fmt.Fprintf(os.Stderr, "core clock under load: %.2f GHz (dependent imul chain, thread CPU time)\n", ghz)

	var rows []*row
	for _, m := range strings.Split(*models, ",") {
		path := filepath.Join(*qdqDir, m+"_u8.onnx")
		for _, size := range strings.Split(*sizes, ",") {
			h, w := parseSize(size)
			for _, t := range ths {
				r := &row{kind: "int8", model: m, size: size, threads: t}
				x := input(path, h, w)
				for range *rounds {
					res := edgeBench(*edge, path, size, t, *runs, *warmup, *kernels)
					r.ours = append(r.ours, res.Times...)
					r.oursCPU = append(r.oursCPU, res.CPU...)
					r.macs, r.kernels = res.MACs, res.Kernels
					wall, cpu := ortBench(path, x, t, *warmup, *runs)
					r.ort, r.ortCPU = append(r.ort, wall...), append(r.ortCPU, cpu...)
				}
				progress(r)
				rows = append(rows, r)
			}
		}
	}
	if !*noFloat {
		for _, m := range strings.Split(*models, ",") {
			path := filepath.Join(*fltDir, m, "model.onnx")
			for _, t := range ths {
				r := &row{kind: "float", model: m, size: "224x224", threads: t}
				x := input(path, 224, 224)
				p := compileRef(path)
				for range *rounds {
					wall, cpu := refBench(p, x, t, *warmup, *runs)
					r.ours, r.oursCPU = append(r.ours, wall...), append(r.oursCPU, cpu...)
					wall, cpu = ortBench(path, x, t, *warmup, *runs)
					r.ort, r.ortCPU = append(r.ort, wall...), append(r.ortCPU, cpu...)
				}
				progress(r)
				rows = append(rows, r)
			}
		}
	}

	fmt.Printf("ONNX Runtime 1.30 (onnxruntime-node, CPU EP) vs piresnet, %s, %d logical CPUs, %s\n", cpuModel(), goruntime.NumCPU(), time.Now().UTC().Format("2006-01-02"))
	fmt.Printf("median of %d runs per side (%d rounds x %d, alternating, %d warm-up runs each)\n\n", *rounds**runs, *rounds, *runs, *warmup)
	fmt.Printf("wall: latency per run; cpu: process CPU time per run (user + system, all threads), which on a loaded\n")
	fmt.Printf("machine is a 1-thread run's latency without the waits for a CPU (for 2 threads it is the work, not the latency)\n\n")
	fmt.Printf("| path | model | size | threads | ours ms | ORT ms | ratio | ours cpu ms | ORT cpu ms | cpu ratio |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		o, p := median(r.ours), median(r.ort)
		oc, pc := median(r.oursCPU), median(r.ortCPU)
		fmt.Printf("| %s | %s | %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", r.kind, r.model, r.size, r.threads, o, p, o/p, oc, pc, oc/pc)
	}
	for _, r := range rows {
		if r.kind == "int8" && r.model == "resnet18" && r.size == "224x224" && r.threads == 1 {
			o, p := median(r.oursCPU), median(r.ortCPU)
			fmt.Printf("\n(from CPU time per run) int8 ResNet-18 224x224, 1 thread: %.3f GMAC; ours %.1f GMAC/s = %.1f MACs/cycle at %.2f GHz; ORT %.1f GMAC/s = %.1f MACs/cycle\n",
				float64(r.macs)/1e9, float64(r.macs)/o/1e6, float64(r.macs)/o/1e6/ghz, ghz, float64(r.macs)/p/1e6, float64(r.macs)/p/1e6/ghz)
			fmt.Printf("kernels: %s\n", r.kernels)
		}
	}
}

func progress(r *row) {
	o, p := median(r.ours), median(r.ort)
	oc, pc := median(r.oursCPU), median(r.ortCPU)
	fmt.Fprintf(os.Stderr, "%s %s %s t=%d: wall ours %.2f ms, ORT %.2f ms, ratio %.2f; cpu ours %.2f, ORT %.2f, ratio %.2f\n",
		r.kind, r.model, r.size, r.threads, o, p, o/p, oc, pc, oc/pc)
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(1)
}

func parseSize(s string) (int, int) {
	h, w, ok := strings.Cut(s, "x")
	hh, err1 := strconv.Atoi(h)
	ww, err2 := strconv.Atoi(w)
	if !ok || err1 != nil || err2 != nil {
		fail("benchvsort: bad size " + s)
	}
	return hh, ww
}

// input is a random image (normal values) for the model's first input.
func input(path string, h, w int) *onnx.Tensor {
	m, err := onnx.ReadFile(path)
	if err != nil {
		fail(fmt.Sprintf("benchvsort: %s: %v", path, err))
	}
	r := rand.New(rand.NewPCG(uint64(h), uint64(w)))
	v := make([]float32, 3*h*w)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return onnx.NewFloat(m.Graph.Inputs[0].Name, []int64{1, 3, int64(h), int64(w)}, v)
}

type benchResult struct {
	MACs    int64     `json:"macs"`
	Kernels string    `json:"kernels"`
	CPU     []float64 `json:"cpu_ms"`
	Times   []float64
}

// edgeBench runs `edge bench --json` and returns its timed runs
// (times_ms; an edge without that field counts its median once per run).
func edgeBench(edge, model, size string, threads, runs, warmup int, kernels string) benchResult {
	cmd := exec.Command(edge, "bench", "--model", model, "--size", size, "--threads", strconv.Itoa(threads),
		"--runs", strconv.Itoa(runs), "--warmup", strconv.Itoa(warmup), "--kernels", kernels, "--json")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		fail(fmt.Sprintf("benchvsort: edge bench %s: %v: %s", model, err, strings.TrimSpace(errb.String())))
	}
	var res struct {
		benchResult
		TimesMS  []float64 `json:"times_ms"`
		MedianMS float64   `json:"median_ms"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		fail(fmt.Sprintf("benchvsort: edge bench output %q: %v", out.String(), err))
	}
	res.Times = res.TimesMS
	if len(res.Times) == 0 {
		res.Times = slices.Repeat([]float64{res.MedianMS}, runs)
	}
	return res.benchResult
}

func ortBench(path string, x *onnx.Tensor, threads, warmup, runs int) (wall, cpu []float64) {
	wall, cpu, err := ortrun.BenchCPU(path, []*onnx.Tensor{x}, ortrun.Options{Threads: threads}, warmup, runs)
	if err != nil {
		fail(fmt.Sprintf("benchvsort: ONNX Runtime on %s: %v", path, err))
	}
	return wall, cpu
}

func compileRef(path string) *ref.Program {
	m, err := onnx.ReadFile(path)
	if err != nil {
		fail(fmt.Sprintf("benchvsort: %s: %v", path, err))
	}
	p, err := ref.Compile(m)
	if err != nil {
		fail(fmt.Sprintf("benchvsort: %s: %v", path, err))
	}
	return p
}

// refBench times the float reference runtime with GOMAXPROCS = threads
// (its parallelism).
func refBench(p *ref.Program, x *onnx.Tensor, threads, warmup, runs int) (wall, cpu []float64) {
	prev := goruntime.GOMAXPROCS(threads)
	defer goruntime.GOMAXPROCS(prev)
	in := map[string]*onnx.Tensor{p.InputNames()[0]: x}
	for i := 0; i < warmup+runs; i++ {
		c0 := processCPU()
		t0 := time.Now()
		if _, err := p.Run(in); err != nil {
			fail(fmt.Sprintf("benchvsort: runtime/ref: %v", err))
		}
		if i >= warmup {
			wall = append(wall, float64(time.Since(t0).Nanoseconds())/1e6)
			cpu = append(cpu, float64((processCPU()-c0).Nanoseconds())/1e6)
		}
	}
	return wall, cpu
}

// processCPU is the process's CPU time so far (user + system).
func processCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		fail("benchvsort: getrusage: " + err.Error())
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return math.NaN()
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		fail("benchvsort: clock_gettime: " + err.Error())
	}
	return time.Duration(ts.Nano())
}

//go:noinline
func mulChain(n int, x uint64) uint64 {
	for i := 0; i < n; i++ {
		x *= 0x9E3779B97F4A7C15
	}
	return x
}

// clockGHz measures the core clock under load: n dependent 64-bit
// multiplies take 3n cycles (IMUL r64 latency on Zen and Intel cores);
// thread CPU time excludes the time the thread waits for a CPU. The best
// of several tries.
func clockGHz() float64 {
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	const n = 100_000_000
	best := 0.0
	for range 7 {
		t0 := threadCPU()
		sink = mulChain(n, sink|3)
		d := threadCPU() - t0
		best = max(best, 3*n/float64(d.Nanoseconds()))
	}
	return best
}

var sink uint64

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return goruntime.GOARCH
	}
	var name, fam, model string
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case k == "model name" && name == "":
			name = v
		case k == "cpu family" && fam == "":
			fam = v
		case k == "model" && model == "":
			model = v
		}
	}
	return fmt.Sprintf("%s (family %s model %s)", name, fam, model)
}
